"""``python -m glassnet.explain explain|exercise ...``."""

import sys

from .cli import main

sys.exit(main())
