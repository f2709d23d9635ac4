"""``gn.nn.functional`` is ``glassnet.functional`` under PyTorch's spelling."""

import sys

from .. import functional

sys.modules[__name__] = functional
