"""Character-level text: a built-in corpus and a character vocabulary.

    text = gn.data.load_text()                 # ~25 KB of short fables
    vocab = gn.data.CharVocab(text)            # one id per distinct character
    ids = vocab.encode(text)                   # int64 array
    X, Y = gn.data.char_windows(ids, 64)       # inputs and next-character targets
"""

from __future__ import annotations

import numpy as np

from .builtin import _package_file

TEXTS = {
    "fables": ("fables.txt", ("Old fables retold in plain modern English (original wording, "
                             "written for glassnet; public domain plots)")),
}


def load_text(name: str = "fables") -> str:
    """A built-in text for character-level language models (no download).

    Args:
        name: which text; ``'fables'`` — about 25 KB of short animal fables
            (the traditional plots, told in new words written for glassnet;
            free to use under glassnet's licence).

    Returns:
        the text as one string (newlines ``\\n``).

    Example:
        >>> text = gn.data.load_text()
        >>> text[:10]
        'OLD FABLES'
    """
    if name not in TEXTS:
        raise ValueError(f"load_text: unknown text {name!r}; available: {sorted(TEXTS)}")
    return _package_file(TEXTS[name][0], "load_text").read_text(encoding="utf-8")


class CharVocab:
    """A character vocabulary: ``stoi`` maps characters to ids 0..n−1, ``itos`` back.

    Args:
        text_or_chars: a text (its distinct characters, sorted, become the
            vocabulary) or an explicit sequence of characters (kept in order).

    Example:
        >>> v = gn.data.CharVocab("hello")
        >>> v.chars, v.encode("hell").tolist(), v.decode([3, 1])
        (['e', 'h', 'l', 'o'], [1, 0, 2, 2], 'oh')
    """

    def __init__(self, text_or_chars):
        if isinstance(text_or_chars, str):
            chars = sorted(set(text_or_chars))
        else:
            chars = list(text_or_chars)
            if any(not isinstance(c, str) or len(c) != 1 for c in chars):
                raise ValueError("CharVocab: expected a text or a sequence of single characters")
            if len(set(chars)) != len(chars):
                raise ValueError("CharVocab: the character list has duplicates")
        if not chars:
            raise ValueError("CharVocab: the vocabulary is empty")
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}
        self.itos = dict(enumerate(chars))
        # a code-point lookup table makes encode one NumPy gather instead of a dict call per character
        self._table = np.full(max(map(ord, chars)) + 1, -1, np.int64)
        self._table[[ord(c) for c in chars]] = np.arange(len(chars))

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Ids of the characters of ``text``: int64 array (len(text),)."""
        if not text:
            return np.zeros(0, np.int64)
        codes = np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.int64)
        ids = np.where(codes < len(self._table), self._table[np.minimum(codes, len(self._table) - 1)],
                       -1)
        if (ids < 0).any():
            pos = int(np.argmax(ids < 0))
            raise ValueError(f"CharVocab.encode: character {text[pos]!r} at position {pos} is not in "
                             f"the vocabulary of {len(self)} characters")
        return ids

    def decode(self, ids) -> str:
        """The text for a sequence of ids (list, array or tensor)."""
        a = np.asarray(getattr(ids, "data", ids)).reshape(-1)
        if a.size and (a.min() < 0 or a.max() >= len(self)):
            raise ValueError(f"CharVocab.decode: ids must be in [0, {len(self) - 1}], got values "
                             f"from {a.min()} to {a.max()}")
        return "".join(self.chars[int(i)] for i in a)

    def __repr__(self):
        return f"CharVocab({len(self)} characters)"


def char_windows(ids, seq_len: int, step: int | None = None):
    """Input/target pairs for next-character prediction: Y is X shifted by one.

    Args:
        ids: encoded text, int array (n,).
        seq_len: characters per sample.
        step: distance between window starts (default ``seq_len``: no overlap).

    Returns:
        ``(X, Y)``: int64 arrays (m, seq_len) with Y[i, t] = ids[start_i + t + 1].

    Example:
        >>> X, Y = gn.data.char_windows(np.arange(7), 3)
        >>> X.tolist(), Y.tolist()
        ([[0, 1, 2], [3, 4, 5]], [[1, 2, 3], [4, 5, 6]])
    """
    a = np.asarray(getattr(ids, "data", ids))
    if a.ndim != 1:
        raise ValueError(f"char_windows: ids must be 1-d, got shape {a.shape}")
    step = seq_len if step is None else step
    for name, v in (("seq_len", seq_len), ("step", step)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"char_windows: {name} must be a positive integer, got {v!r}")
    if len(a) < seq_len + 1:
        raise ValueError(f"char_windows: need at least seq_len + 1 = {seq_len + 1} ids, got {len(a)}")
    starts = np.arange(0, len(a) - seq_len, step)
    idx = starts[:, None] + np.arange(seq_len)
    return a[idx].astype(np.int64), a[idx + 1].astype(np.int64)
