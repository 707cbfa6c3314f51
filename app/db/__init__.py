"""The database: where it lives, the pool, the schema check and the property registry."""
