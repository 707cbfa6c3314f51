"""Search: a question to the property-scoped hits of its live index version."""
