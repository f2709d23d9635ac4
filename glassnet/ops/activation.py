"""Activation functions a = g(z), each numerically stable for |z| ≥ 1000.

Each backward multiplies the incoming ∂L/∂a by g'(z), written where possible
in terms of the saved output a (σ' = a(1 − a), tanh' = 1 − a²) so that no
exponential is recomputed.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ._parallel import for_parts
from ._util import const
from ._workspace import workspace_like

# Arrays at least this big (elements) come from the workspace pool: a fresh
# array of conv-activation size costs page faults every step, while for small
# ones a plain allocation is cheaper than the pool lookup.
POOLED_SIZE = 1 << 15

_F16 = np.dtype(np.float16)


def sigmoid(z, out=None):
    """σ(z) = 1/(1 + e^{−z}) elementwise, for any z (``out`` may be ``z``).

    Below z ≈ −88.7 (float32; −709.8 in float64) e^{−z} overflows to inf and
    σ(z) is exactly 0, as in PyTorch (a cap on −z would leave σ at the smallest
    value 1/(1 + e^{cap}), about 6e−39, whose log is −88 rather than −inf: then
    binary_cross_entropy(σ(−1000), 1) would be 88, not PyTorch's 100). The
    overflow is expected, so its warning is silenced. Four array passes, in place
    after the first (a two-branch formula takes eight). This is glassnet's one
    sigmoid: the op, SiLU, softplus's and the logit losses' gradients and
    explain's worked LSTM/GRU gates all call it.
    """
    if z.dtype is _F16:  # computed in float32 and rounded, as PyTorch (e^{−z} fits)
        a = sigmoid(z.astype(np.float32)).astype(np.float16)
        if out is None:
            return a
        out[...] = a
        return out
    out = np.negative(z, out=np.empty_like(z) if out is None else out)
    _exp_overflow_quiet(out, out=out)
    np.add(out, const(1, out.dtype), out=out)
    return np.reciprocal(out, out=out)


# np.exp with its overflow warning silenced. np.errstate as a decorator costs about 1 µs
# a call against 1.6 µs for the ``with`` form (4×3 float32 array, timeit, best of 5).
_exp_overflow_quiet = np.errstate(over="ignore")(np.exp)


def sigmoid_from_tanh(t, out=None):
    """σ(z) = ½ + ½ tanh(z/2) from t = tanh(z/2), elementwise (``out`` may be ``t``).

    The route of the fused recurrent layers, which compute one tanh over all of
    a step's gates (the ½ folded into their weights): two array passes. The same
    σ as ``sigmoid`` to an ulp or so of 1, though values under about 1e−17 come
    out as 0 (enough for a gate, not for a probability whose log is taken).
    """
    half = const(0.5, t.dtype)
    out = np.multiply(t, half, out=out)
    return np.add(out, half, out=out)


def _softplus(x):
    """ln(1 + eˣ) = max(x, 0) + ln(1 + e^{−|x|}): no overflow for any x."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _shift(z, axis):
    """z − max z along ``axis``, so e^{z − max z} never overflows. Values more than the
    dtype's largest number below the maximum become −inf (e^{−inf} = 0), as in PyTorch:
    that overflow is expected, and its warning silenced."""
    if not z.size:  # nothing to normalise (and no maximum to take)
        return z.copy()
    with np.errstate(over="ignore"):
        return z - z.max(axis=axis, keepdims=True)


def _log_softmax(z, axis):
    """z − log Σ e^z along ``axis``, the maximum subtracted first (``_shift``)."""
    shifted = _shift(z, axis)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class SigmoidFunction(Function):
    """a = σ(z) = 1/(1 + e^{−z});  ∂a/∂z = a(1 − a)."""

    saves = ()
    saves_output = True

    def forward(self, z):
        self.a = sigmoid(z)
        return self.a

    def backward(self, grad_out):
        a = self.a
        return grad_out * a * np.subtract(const(1, a.dtype), a)


class TanhFunction(Function):
    """a = tanh z = (eᶻ − e⁻ᶻ)/(eᶻ + e⁻ᶻ);  ∂a/∂z = 1 − a²."""

    saves = ()
    saves_output = True

    def forward(self, z):
        self.a = np.tanh(z)
        return self.a

    def backward(self, grad_out):
        a = self.a
        return grad_out * np.subtract(const(1, a.dtype), a * a)


class ReLUFunction(Function):
    """a = max(0, z);  ∂a/∂z = 1 for z > 0, else 0."""

    saves = ()

    def forward(self, z):
        # np.maximum is one pass (np.where(mask, z, 0) reads z and the mask
        # again); NaN stays NaN, as in PyTorch. The mask is a ≠ 0 rather than z > 0: the
        # same except at NaN, whose gradient passes, as PyTorch's (which zeroes a ≤ 0)
        if z.size >= POOLED_SIZE:
            a, mask = workspace_like(z), workspace_like(z, np.bool_)

            def part(lo, hi):  # a large batch split over threads
                np.maximum(z[lo:hi], 0, out=a[lo:hi])
                np.not_equal(a[lo:hi], 0, out=mask[lo:hi])

            for_parts(part, z.shape[0], 2 * z.nbytes + mask.nbytes)
            self.mask = mask
            return a
        a = np.maximum(z, 0)
        self.mask = a != 0
        return a

    def backward(self, grad_out):
        # multiplying by the boolean mask is one streaming pass, ~15x faster than
        # np.where(mask, g, 0) on conv-sized arrays
        if grad_out.size >= POOLED_SIZE:
            g, mask = workspace_like(grad_out), self.mask
            for_parts(lambda lo, hi: np.multiply(grad_out[lo:hi], mask[lo:hi], out=g[lo:hi]),
                      g.shape[0], 2 * g.nbytes + mask.nbytes)
            return g
        return np.multiply(grad_out, self.mask, dtype=grad_out.dtype)


class LeakyReLUFunction(Function):
    """a = z for z > 0, else αz;  ∂a/∂z = 1 or α."""

    dtypes = "float"
    op_name = "leaky_relu"

    saves = ()

    def forward(self, z, negative_slope=0.01):
        self.mask, self.slope = z > 0, negative_slope
        return np.where(self.mask, z, z * negative_slope)

    def backward(self, grad_out):
        return np.where(self.mask, grad_out, grad_out * self.slope)


class ELUFunction(Function):
    """a = z for z > 0, else α(eᶻ − 1);  ∂a/∂z = 1, or a + α below zero.

    SELU is ``scale`` times ELU with fixed α and scale.
    """

    dtypes = "float"
    op_name = "elu"

    saves = ()

    def forward(self, z, alpha=1.0, scale=1.0):
        # the branch is z ≤ 0 (not z > 0), so NaN takes the linear one, slope 1, as PyTorch
        self.neg, self.alpha, self.scale = z <= 0, alpha, scale
        self.em1 = np.expm1(np.minimum(z, 0))  # e^z − 1 without overflow for large z
        return scale * np.where(self.neg, alpha * self.em1, z)

    def backward(self, grad_out):
        return grad_out * (self.scale * np.where(self.neg, self.alpha * (self.em1 + 1), 1))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_math_erf = np.frompyfunc(math.erf, 1, 1)


def _erf(x):
    """erf, elementwise. float64 calls math.erf per element (exact, for gradient
    checks and explanations); float32 uses Abramowitz & Stegun 7.1.26,
    erf(x) ≈ 1 − (a₁t + … + a₅t⁵)e^{−x²} with t = 1/(1 + p|x|), whose error
    (1.5·10⁻⁷) is below float32's resolution, at NumPy speed."""
    if x.dtype != np.float32:
        # np.asarray: on a 0-d input frompyfunc returns a Python float, not an array
        return np.asarray(_math_erf(x), dtype=x.dtype)
    a = np.abs(x)
    t = 1 / (1 + np.float32(0.3275911) * a)
    poly = t * (np.float32(0.254829592) + t * (np.float32(-0.284496736) + t * (
        np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * np.float32(1.061405429)))))
    return np.copysign(1 - poly * np.exp(-a * a), x)


