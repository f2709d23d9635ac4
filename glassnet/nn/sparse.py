"""``Embedding``: a learnable lookup table of vectors, one row per index (as ``torch.nn.Embedding``)."""

from __future__ import annotations

from .. import functional as F
from .._device import check_device
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
        max_norm: rows looked up whose ``norm_type``-norm exceeds this are
            rescaled to it, in place, before the lookup.
        norm_type: the p of the p-norm for ``max_norm`` (default 2).
        scale_grad_by_freq: divide each row's gradient by how often its index
            occurs in the batch.
        sparse: must be False (sparse gradients are not supported).
    Shape: input (*) int64 → (*, embedding_dim). Initialisation N(0, 1), the
    padding row zero, as PyTorch.

    Example:
        >>> emb = gn.nn.Embedding(10, 3, padding_idx=0)
        >>> emb(gn.tensor([[1, 2, 0]])).shape
        glassnet.Size([1, 3, 3])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight=None, _freeze: bool = False, device=None,
                 dtype=None):
        super().__init__()
        check_device(device, "Embedding")
        check_positive_int("Embedding", "num_embeddings", num_embeddings)
        check_positive_int("Embedding", "embedding_dim", embedding_dim)
        F._check_embedding_options("Embedding", max_norm, norm_type, sparse)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = bool(scale_grad_by_freq), bool(sparse)
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
            self.weight = Parameter(w._data.copy(), requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, sparse: bool = False):
        """An ``Embedding`` holding the given (num_embeddings, embedding_dim) rows."""
        w = as_tensor(embeddings)
        if w.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {w.shape}")
        return cls(w.shape[0], w.shape[1], padding_idx=padding_idx, max_norm=max_norm,
                   norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse,
                   _weight=w, _freeze=freeze)

    def forward(self, input) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        return s
