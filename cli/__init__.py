"""The `receiptflow` command: runs, feeds and measures the product."""
