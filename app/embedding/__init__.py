"""Embedding: sentence encoders (ONNX, torch) and the micro-batcher that feeds them."""
