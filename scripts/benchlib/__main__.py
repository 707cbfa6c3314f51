"""``python -m benchlib`` (run through ``scripts/bench``)."""

import sys

from benchlib.cli import main

sys.exit(main())
