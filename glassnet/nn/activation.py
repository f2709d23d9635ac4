"""Activation layers a = g(z): module forms of ``glassnet.functional``."""

from __future__ import annotations

from .. import functional as F
from .module import Module


class Sigmoid(Module):
    """a = 1/(1 + e^{−z})."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """a = tanh z."""

    def forward(self, input):
        return F.tanh(input)


class ReLU(Module):
    """a = max(0, z)."""

    def __init__(self, inplace: bool = False):
        super().__init__()

    def forward(self, input):
        return F.relu(input)


class LeakyReLU(Module):
    """a = z for z > 0, else negative_slope·z."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """a = z for z > 0, else α(eᶻ − 1)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = alpha

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class SELU(Module):
    """a = scale·elu(z, α), self-normalising."""

    def __init__(self, inplace: bool = False):
        super().__init__()

    def forward(self, input):
        return F.selu(input)


class GELU(Module):
    """a = z·Φ(z)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """a = z·σ(z) (swish)."""

    def __init__(self, inplace: bool = False):
        super().__init__()

    def forward(self, input):
        return F.silu(input)


Swish = SiLU


class Softplus(Module):
    """a = (1/β) ln(1 + e^{βz})."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    """a = z/(1 + |z|)."""

    def forward(self, input):
        return F.softsign(input)


class Hardtanh(Module):
    """a = clamp(z, min_val, max_val)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if min_val >= max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must be less than max_val ({max_val})")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class _AlongDim(Module):
    """An activation that normalises along one dimension ``dim``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """aᵢ = e^{zᵢ}/Σⱼ e^{zⱼ} along ``dim``."""

    def forward(self, input):
        return F.softmax(input, self.dim)


class LogSoftmax(_AlongDim):
    """aᵢ = zᵢ − log Σⱼ e^{zⱼ} along ``dim``."""

    def forward(self, input):
        return F.log_softmax(input, self.dim)


class Softmin(_AlongDim):
    """aᵢ = e^{−zᵢ}/Σⱼ e^{−zⱼ} along ``dim``."""

    def forward(self, input):
        return F.softmin(input, self.dim)


class LogSigmoid(Module):
    """a = log σ(z)."""

    def forward(self, input):
        return F.logsigmoid(input)


class ReLU6(Module):
    """a = min(max(0, z), 6)."""

    def __init__(self, inplace: bool = False):
        super().__init__()

    def forward(self, input):
        return F.relu6(input)


class Hardsigmoid(Module):
    """a = relu6(z + 3)/6."""

    def __init__(self, inplace: bool = False):
        super().__init__()

    def forward(self, input):
        return F.hardsigmoid(input)


class Hardswish(Module):
    """a = z·relu6(z + 3)/6."""

    def __init__(self, inplace: bool = False):
        super().__init__()

    def forward(self, input):
        return F.hardswish(input)


class Mish(Module):
    """a = z·tanh(softplus(z))."""

    def __init__(self, inplace: bool = False):
        super().__init__()

    def forward(self, input):
        return F.mish(input)
