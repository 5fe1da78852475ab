"""Training: corrected receipts in, a scored model version out (QLoRA adapters for InternVL)."""