class GELUFunction(Function):
    """a = z·Φ(z), Φ the standard normal CDF;  ∂a/∂z = Φ(z) + z·φ(z).

    ``approximate='tanh'`` uses Φ(z) ≈ ½(1 + tanh(√(2/π)(z + 0.044715 z³))).
    """

    dtypes = "float"
    op_name = "gelu"

    saves = (0,)

    def forward(self, z, approximate="none"):
        self.z, self.approximate = z, approximate
        if approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            self.t = np.tanh(k * (z + 0.044715 * z**3))
            return 0.5 * z * (1 + self.t)
        self.cdf = (0.5 * (1 + _erf(z / np.asarray(math.sqrt(2), z.dtype)))).astype(z.dtype, copy=False)
        return z * self.cdf

    def backward(self, grad_out):
        z = self.z
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            t = self.t
            d = 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * k * (1 + 3 * 0.044715 * z * z)
            return grad_out * d
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        return grad_out * (self.cdf + z * pdf)


class SiLUFunction(Function):
    """a = z·σ(z) (swish);  ∂a/∂z = σ(z)(1 + z(1 − σ(z)))."""

    dtypes = "float"
    op_name = "silu"

    saves = (0,)

    def forward(self, z):
        self.z, self.s = z, sigmoid(z)
        return z * self.s

    def backward(self, grad_out):
        s = self.s
        return grad_out * s * (1 + self.z * (1 - s))


