"""``python -m app.evaluation``: see :mod:`app.evaluation.cli`."""

import sys

from app.evaluation.cli import main

sys.exit(main())
