"""InternVL engine: the receipt image goes straight into a multimodal LLM that answers in JSON."""
