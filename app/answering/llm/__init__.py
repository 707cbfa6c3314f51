"""Generative answer writers: the backends that talk to a language model, and their guards."""
