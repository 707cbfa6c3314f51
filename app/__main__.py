"""``python -m app``: operator commands (migrate, serve)."""

import sys

from app.cli import main

sys.exit(main())
