"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their one-step cells.

The layers run each layer's (and direction's) whole sequence as one fused
node (``glassnet.ops.recurrent.RecurrentLayerFunction``): the input projection of all
steps in one matmul, one small matmul per step, and backpropagation through
time whose weight gradients are single matmuls over the stacked steps.

The cells (``RNNCell``, ``LSTMCell``, ``GRUCell``) compute one step from
primitives (``linear``, ``tanh``, ``sigmoid``) — the chapter's formulas as
code, for reading and for building loops by hand.

Parameter names, shapes, gate orders (LSTM i,f,g,o; GRU r,z,n) and the
initialisation U(−1/√hidden, 1/√hidden) are PyTorch's, so a PyTorch
``state_dict`` loads unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .._device import check_device
from ..ops import recurrent as R
from ..tensor import Tensor, as_tensor, empty, zeros
from ..toplevel import cat, stack
from . import init
from .module import Module, Parameter, check_positive_int
from .rnn_utils import PackedSequence, _pack_padded, check_lengths, pad_packed_sequence

_NONLINEARITIES = ("tanh", "relu")


class RNNBase(Module):
    """Shared machinery of ``RNN``, ``LSTM`` and ``GRU`` (mode 'tanh', 'relu', 'lstm', 'gru')."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype=None, proj_size: int = 0, device=None):
        super().__init__()
        name = type(self).__name__
        check_device(device, name)
        check_positive_int(name, "input_size", input_size)
        check_positive_int(name, "hidden_size", hidden_size)
        check_positive_int(name, "num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1), got {dropout!r}")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or not 0 <= proj_size < hidden_size:
            raise ValueError(f"{name}: proj_size must be an int in [0, hidden_size={hidden_size}) "
                             f"(0: no projection), got {proj_size!r}")
        if proj_size and mode != "lstm":
            raise ValueError(f"{name}: proj_size is only supported by LSTM")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.proj_size = proj_size
        state_size = proj_size or hidden_size  # width of h (and of the output)
        gate_size = R.GATES[mode] * hidden_size
        D = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._cells = []  # per layer and direction: (suffix, its parameters' names in input order)
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else state_size * D
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (gate_size, layer_in)), ("weight_hh", (gate_size, state_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for pname, shape in shapes:
                    setattr(self, pname + sfx, Parameter(empty(*shape, dtype=dtype)))
                self._cells.append((sfx[1:], [pname + sfx for pname, _ in shapes]))
                self._flat_weights_names += self._cells[-1][1]
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(−1/√hidden_size, 1/√hidden_size), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.all_weights_flat:
            init.uniform_(p, -bound, bound)

    @property
    def all_weights_flat(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        """Per layer and direction, the list [weight_ih, weight_hh, bias_ih, bias_hh(, weight_hr)]."""
        k = (4 if self.bias else 2) + (1 if self.proj_size else 0)
        w = self.all_weights_flat
        return [w[i:i + k] for i in range(0, len(w), k)]

    def flatten_parameters(self) -> None:
        """Accepted for PyTorch code; does nothing (the weights are always used as they are)."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "relu":
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        return s

    # ------------------------------------------------------------------ forward
    def _initial_state(self, h, what, expected, dtype):
        name = type(self).__name__
        h = as_tensor(h)
        if h.shape != expected:
            width = "proj_size" if what == "h0" and self.proj_size else "hidden_size"
            raise ValueError(f"{name}: {what} has shape {h.shape} but expected {expected} "
                             f"(num_layers * num_directions, batch, {width})")
        if h.dtype != dtype:
            raise ValueError(f"{name}: {what} has dtype {h.dtype} but the layer's parameters are {dtype}")
        return h

    def forward(self, input, hx=None, lengths=None):
        """Run the whole sequence.

        Args:
            input: (T, N, input_size), or (N, T, input_size) with ``batch_first``,
                (T, input_size) unbatched, or a ``PackedSequence``.
            hx: initial state (num_layers·D, N, hidden_size), zeros if None;
                for LSTM a tuple (h0, c0).
            lengths: optional (N,) ints in [1, T]: each sequence's real length;
                the steps past it are padding that never reaches the result.
        Returns:
            ``output, h_n`` (LSTM: ``output, (h_n, c_n)``); output is
            (T, N, D·hidden_size) (batch-first or packed like the input) and
            zero past each sequence's length; h_n is the state at each
            sequence's last real step.
        """
        name = type(self).__name__
        lstm = self.mode == "lstm"
        packed = isinstance(input, PackedSequence)
        batch_first = self.batch_first and not packed
        if packed:
            if lengths is not None:
                raise ValueError(f"{name}: pass lengths or a PackedSequence, not both")
            x, lens = pad_packed_sequence(input)
            lengths = lens._data
        else:
            x = as_tensor(input)
        layout = "(N, T, input_size)" if batch_first else "(T, N, input_size)"
        if x.ndim not in (2, 3):
            raise ValueError(f"{name}: expected input of shape {layout} or (T, input_size) "
                             f"unbatched, got {x.ndim}-D input of shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has {x.shape[-1]} features (last dimension) but the "
                             f"layer expects input_size={self.input_size} (input shape {x.shape})")
        dtype = self.weight_ih_l0.dtype
        if x.dtype != dtype:
            raise ValueError(f"{name}: input has dtype {x.dtype} but the layer's parameters are "
                             f"{dtype} (convert one: x.to(...) or model.to(...))")
        given = x.shape
        unbatched = x.ndim == 2
        if unbatched:
            x = x.unsqueeze(1)
        elif batch_first:
            x = x.transpose(0, 1)
        T, N = x.shape[0], x.shape[1]
        if T == 0:
            raise ValueError(f"{name}: the input sequence has length 0 (input shape {given}, "
                             f"{layout}); expected at least one time step")
        D = 2 if self.bidirectional else 1
        LD, H = self.num_layers * D, self.hidden_size
        if lengths is not None:
            lengths = check_lengths(name, lengths, T, N)

        widths = [self.proj_size or H] + ([H] if lstm else [])  # of h (and c)
        states = []  # per state kind (h, and c for LSTM): a list of LD (N, width) tensors
        if hx is None:
            states = [[zeros(N, w, dtype=dtype)] * LD for w in widths]
        else:
            if lstm and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise ValueError(f"{name}: hx must be a tuple (h0, c0), got {type(hx).__name__}")
            if not lstm and isinstance(hx, (tuple, list)):
                raise ValueError(f"{name}: hx must be one tensor h0, got a {type(hx).__name__}")
            for what, h, w in zip(("h0", "c0"), hx if lstm else (hx,), widths):
                expected = (LD, w) if unbatched else (LD, N, w)
                h = self._initial_state(h, what, expected, dtype)
                if unbatched:
                    h = h.unsqueeze(1)
                if h.requires_grad:
                    states.append([h[k] for k in range(LD)])
                else:
                    states.append([Tensor._make(h._data[k]) for k in range(LD)])

        # the fused layer runs the sequences longest first (the running rows are then a
        # prefix of the batch): sort once here for every layer, and unsort at the end
        inverse = None
        if lengths is not None and (np.diff(lengths) > 0).any():
            order = np.argsort(-lengths, kind="stable")
            inverse = np.argsort(order)
            x, lengths = x[:, order], lengths[order]
            states = [[s[order] for s in kind] for kind in states]

        layer_in = x
        finals = [[] for _ in states]
        registry = self._parameters  # straight from it: no __getattr__ per parameter per call
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                key, names = self._cells[k]
                res = R.RecurrentLayerFunction.apply(
                    layer_in, *[s[k] for s in states], *[registry[n] for n in names], mode=self.mode,
                    reverse=bool(d), lengths=lengths, bias=self.bias, watch_key=(id(self), key),
                    proj=bool(self.proj_size))
                outs.append(res[0])
                for j, f in enumerate(finals):
                    f.append(res[1 + j])
            layer_in = outs[0] if D == 1 else cat(outs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        output = layer_in
        h_n = [stack(f, 0) for f in finals]
        if inverse is not None:
            output, h_n = output[:, inverse], [h[:, inverse] for h in h_n]
        if unbatched:
            output = output.squeeze(1)
            h_n = [h.squeeze(1) for h in h_n]
        elif batch_first:
            output = output.transpose(0, 1)
        if packed:
            output = _pack_padded(output, input.batch_sizes, input.sorted_indices,
                                  input.unsorted_indices)
        return output, (tuple(h_n) if lstm else h_n[0])


class RNN(RNNBase):
    """Elman RNN: h_t = g(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), g = tanh or relu.

    Args:
        input_size: features per step of the input.
        hidden_size: size of the hidden state h.
        num_layers: stacked layers (each one's output sequence feeds the next).
        nonlinearity: 'tanh' (default) or 'relu'.
        bias: learn b_ih and b_hh.
        batch_first: input and output are (N, T, features).
        dropout: dropout on each layer's output except the last, in [0, 1).
        bidirectional: add a layer reading the sequence backwards; outputs
            are concatenated (D = 2).
    Shape: input (T, N, input_size); h0 (num_layers·D, N, hidden_size) →
    output (T, N, D·hidden_size), h_n (num_layers·D, N, hidden_size).
    Parameters ``weight_ih_l{k}`` (hidden, in), ``weight_hh_l{k}`` (hidden,
    hidden), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (hidden,), ``..._reverse``.

    Example:
        >>> rnn = gn.nn.RNN(8, 32, batch_first=True)
        >>> out, h_n = rnn(gn.randn(4, 10, 8))        # 4 sequences of 10 steps
        >>> out.shape, h_n.shape
        (glassnet.Size([4, 10, 32]), glassnet.Size([1, 4, 32]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or 'relu')")
        # proj_size keeps PyTorch's positional order (device and dtype come after it); only
        # LSTM accepts a non-zero one
        super().__init__(nonlinearity, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, dtype, proj_size, device=device)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, o = σ(·), g = tanh(·) of W_ih x_t + b_ih + W_hh h_{t−1} + b_hh;
    c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t).

    Arguments as ``RNN`` (no nonlinearity). Gate rows are stacked i, f, g, o:
    ``weight_ih_l{k}`` is (4·hidden, in), ``weight_hh_l{k}`` (4·hidden, hidden).
    Input and output as ``RNN`` with ``hx = (h0, c0)`` and ``output, (h_n, c_n)``.

    ``proj_size`` P (0 < P < hidden_size; default 0, none) projects the state:
    h_t = W_hr (o ⊙ tanh c_t) with ``weight_hr_l{k}`` (P, hidden), so h0, h_n
    and the output have P features and ``weight_hh_l{k}`` is (4·hidden, P);
    c0 and c_n keep hidden_size (as PyTorch's ``proj_size``).

    Example:
        >>> lstm = gn.nn.LSTM(8, 32, num_layers=2)
        >>> out, (h_n, c_n) = lstm(gn.randn(10, 4, 8))
        >>> out.shape, c_n.shape
        (glassnet.Size([10, 4, 32]), glassnet.Size([2, 4, 32]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__("lstm", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype, proj_size, device=device)


class GRU(RNNBase):
    """Gated recurrent unit: r, z = σ(W_i· x_t + b_i· + W_h· h_{t−1} + b_h·),
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}.

    Arguments, input and output as ``RNN`` (no nonlinearity). Gate rows are
    stacked r, z, n: ``weight_ih_l{k}`` is (3·hidden, in).

    Example:
        >>> gru = gn.nn.GRU(8, 32, bidirectional=True)
        >>> out, h_n = gru(gn.randn(10, 4, 8))
        >>> out.shape, h_n.shape
        (glassnet.Size([10, 4, 64]), glassnet.Size([2, 4, 32]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__("gru", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype, proj_size, device=device)


# ---------------------------------------------------------------------------
# cells: one time step, composed from primitives
# ---------------------------------------------------------------------------
class RNNCellBase(Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, gates: int, dtype=None,
                 device=None):
        super().__init__()
        name = type(self).__name__
        check_device(device, name)
        check_positive_int(name, "input_size", input_size)
        check_positive_int(name, "hidden_size", hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        self.weight_ih = Parameter(empty(gates * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(gates * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(gates * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(empty(gates * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s

    def _inputs(self, input, hx, n_states):
        """Validate; return (x as (N, I), [states as (N, H)], unbatched)."""
        name = type(self).__name__
        x = as_tensor(input)
        if x.ndim not in (1, 2):
            raise ValueError(f"{name}: expected input of shape (N, input_size) or (input_size,), "
                             f"got {x.ndim}-D input of shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has {x.shape[-1]} features but the cell expects "
                             f"input_size={self.input_size} (input shape {x.shape})")
        unbatched = x.ndim == 1
        if unbatched:
            x = x.unsqueeze(0)
        N, H = x.shape[0], self.hidden_size
        if hx is None:
            z = zeros(N, H, dtype=x.dtype)
            return x, [z] * n_states, unbatched
        hs = list(hx) if n_states == 2 else [hx]
        if n_states == 2 and len(hs) != 2:
            raise ValueError(f"{name}: hx must be a tuple (h, c), got {len(hs)} tensors")
        expected = (H,) if unbatched else (N, H)
        out = []
        for what, h in zip(("h", "c"), hs):
            h = as_tensor(h)
            if h.shape != expected:
                raise ValueError(f"{name}: {what} has shape {h.shape} but expected {expected} "
                                 "(batch, hidden_size)")
            out.append(h.unsqueeze(0) if unbatched else h)
        return x, out, unbatched


class RNNCell(RNNCellBase):
    """One Elman step: h' = g(W_ih x + b_ih + W_hh h + b_hh), g = tanh or relu.

    Shape: input (N, input_size) or (input_size,); hx (N, hidden_size) or
    None (zeros) → h' (N, hidden_size).

    Example:
        >>> cell = gn.nn.RNNCell(3, 5)
        >>> h = None
        >>> for x_t in gn.randn(4, 2, 3):    # 4 steps, batch 2
        ...     h = cell(x_t, h)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or 'relu')")
        super().__init__(input_size, hidden_size, bias, 1, dtype, device)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, (h,), unbatched = self._inputs(input, hx, 1)
        z = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        h = F.tanh(z) if self.nonlinearity == "tanh" else F.relu(z)
        return h.squeeze(0) if unbatched else h


class LSTMCell(RNNCellBase):
    """One LSTM step: i, f, g, o = split(W_ih x + b_ih + W_hh h + b_hh);
    c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g),  h' = σ(o) ⊙ tanh(c').

    Shape: input (N, input_size); hx a tuple (h, c) of (N, hidden_size) or
    None → (h', c').
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, dtype, device)

    def forward(self, input, hx=None):
        x, (h, c), unbatched = self._inputs(input, hx, 2)
        z = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        i, f, g, o = z.chunk(4, 1)
        c = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
        h = F.sigmoid(o) * F.tanh(c)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """One GRU step: r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise,
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h.

    Shape: input (N, input_size); hx (N, hidden_size) or None → h'.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, dtype, device)

    def forward(self, input, hx=None):
        x, (h,), unbatched = self._inputs(input, hx, 1)
        xr, xz, xn = F.linear(x, self.weight_ih, self.bias_ih).chunk(3, 1)
        hr, hz, hn = F.linear(h, self.weight_hh, self.bias_hh).chunk(3, 1)
        r = F.sigmoid(xr + hr)
        z = F.sigmoid(xz + hz)
        n = F.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        return h.squeeze(0) if unbatched else h