class SoftplusFunction(Function):
    """a = (1/β)·ln(1 + e^{βz}) (linear above ``threshold``);  ∂a/∂z = σ(βz)."""

    dtypes = "float"
    op_name = "softplus"

    saves = ()

    def forward(self, z, beta=1.0, threshold=20.0):
        bz = z * beta
        self.bz, self.threshold = bz, threshold
        return np.where(bz > threshold, z, _softplus(bz) / beta)

    def backward(self, grad_out):
        return grad_out * np.where(self.bz > self.threshold, 1, sigmoid(self.bz))


class SoftsignFunction(Function):
    """a = z/(1 + |z|);  ∂a/∂z = 1/(1 + |z|)²."""

    saves = ()

    def forward(self, z):
        self.d = 1 + np.abs(z)
        return z / self.d

    def backward(self, grad_out):
        return grad_out / (self.d * self.d)


class HardtanhFunction(Function):
    """a = clamp(z, min_val, max_val);  ∂a/∂z = 1 strictly inside, else 0."""

    saves = ()

    def forward(self, z, min_val=-1.0, max_val=1.0):
        a = np.clip(z, min_val, max_val)
        if a.dtype != z.dtype:  # integers stay integers, as PyTorch (NumPy widens to float)
            a = a.astype(z.dtype)
        # 1 unless z is at or beyond a bound: from the output, so NaN passes, as PyTorch
        self.mask = (a != min_val) & (a != max_val)
        return a

    def backward(self, grad_out):
        return np.where(self.mask, grad_out, np.zeros((), grad_out.dtype))


class SoftmaxFunction(Function):
    """aᵢ = e^{zᵢ}/Σⱼ e^{zⱼ};  ∂L/∂zᵢ = aᵢ(gᵢ − Σⱼ gⱼaⱼ) with g = ∂L/∂a.

    The maximum is subtracted first: e^{z − max z} never overflows.
    """

    dtypes = "float"
    op_name = "softmax"

    saves = ()
    saves_output = True

    def forward(self, z, dim=-1):
        self.dim = dim
        e = np.exp(_shift(z, dim))
        self.a = e / e.sum(axis=dim, keepdims=True)
        return self.a

    def backward(self, grad_out):
        a = self.a
        return a * (grad_out - (grad_out * a).sum(axis=self.dim, keepdims=True))


class LogSoftmaxFunction(Function):
    """aᵢ = zᵢ − log Σⱼ e^{zⱼ};  ∂L/∂zᵢ = gᵢ − softmax(z)ᵢ Σⱼ gⱼ."""

    dtypes = "float"
    op_name = "log_softmax"

    saves = ()
    saves_output = True

    def forward(self, z, dim=-1):
        self.dim = dim
        self.a = _log_softmax(z, dim)
        return self.a

    def backward(self, grad_out):
        return grad_out - np.exp(self.a) * grad_out.sum(axis=self.dim, keepdims=True)
