"""``python -m glassnet.explain [explain|exercise] KIND ...``: the ``glassnet`` command's
``explain`` and ``exercise`` (``explain`` may be left out)."""

import sys

from ..cli import main as glassnet_main  # the same parser, one-line errors and exit codes
from .cli import EXPLAIN_KINDS


def main(argv=None) -> int:
    """``python -m glassnet.explain [explain|exercise] KIND ...`` (``explain`` may be left out)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in EXPLAIN_KINDS:
        argv.insert(0, "explain")
    return glassnet_main(argv)


if __name__ == "__main__":
    sys.exit(main())
