"""Answering: the writers that turn a question and its sources into a cited answer."""
