"""``python -m edgeopt``: the ``edgeopt`` command."""

import sys

from edgeopt.cli import main

sys.exit(main())
