"""The ``glassnet explain`` and ``glassnet exercise`` commands.

``register(subparsers)`` adds both to an argparse parser (``glassnet/cli.py``
calls it); ``python -m glassnet.explain ...`` runs them on their own.
"""

from __future__ import annotations

import argparse
import sys

EXPLAIN_KINDS = ("neuron", "forward", "backprop", "conv", "pool", "shapes", "rnn")
EXERCISE_KINDS = ("neuron", "backprop", "conv", "pool", "shapes", "rnn")


def register(subparsers) -> None:
    """Add the ``explain`` and ``exercise`` subcommands to ``subparsers``."""
    p = subparsers.add_parser(
        "explain", help="worked, step-by-step solutions of the chapter's exercises",
        description="Run a small computation on the real engine and print every step.")
    p.add_argument("kind", choices=EXPLAIN_KINDS)
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_explain_main)
    q = subparsers.add_parser(
        "exercise", help="generate a fresh numerical exercise (and its solution)",
        description="Print a random exercise; the same --seed gives the same exercise.")
    q.add_argument("kind", choices=EXERCISE_KINDS)
    q.add_argument("args", nargs=argparse.REMAINDER)
    q.set_defaults(func=_exercise_main)


def _explain_main(args) -> int:
    print(f"glassnet explain {args.kind}: not available yet", file=sys.stderr)
    return 2


def _exercise_main(args) -> int:
    print(f"glassnet exercise {args.kind}: not available yet", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="glassnet")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return args.func(args)
