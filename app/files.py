"""Files the service keeps for its next start (model tables, vectors): written whole or not at
all, readable by a server running as another user than the writer."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Create ``path`` from what ``write`` writes to a file beside it, replacing it in one
    step; a failure leaves no partial file (and any earlier ``path`` as it was)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def keyed_path(folder: Path, kind: str, suffix: str, package: str, *choices: object) -> Path:
    """Where a file of ``kind`` made from ``package``'s data is kept: named after the
    package's installed version and the ``choices`` that shape it, so that a change of either
    is not read."""
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        version = "unknown"
    key = "|".join(map(str, (version, *choices)))
    return folder / f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:16]}{suffix}"
