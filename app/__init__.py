"""Hotel concierge backend: the guest hot path (embed, search, answer, cache) and its HTTP API."""
