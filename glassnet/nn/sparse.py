"""``Embedding``: a learnable lookup table of vectors, one row per index (as ``torch.nn.Embedding``)."""

from __future__ import annotations

from .. import functional as F
from ..tensor import Tensor, as_tensor, empty
from . import init
from .module import Module, Parameter, check_positive_int


class Embedding(Module):
    """A lookup table: index k → row k of ``weight`` (num_embeddings, embedding_dim).

    Args:
        num_embeddings: number of rows (e.g. the vocabulary size).
        embedding_dim: length of each vector.
        padding_idx: a row that stays zero-initialised and gets no gradient
            (for a padding token).
    Shape: input (*) int64 → (*, embedding_dim). Initialisation N(0, 1), the
    padding row zero, as PyTorch.

    Example:
        >>> emb = gn.nn.Embedding(10, 3, padding_idx=0)
        >>> emb(gn.tensor([[1, 2, 0]])).shape
        (1, 3, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 _weight=None, _freeze: bool = False, dtype=None):
        super().__init__()
        check_positive_int("Embedding", "num_embeddings", num_embeddings)
        check_positive_int("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be in [{-num_embeddings}, "
                                 f"{num_embeddings - 1}], got {padding_idx}")
            padding_idx = padding_idx % num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            w = as_tensor(_weight)
            if w.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {w.shape}, expected "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(w.data.copy(), requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None):
        """An ``Embedding`` holding the given (num_embeddings, embedding_dim) rows."""
        w = as_tensor(embeddings)
        if w.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {w.shape}")
        return cls(w.shape[0], w.shape[1], padding_idx=padding_idx, _weight=w, _freeze=freeze)

    def forward(self, input) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"
