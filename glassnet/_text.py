"""An error's message as one line: how the ``glassnet`` command and the playground report it."""

from __future__ import annotations


def one_line(err) -> str:
    """``err``'s message with its white space folded into single spaces (a ``KeyError``'s quotes
    dropped); the exception's class name when it has no message."""
    text = str(err)
    if isinstance(err, KeyError) and text.startswith(("'", '"')):
        text = text[1:-1]
    return " ".join(text.split()) or type(err).__name__
