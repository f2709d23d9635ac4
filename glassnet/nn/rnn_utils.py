"""Utilities for recurrent networks (``gn.nn.utils.rnn``): packed sequences for
batches of different lengths, and a gradient watcher for BPTT.

A ``PackedSequence`` stores a batch of sequences of different lengths without
padding, step by step: the rows of step t are the ``batch_sizes[t]``
sequences still running at t (longest first). Recurrent layers take one
directly, so padding never reaches the result or the gradients.
"""

from __future__ import annotations

import sys
from collections import namedtuple

import numpy as np

from ..ops import recurrent as R
from ..tensor import Tensor, as_tensor, full
from ..toplevel import cat

# ``from glassnet.nn.utils.rnn import pack_padded_sequence`` works as with torch.nn.utils.rnn
sys.modules.setdefault(__name__.rsplit(".", 1)[0] + ".utils.rnn", sys.modules[__name__])

PackedSequence = namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices",
                                               "unsorted_indices"])
PackedSequence.__doc__ = """A batch of sequences of different lengths, packed step by step.

Fields: ``data`` (sum of lengths, *) — the rows of step 0 for every sequence
(longest first), then step 1's, ...; ``batch_sizes`` (int64, one per step):
how many sequences are still running at each step; ``sorted_indices`` /
``unsorted_indices``: the batch order of the packed rows and its inverse
(None when the batch was already sorted). Made by ``pack_padded_sequence``
or ``pack_sequence``; undone by ``pad_packed_sequence``.
"""


def _int_tensor(a):
    return Tensor._make(np.asarray(a, dtype=np.int64))


def check_lengths(name, lengths, T, N, context=""):
    """Sequence lengths as an int64 array of N values in [1, T] (``context`` ends the
    shape error, e.g. the input's shape)."""
    arr = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths)
    if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and (arr == np.round(arr)).all()):
        raise ValueError(f"{name}: lengths must be integers, got {arr.tolist()!r} (dtype {arr.dtype})")
    arr = arr.astype(np.int64)
    if arr.shape != (N,):
        raise ValueError(f"{name}: lengths must have one entry per sequence in the batch, shape "
                         f"({N},), got shape {arr.shape}{context}")
    if N and (arr.min() < 1 or arr.max() > T):
        raise ValueError(f"{name}: every length must be between 1 and the sequence length {T}, "
                         f"got lengths {arr.tolist()}")
    return arr


def _pack_padded(padded, batch_sizes, sorted_indices, unsorted_indices):
    """Pack a time-major padded tensor (T, N, *) given the packing's layout."""
    bs = np.asarray(batch_sizes._data if isinstance(batch_sizes, Tensor) else batch_sizes)
    order = (np.arange(padded.shape[1]) if sorted_indices is None
             else np.asarray(sorted_indices._data))
    t_idx = np.repeat(np.arange(len(bs)), bs)
    b_idx = order[np.concatenate([np.arange(n) for n in bs])]
    return PackedSequence(padded[t_idx, b_idx], _int_tensor(bs), sorted_indices, unsorted_indices)


