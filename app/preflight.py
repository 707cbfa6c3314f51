"""Checks made before the model loads, so a mistake costs a second and says what to change."""

from __future__ import annotations

import errno
import socket

from app.settings_env import SettingsError


def check_port(host: str, port: int) -> None:
    """Raise :class:`SettingsError` naming ``RAG_PORT``/``RAG_HOST`` when the address is taken.

    The socket is closed at once; uvicorn binds the address again a moment later (a race with
    another program is possible but then uvicorn's own error still stops the start).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SettingsError(
                    f"port {port} on {host} is already in use (is another server running?); "
                    f"set RAG_PORT to a free port, e.g. RAG_PORT={port + 1} make run"
                ) from None
            if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES):
                raise SettingsError(
                    f"cannot listen on {host}:{port} ({exc.strerror}); check RAG_HOST and RAG_PORT"
                ) from None
            raise
