"""Parameter initialisation, in place, as ``torch.nn.init``.

fan_in / fan_out are the number of inputs / outputs of one neuron: for a
weight of shape (out, in, *kernel) fan_in = in·∏kernel, fan_out = out·∏kernel.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend as B
from ..autograd import bump_version as _bump_version
from ..tensor import Tensor


def _fill(t: Tensor, values) -> Tensor:
    t._data[...] = values
    _bump_version(t)
    return t


def calculate_fan_in_and_fan_out(t: Tensor):
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if t.ndim < 2:
        raise ValueError(f"calculate_fan_in_and_fan_out: needs a tensor of at least 2 dimensions, "
                         f"got shape {t.shape}")
    receptive = int(np.prod(t.shape[2:])) if t.ndim > 2 else 1
    return t.shape[1] * receptive, t.shape[0] * receptive


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended scale for an activation (as PyTorch)."""
    gains = {"linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "sigmoid": 1.0,
             "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 3.0 / 4}
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in gains:
        raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r} "
                         f"(expected one of {sorted(gains) + ['leaky_relu']})")
    return gains[nonlinearity]


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill ``t`` with draws from U(a, b)."""
    return _fill(t, B.rng().uniform(a, b, t.shape))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill ``t`` with draws from N(mean, std²)."""
    return _fill(t, B.rng().normal(mean, std, t.shape))


def constant_(t: Tensor, val: float) -> Tensor:
    """Fill ``t`` with ``val``."""
    return _fill(t, val)


def zeros_(t: Tensor) -> Tensor:
    """Fill ``t`` with 0."""
    return _fill(t, 0)


def ones_(t: Tensor) -> Tensor:
    """Fill ``t`` with 1."""
    return _fill(t, 1)


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot: U(−a, a) with a = gain·√(6/(fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a)


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot: N(0, σ²) with σ = gain·√(2/(fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _fan(t, mode, name):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{name}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(t)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(t: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """He: U(−b, b) with b = gain·√(3/fan), fan = fan_in or fan_out per ``mode``
    (``nn.Linear`` and ``nn.Conv2d`` use a = √5, PyTorch's default)."""
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(t, mode, "kaiming_uniform_"))
    return uniform_(t, -bound, bound)


def kaiming_normal_(t: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """He: N(0, σ²) with σ = gain/√fan, fan = fan_in or fan_out per ``mode``."""
    return normal_(t, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(t, mode, "kaiming_normal_")))


# names without the trailing underscore, as older PyTorch code uses
uniform, normal, constant, zeros, ones = uniform_, normal_, constant_, zeros_, ones_
xavier_uniform, xavier_normal = xavier_uniform_, xavier_normal_
kaiming_uniform, kaiming_normal = kaiming_uniform_, kaiming_normal_
