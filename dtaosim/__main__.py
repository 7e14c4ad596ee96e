"""``python -m dtaosim``."""

import sys

from dtaosim.cli import main

sys.exit(main())
