"""A downloadable text corpus for character-level language models.

    corpus = gn.data.TinyShakespeare(download=True)   # ~1.1 MB, ~/.cache/glassnet/TinyShakespeare/raw
    vocab = gn.data.CharVocab(corpus.text)            # 65 characters
    X, Y = gn.data.char_windows(vocab.encode(corpus.text), 64)

The built-in fables (``gn.data.load_text()``) need no network; this corpus is
about forty times larger, for models that have outgrown them.
"""

from __future__ import annotations

import os

from .download import ensure_resources, resolve_root


class TinyShakespeare:
    """Tiny Shakespeare: 1,115,394 characters of Shakespeare's plays (public domain), the
    corpus of A. Karpathy's char-rnn.

    Args:
        root: the folder of the data sets (default ``$GLASSNET_DATA`` or
            ``~/.cache/glassnet``); the file lives in ``root/TinyShakespeare/raw``.
        download: download the file when it is missing or corrupted.

    Attributes:
        text: the whole corpus as one string (newlines ``\\n``).
        mirrors, resources: where the file comes from and its pinned SHA-256
            (the one TensorFlow Datasets records for this URL), as for ``MNIST``.

    ``len(corpus)`` is its number of characters.

    Example:
        >>> corpus = gn.data.TinyShakespeare(download=True)
        >>> corpus.text[:14]
        'First Citizen:'
    """

    base_folder = "TinyShakespeare"
    mirrors = ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/",)
    resources = (("input.txt", None,
                  "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),)

    def __init__(self, root=None, download: bool = False):
        self.root = resolve_root(root)
        (path,) = ensure_resources(type(self).__name__, self.resources, self.raw_folder,
                                   self.mirrors, bool(download), root=self.root)
        try:
            self.text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"{type(self).__name__}: {str(path)!r} is not UTF-8 text "
                             f"({err})") from None
        self.text = self.text.replace("\r\n", "\n")

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.base_folder, "raw")

    def __len__(self) -> int:
        return len(self.text)

    def __repr__(self):
        return f"TinyShakespeare({len(self.text):,} characters, root={str(self.root)!r})"
