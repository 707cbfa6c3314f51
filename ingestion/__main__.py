"""``python -m ingestion``: the staff command line."""

import sys

from ingestion.cli import main

sys.exit(main())
