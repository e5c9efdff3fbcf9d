"""``python -m jobs.cli ...``: the ``lam-rl`` command without its console script."""

import sys

from jobs.cli import main

sys.exit(main())
