"""``python -m glassnet ...``: the same as the ``glassnet`` command."""

import sys

from .cli import main

sys.exit(main())
