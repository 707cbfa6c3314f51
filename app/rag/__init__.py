"""The service that answers a guest question, its answer cache and its sessions."""
