"""Retrieval-quality evaluation: metrics, data loading and the ``scripts/eval`` harness."""
