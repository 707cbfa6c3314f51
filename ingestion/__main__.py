"""``python -m ingestion``: the staff command line."""

import sys

from ingestion.cli import main

# Guarded: uvicorn's worker processes re-import the main module when they start.
if __name__ == "__main__":
    sys.exit(main())