def pack_padded_sequence(input, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch: keep step t of sequence b only where t < lengths[b].

    Args:
        input: (T, N, *) padded sequences, or (N, T, *) with ``batch_first``.
        lengths: (N,) each sequence's length, in [1, T].
        enforce_sorted: require lengths in decreasing order (as PyTorch);
            with False the batch is sorted here and ``unsorted_indices``
            restores its order.
    Returns:
        A ``PackedSequence``; its ``data`` is differentiable w.r.t. ``input``.

    Example:
        >>> x = gn.randn(5, 3, 2)                        # T=5, N=3
        >>> p = gn.nn.utils.rnn.pack_padded_sequence(x, [5, 3, 2])
        >>> p.batch_sizes.tolist()
        [3, 3, 2, 1, 1]
    """
    name = "pack_padded_sequence"
    x = as_tensor(input)
    if x.ndim < 2:
        raise ValueError(f"{name}: input must have at least 2 dimensions (T, N, *), got shape {x.shape}")
    if batch_first:
        x = x.transpose(0, 1)
    T, N = x.shape[0], x.shape[1]
    lens = check_lengths(name, lengths, T, N,
                         f" (input shape {tuple(input.shape)}, batch_first={batch_first})")
    if enforce_sorted:
        if (np.diff(lens) > 0).any():
            raise ValueError(f"{name}: lengths must be sorted in decreasing order when "
                             f"enforce_sorted=True, got {lens.tolist()}; sort the batch or pass "
                             "enforce_sorted=False")
        sorted_indices = unsorted_indices = None
        order = np.arange(N)
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices, unsorted_indices = _int_tensor(order), _int_tensor(np.argsort(order))
    sorted_lens = lens[order]
    batch_sizes = (sorted_lens[None, :] > np.arange(sorted_lens[0])[:, None]).sum(1)
    return _pack_padded(x, batch_sizes, sorted_indices, unsorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """Undo ``pack_padded_sequence``: (padded (T, N, *), lengths (N,) int64), in the
    batch's original order; positions past a sequence's end hold ``padding_value``."""
    name = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{name}: expected a PackedSequence, got {type(sequence).__name__}")
    data = sequence.data
    bs = np.asarray(sequence.batch_sizes._data)
    T, N = len(bs), int(bs[0])
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"{name}: total_length={total_length} is shorter than the longest "
                             f"sequence ({T} steps)")
        T = total_length
    # row of packed data for (t, sorted position j); the extra last row is the padding
    rows = np.full((T, N), data.shape[0], np.int64)
    starts = np.concatenate([[0], np.cumsum(bs)[:-1]])
    for t, (s, n) in enumerate(zip(starts, bs)):
        rows[t, :n] = s + np.arange(n)
    if sequence.unsorted_indices is not None:
        rows = rows[:, np.asarray(sequence.unsorted_indices._data)]
    pad_row = full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype)
    padded = cat([data, pad_row], 0)[rows]
    sorted_lens = (bs[None, :] > np.arange(N)[:, None]).sum(1)
    lengths = sorted_lens if sequence.unsorted_indices is None else \
        sorted_lens[np.asarray(sequence.unsorted_indices._data)]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _int_tensor(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0) -> Tensor:
    """Stack sequences of shapes (L_i, *) into one padded (T, N, *) tensor (T = max L_i)."""
    seqs = [as_tensor(s) for s in sequences]
    if not seqs:
        raise ValueError("pad_sequence: expected a non-empty list of tensors")
    trail = seqs[0].shape[1:]
    for i, s in enumerate(seqs):
        if s.ndim == 0 or s.shape[1:] != trail:
            raise ValueError(f"pad_sequence: sequence {i} has shape {s.shape}; every sequence must "
                             f"be (length, *{trail})")
    lens = np.array([s.shape[0] for s in seqs])
    T, N = int(lens.max()), len(seqs)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    rows = np.full((T, N), lens.sum(), np.int64)
    for b, (s, n) in enumerate(zip(starts, lens)):
        rows[:n, b] = s + np.arange(n)
    pad_row = full((1,) + tuple(trail), padding_value, dtype=seqs[0].dtype)
    padded = cat(seqs + [pad_row], 0)[rows]
    return padded.transpose(0, 1) if batch_first else padded


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *) directly (longest first unless ``enforce_sorted=False``)."""
    lens = [as_tensor(s).shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lens, enforce_sorted=enforce_sorted)


# ---------------------------------------------------------------------------
# watching gradients through time
# ---------------------------------------------------------------------------
class watch_gradients:
    """Record ‖∂L/∂h_t‖ at every time step of the recurrent layers in ``model``
    during backward, and the norm of every parameter's gradient.

    ∂L/∂h_t is the total gradient reaching the hidden state of step t (from
    the output at t and from step t+1), its norm taken over the batch and the
    hidden units. Norms that shrink towards t = 1 show a vanishing gradient,
    norms that grow show an exploding one.

    Attributes:
        hidden_grad_norms: {layer name: array of T norms, t = 1..T}, e.g.
            ``'rnn.l0'``, ``'rnn.l0_reverse'`` (the latest backward).
        records: every (layer name, norms) recorded, in order (several
            backward passes, truncated-BPTT chunks).
        weight_grad_norms: {parameter name: ‖grad‖}, taken when the block
            ends (live inside it).

    Example:
        >>> with gn.nn.utils.rnn.watch_gradients(model) as w:
        ...     loss.backward()
        >>> w.hidden_grad_norms["rnn.l0"]      # one norm per time step
        >>> print(w.report())
    """

    def __init__(self, model):
        self.model = model
        self._names = {id(m): name for name, m in model.named_modules()}
        self.hidden_grad_norms: dict = {}
        self.records: list = []
        self._weight_norms = None

    def __enter__(self):
        R.grad_watchers.append(self)
        return self

    def __exit__(self, *exc):
        R.grad_watchers.remove(self)
        self._weight_norms = self._current_weight_norms()
        return False

    def _record(self, key, norms):
        module_id, layer = key
        prefix = self._names.get(module_id)
        if prefix is None:
            return
        name = f"{prefix}.{layer}" if prefix else layer
        self.hidden_grad_norms[name] = norms
        self.records.append((name, norms))

    def _current_weight_norms(self):
        return {n: float(np.sqrt(np.sum(np.square(p.grad._data, dtype=np.float64))))
                for n, p in self.model.named_parameters() if p.grad is not None}

    @property
    def weight_grad_norms(self) -> dict:
        return self._current_weight_norms() if self._weight_norms is None else self._weight_norms

    def report(self, max_steps: int = 10) -> str:
        """A text summary: per layer, ‖∂L/∂h_t‖ at up to ``max_steps`` steps; then weight norms."""
        lines = []
        for name, norms in self.hidden_grad_norms.items():
            T = len(norms)
            idx = np.unique(np.linspace(0, T - 1, min(T, max_steps)).round().astype(int))
            cells = "  ".join(f"t={i + 1}: {norms[i]:.3g}" for i in idx)
            ratio = norms[0] / norms[-1] if norms[-1] else float("inf")
            lines.append(f"{name}: ||dL/dh_t||  {cells}   (t=1 / t={T}: {ratio:.3g})")
        for name, v in self.weight_grad_norms.items():
            lines.append(f"||grad {name}|| = {v:.4g}")
        return "\n".join(lines)
