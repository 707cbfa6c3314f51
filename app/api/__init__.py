"""HTTP layer: thin routes, one error shape, pure ASGI middleware."""
