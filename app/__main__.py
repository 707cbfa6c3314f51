"""``python -m app``: operator commands (migrate, serve)."""

import sys

from app.cli import main

# Guarded: uvicorn's worker processes re-import the main module when they start.
if __name__ == "__main__":
    sys.exit(main())
