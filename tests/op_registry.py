"""The op registry: one description per differentiable op, driving tests/test_ops.py.

In the manner of PyTorch's OpInfo: each ``OpInfo`` names a glassnet callable and
the matching PyTorch callable, float64 sample inputs on several shapes
(broadcasting, size-1 dimensions, 0-d), tolerances, the points the samples stay
away from (kinks and ties, where a gradient is a convention rather than a
derivative), and bad inputs with the error type and message each must raise.

Sample arguments are NumPy arrays (turned into tensors on both sides; float
arrays require grad unless wrapped in ``C``), lists of arrays (for cat/stack),
or plain Python values passed through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import glassnet as gn
import glassnet.functional as F


class _NoTorch:
    """Stands in for ``torch`` where it is not installed, so that the registry imports.

    It is falsy (``torch.exp if torch else None`` reads None), and any attribute
    of it, or call, is itself: the tables take ``torch.matmul`` or
    ``torch.from_numpy(index)`` at import time, but only the oracle tests use
    them, and those skip without torch (the ``torch`` fixture in conftest.py;
    never in CI).
    """

    def __bool__(self):
        return False

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self


try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # pragma: no cover - the oracle tests using the registry skip without torch
    torch = TF = _NoTorch()


class C:
    """A float array that is a constant (does not require grad)."""

    def __init__(self, array):
        self.array = np.asarray(array)


@dataclass
class Sample:
    args: tuple
    kwargs: dict = field(default_factory=dict)
    name: str = ""


@dataclass
class BadInput:
    args: tuple
    kwargs: dict
    error: type
    match: str


@dataclass
class OpInfo:
    name: str
    op: Callable  # glassnet: op(*tensors, **kwargs)
    ref: Callable  # torch: ref(*tensors, **kwargs)
    samples: Callable  # samples(rng) -> list[Sample]
    atol: float = 1e-10
    rtol: float = 1e-7
    differentiable: bool = True
    gradcheck: bool = True
    float32: bool = True
    avoid: str = ""  # the points the samples keep away from, and why
    bad: list = field(default_factory=list)


# ---------------------------------------------------------------------------
# sample helpers
# ---------------------------------------------------------------------------
def rn(rng, *shape):
    return np.asarray(rng.standard_normal(shape))


def away(x, points=(0.0,), margin=0.1):
    """Push every element at least ``margin`` away from each point (kinks)."""
    x = np.array(x, dtype=np.float64)
    for p in points:
        close = np.abs(x - p) < margin
        x = np.where(close, p + np.where(x >= p, margin, -margin) * 1.5, x)
    return x


def distinct(rng, *shape):
    """Values without ties (gaps ≥ 0.1), so max/min/sort have one winner."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 - n * 0.15 + 0.05).reshape(shape)


def positive(rng, *shape, low=0.5, high=2.0):
    return np.asarray(rng.uniform(low, high, shape))


def cpositive(rng, *shape):
    return C(positive(rng, *shape))


def probs(rng, *shape):
    return np.asarray(rng.uniform(0.05, 0.95, shape))


# the broadcasting pairs every binary elementwise op is tried on
BINARY_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((2, 1, 3), (4, 1)),
    ((), (3,)),
    ((2, 3), ()),
    ((1, 3), (2, 1)),
    ((), ()),
]


def binary_samples(make_x=rn, make_y=rn):
    def samples(rng):
        return [Sample((make_x(rng, *sx), make_y(rng, *sy)), name=f"{sx}x{sy}")
                for sx, sy in BINARY_SHAPES]
    return samples


UNARY_SHAPES = [(3, 4), (5,), (), (2, 1, 3)]


def unary_samples(make=rn, **kwargs):
    def samples(rng):
        return [Sample((make(rng, *s),), dict(kwargs), name=str(s)) for s in UNARY_SHAPES]
    return samples


def shape_err(op_args, error, match, **kwargs):
    return BadInput(op_args, kwargs, error, match)


OPS: list[OpInfo] = []


def register(*infos):
    OPS.extend(infos)


# ---------------------------------------------------------------------------
# arithmetic
# ---------------------------------------------------------------------------
_BAD_BROADCAST = [BadInput((np.ones((3, 4)), np.ones((2, 4))), {}, ValueError,
                           r"shapes \(3, 4\) and \(2, 4\) cannot be broadcast")]

register(
    OpInfo("add", lambda x, y: x + y, lambda x, y: x + y, binary_samples(), bad=_BAD_BROADCAST),
    OpInfo("sub", lambda x, y: x - y, lambda x, y: x - y, binary_samples(), bad=_BAD_BROADCAST),
    OpInfo("mul", lambda x, y: x * y, lambda x, y: x * y, binary_samples(), bad=_BAD_BROADCAST),
    OpInfo("div", lambda x, y: x / y, lambda x, y: x / y,
           binary_samples(make_y=lambda r, *s: away(rn(r, *s), margin=0.4)),
           avoid="y near 0", bad=_BAD_BROADCAST),
    OpInfo("add_scalar", lambda x: x + 2.5, lambda x: x + 2.5, unary_samples()),
    OpInfo("radd_scalar", lambda x: 2.5 + x, lambda x: 2.5 + x, unary_samples()),
    OpInfo("rsub_scalar", lambda x: 2.5 - x, lambda x: 2.5 - x, unary_samples()),
    OpInfo("sub_scalar", lambda x: x - 1, lambda x: x - 1, unary_samples()),
    OpInfo("rmul_scalar", lambda x: 3 * x, lambda x: 3 * x, unary_samples()),
    OpInfo("div_scalar", lambda x: x / 4.0, lambda x: x / 4.0, unary_samples()),
    OpInfo("rdiv_scalar", lambda x: 2.0 / x, lambda x: 2.0 / x,
           unary_samples(lambda r, *s: away(rn(r, *s), margin=0.4)), avoid="x near 0"),
    # a float64 NumPy operand is a float64 tensor: float32 inputs give float64 (float32=False)
    OpInfo("add_ndarray", lambda x: x + np.arange(4.0), lambda x: x + torch.arange(4.0),
           lambda rng: [Sample((rn(rng, 3, 4),))], float32=False),
    OpInfo("radd_ndarray", lambda x: np.arange(4.0) + x, lambda x: torch.arange(4.0) + x,
           lambda rng: [Sample((rn(rng, 3, 4),))], float32=False),
    OpInfo("rmul_ndarray", lambda x: np.arange(4.0) * x, lambda x: torch.arange(4.0) * x,
           lambda rng: [Sample((rn(rng, 3, 4),))], float32=False),
    OpInfo("mul_int_tensor", lambda x, i: x * i, lambda x, i: x * i,
           lambda rng: [Sample((rn(rng, 3, 4), np.arange(4)))]),
    OpInfo("rsub_int_tensor", lambda x, i: i - x, lambda x, i: i - x,
           lambda rng: [Sample((rn(rng, 3, 4), np.arange(4)))]),
    OpInfo("div_by_int_tensor", lambda x, i: x / i, lambda x, i: x / i,
           lambda rng: [Sample((rn(rng, 3, 4), np.arange(1, 5)))]),
    OpInfo("neg", lambda x: -x, lambda x: -x, unary_samples()),
)

for p in (2, 3, -1, 0.5, 1.5, 0, 1):
    make = (lambda r, *s: positive(r, *s)) if not float(p).is_integer() or p < 0 else rn
    register(OpInfo(f"pow_scalar_{p}", lambda x, p=p: x**p, lambda x, p=p: x**p,
                    unary_samples(make), avoid="x ≤ 0 for fractional or negative p"))
register(
    OpInfo("pow_tensor", lambda x, y: x**y, lambda x, y: x**y,
           binary_samples(make_x=positive), avoid="x ≤ 0 (ln x undefined)"),
    OpInfo("pow_tensor_int_exponent", lambda x, y: x**y, lambda x, y: x**y,
           lambda rng: [Sample((rn(rng, 3, 4), np.array([2, 3, 1, 0])))],
           avoid="only x requires grad"),
    OpInfo("rpow_scalar", lambda x: 2.0**x, lambda x: 2.0**x, unary_samples()),
    OpInfo("pow_method", lambda x, y: x.pow(y), lambda x, y: x.pow(y),
           binary_samples(make_x=positive)),
    OpInfo("gn.pow", lambda x: gn.pow(x, 3), lambda x: torch.pow(x, 3), unary_samples()),
)

# ---------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------
MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 4)),
    ((2, 2, 3), (3,)), ((1, 3), (3, 1)),
]
register(OpInfo(
    "matmul", lambda x, y: x @ y, lambda x, y: x @ y,
    lambda rng: [Sample((rn(rng, *a), rn(rng, *b)), name=f"{a}@{b}") for a, b in MATMUL_SHAPES],
    bad=[BadInput((np.ones((2, 3)), np.ones((4, 5))), {}, ValueError,
                  r"matmul: shapes \(2, 3\) and \(4, 5\) do not fit.*3 columns.*4 rows"),
         BadInput((np.ones((2, 2, 3)), np.ones((3, 3, 4))), {}, ValueError,
                  r"matmul: batch dimensions of \(2, 2, 3\) and \(3, 3, 4\)"),
         BadInput((np.ones(()), np.ones((3,))), {}, ValueError, r"matmul: both arguments need")]),
    OpInfo("rmatmul_ndarray", lambda y: np.ones((2, 3)) @ y, lambda y: torch.ones(2, 3) @ y,
           lambda rng: [Sample((rn(rng, 3, 4),))], float32=False),
    OpInfo("matmul_fn", gn.matmul, torch.matmul,
           lambda rng: [Sample((rn(rng, 4, 2, 3), rn(rng, 3, 2)))]),
    OpInfo("linear", F.linear, lambda x, w, b=None: TF.linear(x, w, b),
           lambda rng: [Sample((rn(rng, 4, 3), rn(rng, 2, 3), rn(rng, 2)), name="bias"),
                        Sample((rn(rng, 3), rn(rng, 2, 3), rn(rng, 2)), name="1-D input"),
                        Sample((rn(rng, 2, 5, 3), rn(rng, 2, 3)), name="3-D, no bias")],
           bad=[BadInput((np.ones((4, 5)), np.ones((2, 3))), {}, ValueError,
                         r"linear: input has shape \(4, 5\) but the layer expects 3 input features"),
                BadInput((np.ones((4, 3)), np.ones((3,))), {}, ValueError,
                         r"linear: weight must be 2-D"),
                BadInput((np.ones((4, 3)), np.ones((2, 3)), np.ones(3)), {}, ValueError,
                         r"linear: bias must have shape \(2,\)")]),
)

# ---------------------------------------------------------------------------
# elementwise math
# ---------------------------------------------------------------------------
register(
    OpInfo("exp", lambda x: x.exp(), torch.exp if torch else None, unary_samples()),
    OpInfo("gn.exp", gn.exp, torch.exp if torch else None, unary_samples()),
    OpInfo("log", lambda x: x.log(), torch.log if torch else None, unary_samples(positive),
           avoid="x ≤ 0"),
    OpInfo("gn.log", gn.log, torch.log if torch else None, unary_samples(positive)),
    OpInfo("sqrt", lambda x: x.sqrt(), torch.sqrt if torch else None, unary_samples(positive),
           avoid="x ≤ 0"),
    OpInfo("gn.sqrt", gn.sqrt, torch.sqrt if torch else None, unary_samples(positive)),
    OpInfo("abs", lambda x: x.abs(), torch.abs if torch else None,
           unary_samples(lambda r, *s: away(rn(r, *s))), avoid="x = 0 (kink)"),
    OpInfo("abs_builtin", lambda x: abs(x), lambda x: abs(x), unary_samples(lambda r, *s: away(rn(r, *s)))),
    OpInfo("gn.abs", gn.abs, torch.abs if torch else None, unary_samples(lambda r, *s: away(rn(r, *s)))),
    OpInfo("sin", lambda x: x.sin(), torch.sin if torch else None, unary_samples()),
    OpInfo("gn.sin", gn.sin, torch.sin if torch else None, unary_samples()),
    OpInfo("cos", lambda x: x.cos(), torch.cos if torch else None, unary_samples()),
    OpInfo("gn.cos", gn.cos, torch.cos if torch else None, unary_samples()),
    OpInfo("clamp", lambda x, **k: x.clamp(**k), lambda x, **k: x.clamp(**k),
           lambda rng: [Sample((away(rn(rng, 3, 4), (-0.5, 0.5)),), {"min": -0.5, "max": 0.5}),
                        Sample((away(rn(rng, 5), (0.2,)),), {"min": 0.2}),
                        Sample((away(rn(rng, 2, 1, 3), (0.1,)),), {"max": 0.1}),
                        Sample((np.array(0.7),), {"min": -0.5, "max": 0.5})],
           avoid="x at min/max (see test_clamp_edges)",
           bad=[BadInput((np.ones(3),), {}, ValueError, r"clamp: at least one of min and max")]),
    OpInfo("clamp_tensor_bounds", lambda x, lo, hi: x.clamp(lo, hi), lambda x, lo, hi: x.clamp(lo, hi),
           lambda rng: [Sample((rn(rng, 3, 4), rn(rng, 4) - 1.0, rn(rng, 3, 1) + 1.0)),
                        Sample((rn(rng, 3, 4), rn(rng, 3, 4) - 0.5, rn(rng, 3, 4) + 0.5))],
           avoid="x equal to a bound"),
    OpInfo("clamp_tensor_min", lambda x, lo: x.clamp(min=lo), lambda x, lo: x.clamp(min=lo),
           lambda rng: [Sample((rn(rng, 3, 4), rn(rng, 4)))]),
    OpInfo("clamp_tensor_max", lambda x, hi: gn.clamp(x, max=hi), lambda x, hi: torch.clamp(x, max=hi),
           lambda rng: [Sample((rn(rng, 3, 4), rn(rng, 3, 1)))]),
    OpInfo("gn.clamp", lambda x: gn.clamp(x, -0.3, 0.4), lambda x: torch.clamp(x, -0.3, 0.4),
           unary_samples(lambda r, *s: away(rn(r, *s), (-0.3, 0.4), 0.05))),
    OpInfo("where", lambda c, x, y: gn.where(c, x, y), lambda c, x, y: torch.where(c, x, y),
           lambda rng: [Sample((rng.random((3, 4)) > 0.5, rn(rng, 3, 4), rn(rng, 3, 4))),
                        Sample((rng.random((3, 4)) > 0.5, rn(rng, 4), rn(rng, 3, 1)), name="bcast"),
                        Sample((rng.random((2, 1)) > 0.5, rn(rng, 2, 3), rn(rng))),
                        Sample((np.array(True), rn(rng, 3), rn(rng, 3)))],
           bad=[BadInput((np.ones((3, 4), bool), np.ones((2, 4)), np.ones((3, 4))), {}, ValueError,
                         r"where: condition \(3, 4\), x \(2, 4\) and y \(3, 4\) cannot be broadcast")]),
    OpInfo("where_scalar", lambda c, x: gn.where(c, x, 0.0), lambda c, x: torch.where(c, x, 0.0),
           lambda rng: [Sample((rng.random((3, 4)) > 0.5, rn(rng, 3, 4)))]),
    OpInfo("maximum", gn.maximum, torch.maximum if torch else None,
           binary_samples(make_y=lambda r, *s: rn(r, *s) + 0.05), avoid="x = y (see test_maximum_ties)",
           bad=[BadInput((np.ones((3, 4)), np.ones((2, 4))), {}, ValueError,
                         r"maximum: shapes \(3, 4\) and \(2, 4\) cannot be broadcast")]),
    OpInfo("minimum", gn.minimum, torch.minimum if torch else None,
           binary_samples(make_y=lambda r, *s: rn(r, *s) + 0.05), avoid="x = y"),
    OpInfo("max_binary_method", lambda x, y: x.max(y), lambda x, y: torch.max(x, y),
           binary_samples(make_y=lambda r, *s: rn(r, *s) + 0.05)),
)

# comparisons: values only, no graph
for _name, _f in [("eq", lambda x, y: x == y), ("ne", lambda x, y: x != y), ("lt", lambda x, y: x < y),
                  ("le", lambda x, y: x <= y), ("gt", lambda x, y: x > y), ("ge", lambda x, y: x >= y)]:
    register(OpInfo(_name, _f, _f, lambda rng: [
        Sample((np.round(rn(rng, 3, 4)), np.round(rn(rng, 4))), name="bcast"),
        Sample((np.round(rn(rng, 3)), np.array(0.0)))], differentiable=False))
register(OpInfo("lt_scalar", lambda x: x < 0.5, lambda x: x < 0.5, unary_samples(), differentiable=False),
         OpInfo("eq_scalar", lambda x: x == 1, lambda x: x == 1,
                lambda rng: [Sample((np.array([1.0, 2.0, 1.0]),))], differentiable=False))


# ---------------------------------------------------------------------------
# indexing (the index is a closure constant; the same index object is given to
# both libraries, except boolean masks and integer arrays, converted for torch)
# ---------------------------------------------------------------------------
def _torch_index(index):
    if isinstance(index, tuple):
        return tuple(_torch_index(i) for i in index)
    if isinstance(index, np.ndarray):
        return torch.from_numpy(index)
    return index


def _gn_index(index):
    if isinstance(index, tuple):
        return tuple(_gn_index(i) for i in index)
    if isinstance(index, np.ndarray) and index.dtype != np.bool_:
        return gn.tensor(index)
    return index


_MASK = np.array([[True, False, True, False], [False, False, True, True], [True, True, True, False]])
INDEXES = [
    ("int", (3, 4), 1),
    ("negative", (3, 4), -1),
    ("slice", (3, 4), slice(1, 3)),
    ("step", (6, 4), slice(None, None, 2)),
    ("negative_start_slice", (6, 4), (slice(-4, -1, 2), slice(-3, None))),
    ("tuple", (3, 4, 2), (1, slice(None), -1)),
    ("none", (3, 4), (None, 1)),
    ("none_middle", (3, 4), (slice(None), None, slice(1, 3))),
    ("ellipsis", (2, 3, 4), (Ellipsis, 2)),
    ("int_list_repeats", (4, 3), [0, 2, 0, 0]),
    ("int_array_repeats", (4, 3), np.array([3, 1, 3])),
    ("int_array_negative", (4, 3), np.array([-1, 0, -1])),
    ("int_tensor", (4, 3), ("tensor", np.array([1, 1, 2]))),
    ("two_arrays", (4, 3), (np.array([0, 2, 0]), np.array([1, 1, 1]))),
    ("array_and_slice", (4, 3, 2), (np.array([0, 3, 0]), slice(None), 1)),
    ("bool_mask", (3, 4), _MASK),
    ("bool_mask_rows", (3, 4), np.array([True, False, True])),
    ("bool_tensor_mask", (3, 4), ("tensor", _MASK)),
    ("scalar_0d_ellipsis", (), ()),
    ("bool_rows_and_slice", (3, 4), (np.array([True, False, True]), slice(1, 3))),
    ("ellipsis_int_array", (2, 3, 4), (Ellipsis, np.array([0, 0, 3]))),
    ("none_and_array", (4, 3), (None, np.array([1, 1]))),
    ("slice_then_array", (3, 4), (slice(0, 2), np.array([3, 3, 0]))),
    ("arrays_broadcast", (4, 3), (np.array([[0], [2]]), np.array([1, 1, 2]))),
    ("2d_int_array", (5,), np.array([[0, 1], [1, 4]])),
]


def _index_info(name, shape, index):
    as_tensor = isinstance(index, tuple) and len(index) == 2 and isinstance(index[0], str)
    if as_tensor:
        idx = index[1]
        gi = gn.tensor(idx)
    else:
        gi = index
    ti = _torch_index(index[1] if as_tensor else index)
    if isinstance(ti, list):
        ti = torch.tensor(ti) if torch else ti
    return OpInfo(f"index_{name}", lambda x: x[gi], lambda x: x[ti],
                  lambda rng: [Sample((distinct(rng, *shape) * 0.1,))], avoid="")


for _n, _s, _i in INDEXES:
    register(_index_info(_n, _s, _i))
register(OpInfo("index_out_of_range", lambda x: x[5], lambda x: x[5],
                lambda rng: [], bad=[BadInput((np.ones((3, 4)),), {}, IndexError,
                                              r"index 5 is invalid for a tensor of shape \(3, 4\)")]))

# ---------------------------------------------------------------------------
# movement
# ---------------------------------------------------------------------------
register(
    OpInfo("reshape", lambda x, *s: x.reshape(*s), lambda x, *s: x.reshape(*s),
           lambda rng: [Sample((rn(rng, 3, 4), 2, 6)), Sample((rn(rng, 3, 4), (-1,))),
                        Sample((rn(rng, 3, 4), (4, -1, 1))), Sample((rn(rng), 1, 1)),
                        Sample((rn(rng, 1), ())), Sample((rn(rng, 3, 4), 3, 4))],
           bad=[BadInput((np.ones((3, 4)), 5, 2), {}, ValueError,
                         r"reshape: cannot reshape a tensor of shape \(3, 4\) \(12 elements\) into shape \(5, 2\)")]),
    OpInfo("view", lambda x: x.view(6, 2), lambda x: x.view(6, 2), lambda rng: [Sample((rn(rng, 3, 4),))]),
    OpInfo("gn.reshape", lambda x: gn.reshape(x, (2, -1)), lambda x: torch.reshape(x, (2, -1)),
           lambda rng: [Sample((rn(rng, 3, 4),))]),
    OpInfo("transpose", lambda x, a, b: x.transpose(a, b), lambda x, a, b: x.transpose(a, b),
           lambda rng: [Sample((rn(rng, 3, 4), 0, 1)), Sample((rn(rng, 2, 3, 4), -1, 0)),
                        Sample((rn(rng, 2, 3, 4), 1, 1))],
           bad=[BadInput((np.ones((3, 4)), 0, 2), {}, IndexError,
                         r"dim.*out of range for a tensor with 2 dimension")]),
    OpInfo("T", lambda x: x.T, lambda x: x.permute(*range(x.ndim - 1, -1, -1)),
           lambda rng: [Sample((rn(rng, 3, 4),)), Sample((rn(rng, 2, 3, 4),)), Sample((rn(rng, 3),))]),
    OpInfo("mT", lambda x: x.mT, lambda x: x.mT, lambda rng: [Sample((rn(rng, 2, 3, 4),))]),
    OpInfo("t", lambda x: x.t(), lambda x: x.t(), lambda rng: [Sample((rn(rng, 3, 4),)), Sample((rn(rng, 3),))]),
    OpInfo("permute", lambda x, *d: x.permute(*d), lambda x, *d: x.permute(*d),
           lambda rng: [Sample((rn(rng, 2, 3, 4), 2, 0, 1)), Sample((rn(rng, 2, 3, 4), (1, -1, 0)))],
           bad=[BadInput((np.ones((2, 3, 4)), 0, 0, 1), {}, ValueError,
                         r"permute: dims .* are not a permutation of the 3 dimensions")]),
    OpInfo("squeeze", lambda x, *d: x.squeeze(*d), lambda x, *d: x.squeeze(*d),
           lambda rng: [Sample((rn(rng, 3, 1, 4, 1),)), Sample((rn(rng, 3, 1, 4, 1), 1)),
                        Sample((rn(rng, 3, 1, 4, 1), -1)), Sample((rn(rng, 3, 1, 4), 0)),
                        Sample((rn(rng, 1, 1, 2), (0, 1))), Sample((rn(rng, 1),))]),
    OpInfo("unsqueeze", lambda x, d: x.unsqueeze(d), lambda x, d: x.unsqueeze(d),
           lambda rng: [Sample((rn(rng, 3, 4), 0)), Sample((rn(rng, 3, 4), -1)),
                        Sample((rn(rng, 3, 4), 1)), Sample((rn(rng), 0))],
           bad=[BadInput((np.ones((3, 4)), 3), {}, IndexError, r"out of range")]),
    OpInfo("flatten", lambda x, *a: x.flatten(*a), lambda x, *a: x.flatten(*a),
           lambda rng: [Sample((rn(rng, 2, 3, 4),)), Sample((rn(rng, 2, 3, 4), 1)),
                        Sample((rn(rng, 2, 3, 4, 2), 1, 2)), Sample((rn(rng),))]),
    OpInfo("unflatten", lambda x, d, s: x.unflatten(d, s), lambda x, d, s: x.unflatten(d, s),
           lambda rng: [Sample((rn(rng, 2, 12), 1, (3, 4))), Sample((rn(rng, 6, 2), 0, (-1, 2)))]),
    OpInfo("expand", lambda x, *s: x.expand(*s), lambda x, *s: x.expand(*s),
           lambda rng: [Sample((rn(rng, 3, 1), 3, 4)), Sample((rn(rng, 4), 2, 3, 4)),
                        Sample((rn(rng, 1, 4), -1, 4)), Sample((rn(rng), 2, 2)),
                        Sample((rn(rng, 1, 3), (2, 5, -1)))],
           bad=[BadInput((np.ones((3, 2)), 3, 4), {}, ValueError,
                         r"expand: cannot expand shape \(3, 2\) to \(3, 4\)")]),
    OpInfo("expand_as", lambda x, y: x.expand_as(y), lambda x, y: x.expand_as(y),
           lambda rng: [Sample((rn(rng, 3, 1), C(rn(rng, 3, 4))))]),
    OpInfo("cat", lambda xs, dim=0: gn.cat(xs, dim), lambda xs, dim=0: torch.cat(xs, dim),
           lambda rng: [Sample(([rn(rng, 2, 3), rn(rng, 1, 3), rn(rng, 4, 3)],)),
                        Sample(([rn(rng, 2, 3), rn(rng, 2, 1)], -1)),
                        Sample(([rn(rng, 3)],)),
                        Sample(([rn(rng, 2, 3, 2), rn(rng, 2, 1, 2)], 1))],
           bad=[BadInput(([np.ones((2, 3)), np.ones((2, 4))],), {}, ValueError,
                         r"cat: tensor 1 has shape \(2, 4\) but tensor 0 has shape \(2, 3\)"),
                BadInput(([np.ones((2, 3)), np.ones((2, 3, 1))],), {}, ValueError,
                         r"cat: tensor 1 has shape \(2, 3, 1\)"),
                BadInput(([],), {}, ValueError, r"cat: expected a non-empty sequence"),
                BadInput(([np.ones((2, 3))], 2), {}, IndexError, r"out of range")]),
    OpInfo("stack", lambda xs, dim=0: gn.stack(xs, dim), lambda xs, dim=0: torch.stack(xs, dim),
           lambda rng: [Sample(([rn(rng, 2, 3), rn(rng, 2, 3), rn(rng, 2, 3)],)),
                        Sample(([rn(rng, 2, 3), rn(rng, 2, 3)], -1)),
                        Sample(([rn(rng), rn(rng)],)),
                        Sample(([rn(rng, 2, 3), rn(rng, 2, 3)], 1))],
           bad=[BadInput(([np.ones((2, 3)), np.ones((3, 2))],), {}, ValueError,
                         r"stack: tensor 1 has shape \(3, 2\) but tensor 0 has shape \(2, 3\)")]),
    OpInfo("split", lambda x, s, dim=0: gn.split(x, s, dim), lambda x, s, dim=0: torch.split(x, s, dim),
           lambda rng: [Sample((rn(rng, 5, 2), 2)), Sample((rn(rng, 5, 2), [1, 4])),
                        Sample((rn(rng, 3, 6), 3, 1)), Sample((rn(rng, 3, 6), [2, 0, 4], -1)),
                        Sample((rn(rng, 2, 3), 5))],
           bad=[BadInput((np.ones((5, 2)), [1, 2]), {}, ValueError,
                         r"split: sizes \[1, 2\] add up to 3 but dimension 0 has size 5")]),
    OpInfo("split_method", lambda x: x.split(2, 1), lambda x: x.split(2, 1),
           lambda rng: [Sample((rn(rng, 2, 5),))]),
    OpInfo("chunk", lambda x, c, dim=0: gn.chunk(x, c, dim), lambda x, c, dim=0: torch.chunk(x, c, dim),
           lambda rng: [Sample((rn(rng, 6, 2), 3)), Sample((rn(rng, 5, 2), 2)),
                        Sample((rn(rng, 2, 7), 3, 1)), Sample((rn(rng, 2, 2), 4, 1))],
           bad=[BadInput((np.ones((5, 2)), 0), {}, ValueError, r"chunk: chunks must be positive")]),
    OpInfo("pad", lambda x, p, **k: gn.pad(x, p, **k), lambda x, p, **k: TF.pad(x, p, **k),
           lambda rng: [Sample((rn(rng, 2, 3), (1, 2))), Sample((rn(rng, 2, 3), (1, 0, 0, 2))),
                        Sample((rn(rng, 2, 3, 2), (1, 1, 1, 1), ), {"value": 0.5}),
                        Sample((rn(rng, 3), (0, 0)))],
           bad=[BadInput((np.ones((2, 3)), (1, 2, 3)), {}, ValueError, r"pad: expected an even number"),
                BadInput((np.ones((2, 3)), (1, 1)), {"mode": "reflekt"}, ValueError,
                         r"pad: mode 'reflekt' is not supported")]),
)

# more of PyTorch's methods: composites and small primitives
register(
    OpInfo("neg_method", lambda x: x.neg(), lambda x: x.neg(), unary_samples()),
    OpInfo("square", lambda x: x.square(), lambda x: x.square(), unary_samples()),
    OpInfo("reciprocal", lambda x: x.reciprocal(), lambda x: x.reciprocal(),
           unary_samples(lambda r, *s: away(rn(r, *s), margin=0.4)), avoid="x near 0"),
    OpInfo("rsqrt", lambda x: x.rsqrt(), lambda x: x.rsqrt(), unary_samples(positive)),
    OpInfo("log1p", lambda x: x.log1p(), lambda x: x.log1p(),
           unary_samples(lambda r, *s: positive(r, *s, low=-0.5, high=2.0)), avoid="x ≤ −1"),
    OpInfo("gn.log1p_tiny", lambda x: gn.log1p(x * 1e-12), lambda x: torch.log1p(x * 1e-12), unary_samples(),
           gradcheck=False),
    OpInfo("expm1", lambda x: x.expm1(), lambda x: x.expm1(), unary_samples()),
    OpInfo("sign", lambda x: x.sign(), lambda x: x.sign(), unary_samples(lambda r, *s: np.round(rn(r, *s))),
           differentiable=False),
    OpInfo("cumsum", lambda x, d: x.cumsum(d), lambda x, d: x.cumsum(d),
           lambda rng: [Sample((rn(rng, 3, 4), 0)), Sample((rn(rng, 3, 4), -1)), Sample((rn(rng, 5), 0)),
                        Sample((rn(rng, 2, 3, 4), 1)), Sample((rn(rng), 0))],
           bad=[BadInput((np.ones((3, 4)), 2), {}, IndexError, r"dim=2 is out of range")]),
    OpInfo("flip", lambda x, *d: x.flip(*d), lambda x, *d: x.flip(*d),
           lambda rng: [Sample((rn(rng, 3, 4), 0)), Sample((rn(rng, 3, 4), 0, 1)),
                        Sample((rn(rng, 2, 3, 4), (-1, 0)))]),
    OpInfo("repeat", lambda x, *r: x.repeat(*r), lambda x, *r: x.repeat(*r),
           lambda rng: [Sample((rn(rng, 2, 3), 2, 1)), Sample((rn(rng, 3), 2, 2)),
                        Sample((rn(rng, 2, 1, 3), (1, 2, 3))), Sample((rn(rng), 3)), Sample((rn(rng, 2), 1, 1, 2))],
           bad=[BadInput((np.ones((2, 3)), 2), {}, ValueError,
                         r"repeat: expected at least 2 non-negative sizes \(one per dimension of shape \(2, 3\)\)")]),
    OpInfo("gather", lambda x, d, i: x.gather(d, i), lambda x, d, i: x.gather(d, i),
           lambda rng: [Sample((rn(rng, 3, 4), 1, np.array([[0, 0], [3, 1], [2, 2]]))),
                        Sample((rn(rng, 3, 4), 0, np.array([[2, 0, 1, 1], [0, 0, 0, 2]]))),
                        Sample((rn(rng, 3, 4), 1, np.array([[3, 3], [1, 0]])), name="smaller index"),
                        Sample((rn(rng, 2, 3, 4), -1, rng.integers(0, 4, (2, 3, 5))))],
           bad=[BadInput((np.ones((3, 4)), 1, np.array([[4]])), {}, IndexError,
                         r"gather: index values must be in \[0, 3\] for dimension 1"),
                BadInput((np.ones((3, 4)), 1, np.array([1, 2])), {}, ValueError,
                         r"gather: index of shape \(2,\) does not fit input of shape \(3, 4\)"),
                BadInput((np.ones((3, 4)), 1, np.array([[0.5]])), {}, TypeError, r"gather: index must hold integers")]),
    OpInfo("masked_fill", lambda x, m, v: x.masked_fill(m, v), lambda x, m, v: x.masked_fill(m, v),
           lambda rng: [Sample((rn(rng, 3, 4), rng.random((3, 4)) > 0.5, 0.5)),
                        Sample((rn(rng, 3, 4), np.array([True, False, False, True]), -5.0), name="bcast mask")],
           bad=[BadInput((np.ones((3, 4)), np.ones((3, 4)), 0.0), {}, TypeError,
                         r"masked_fill: mask must be a bool tensor"),
                BadInput((np.ones((3, 4)), np.ones((2, 4), bool), 0.0), {}, ValueError,
                         r"masked_fill: mask of shape \(2, 4\) does not broadcast to the tensor's shape \(3, 4\)")]),
    OpInfo("sort", lambda x, **k: x.sort(**k), lambda x, **k: x.sort(**k),
           lambda rng: [Sample((distinct(rng, 3, 4),)), Sample((distinct(rng, 3, 4),), {"dim": 0, "descending": True}),
                        Sample((distinct(rng, 5),), {"descending": True}), Sample((distinct(rng, 2, 3, 4),), {"dim": 1})],
           avoid="ties (order among equal values is unspecified in PyTorch)"),
    OpInfo("argsort", lambda x, **k: x.argsort(**k), lambda x, **k: x.argsort(**k),
           lambda rng: [Sample((distinct(rng, 3, 4),)), Sample((distinct(rng, 3, 4),), {"dim": 0, "descending": True})],
           differentiable=False),
    OpInfo("topk", lambda x, k, **kw: x.topk(k, **kw), lambda x, k, **kw: x.topk(k, **kw),
           lambda rng: [Sample((distinct(rng, 3, 5), 2)), Sample((distinct(rng, 3, 5), 1), {"dim": 0, "largest": False}),
                        Sample((distinct(rng, 6), 6)), Sample((distinct(rng, 4, 3), 0))],
           bad=[BadInput((np.ones((3, 4)), 5), {}, ValueError, r"topk: k=5 is out of range for dimension 1 of size 4")]),
    OpInfo("norm", lambda x, **k: x.norm(**k), lambda x, **k: x.norm(**k),
           lambda rng: [Sample((rn(rng, 3, 4),)), Sample((rn(rng, 3, 4),), {"dim": 1}),
                        Sample((rn(rng, 3, 4),), {"p": 1, "dim": 0, "keepdim": True}),
                        Sample((away(rn(rng, 3, 4)),), {"p": 3}), Sample((rn(rng, 2, 3, 4),), {"dim": (0, 2)}),
                        Sample((distinct(rng, 3, 4),), {"p": float("inf"), "dim": 1}),
                        Sample((rn(rng, 5),), {"p": "fro"}), Sample((rn(rng),),)],
           avoid="zero vectors (see test_degenerate_reductions_match_torch)",
           bad=[BadInput((np.ones(3),), {"p": -1}, ValueError, r"norm: p must be a positive number")]),
    OpInfo("prod", lambda x, *a, **k: x.prod(*a, **k), lambda x, *a, **k: x.prod(*a, **k),
           lambda rng: [Sample((rn(rng, 3, 4),)), Sample((rn(rng, 3, 4), 1)), Sample((rn(rng, 3, 4), 0), {"keepdim": True}),
                        Sample((rn(rng, 2, 3, 4), -2)), Sample((rn(rng),)), Sample((rn(rng), 0)),
                        Sample((np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.5]]), 1), name="zeros"),
                        Sample((np.array([1.5, 0.0, -2.0]),), name="one zero")]),
    OpInfo("gn.gather/sort/topk", lambda x: gn.gather(x, 1, gn.tensor([[1], [0]])) + gn.sort(x, 1).values[:, :1]
           + gn.topk(x, 1).values, lambda x: torch.gather(x, 1, torch.tensor([[1], [0]])) + torch.sort(x, 1).values[:, :1]
           + torch.topk(x, 1).values, lambda rng: [Sample((distinct(rng, 2, 3),))]),
)

# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------
_RED_SAMPLES = [((3, 4), {}), ((3, 4), {"dim": 0}), ((3, 4), {"dim": -1, "keepdim": True}),
                ((2, 3, 4), {"dim": (0, 2)}), ((2, 3, 4), {"dim": 1}), ((), {}), ((5,), {"dim": 0}),
                ((2, 1, 3), {"dim": (1,), "keepdim": True})]


def _red_samples(make=rn, cases=_RED_SAMPLES):
    def samples(rng):
        return [Sample((make(rng, *s),), dict(k), name=f"{s}{k}") for s, k in cases]
    return samples


_MAXMIN_CASES = [((3, 4), {}), ((3, 4), {"dim": 0}), ((3, 4), {"dim": 1, "keepdim": True}),
                 ((2, 3, 4), {"dim": -2}), ((), {}), ((5,), {"dim": 0}), ((), {"dim": 0})]


def _maxmin(mode):
    def op(x, **k):
        return getattr(x, mode)(**k)
    return op


register(
    OpInfo("sum", lambda x, **k: x.sum(**k), lambda x, **k: x.sum(**k), _red_samples(),
           bad=[BadInput((np.ones((3, 4)),), {"dim": 2}, IndexError,
                         r"dim=2 is out of range for a tensor with 2 dimension\(s\)")]),
    OpInfo("gn.sum", lambda x: gn.sum(x, 1), lambda x: torch.sum(x, 1), lambda rng: [Sample((rn(rng, 3, 4),))]),
    OpInfo("mean", lambda x, **k: x.mean(**k), lambda x, **k: x.mean(**k), _red_samples(),
           bad=[BadInput((np.ones((3, 4)),), {"dim": -3}, IndexError, r"out of range")]),
    OpInfo("max", _maxmin("max"), _maxmin("max"), _red_samples(distinct, _MAXMIN_CASES),
           avoid="ties (see test_max_ties)"),
    OpInfo("min", _maxmin("min"), _maxmin("min"), _red_samples(distinct, _MAXMIN_CASES), avoid="ties"),
    OpInfo("gn.max", lambda x: gn.max(x, 1), lambda x: torch.max(x, 1),
           lambda rng: [Sample((distinct(rng, 3, 4),))]),
    OpInfo("amax", lambda x, **k: x.amax(**k), lambda x, **k: x.amax(**k),
           lambda rng: [Sample((distinct(rng, 3, 4),), {"dim": 1}), Sample((distinct(rng, 3, 4),)),
                        Sample((distinct(rng, 2, 3, 4),), {"dim": (0, 2)}),
                        Sample((distinct(rng, 2, 3),), {"dim": -1, "keepdim": True}),
                        Sample((rn(rng),), {"dim": 0})]),
    OpInfo("amin", lambda x, **k: x.amin(**k), lambda x, **k: x.amin(**k),
           lambda rng: [Sample((distinct(rng, 3, 4),), {"dim": 0, "keepdim": True})]),
    OpInfo("argmax", lambda x, **k: x.argmax(**k), lambda x, **k: x.argmax(**k),
           _red_samples(distinct, [((3, 4), {}), ((3, 4), {"dim": 0}), ((3, 4), {"dim": -1, "keepdim": True}),
                                   ((), {}), ((2, 3, 4), {"dim": 1}), ((), {"dim": 0}),
                                   ((), {"dim": -1, "keepdim": True})]), differentiable=False),
    OpInfo("argmin", lambda x, **k: x.argmin(**k), lambda x, **k: x.argmin(**k),
           _red_samples(distinct, [((3, 4), {}), ((3, 4), {"dim": 1}), ((2, 3, 4), {"dim": 0, "keepdim": True})]),
           differentiable=False),
    OpInfo("gn.argmax", lambda x: gn.argmax(x, 1), lambda x: torch.argmax(x, 1),
           lambda rng: [Sample((distinct(rng, 3, 4),))], differentiable=False),
    OpInfo("var", lambda x, **k: x.var(**k), lambda x, **k: x.var(**k),
           _red_samples(cases=[((3, 4), {}), ((3, 4), {"dim": 0}), ((3, 4), {"dim": 1, "keepdim": True}),
                               ((2, 3, 4), {"dim": (0, 2)}), ((3, 4), {"dim": 1, "correction": 0}),
                               ((3, 4), {"dim": 0, "correction": 2}), ((5,), {"unbiased": False}),
                               ((5,), {"unbiased": True})])),
    OpInfo("std", lambda x, **k: x.std(**k), lambda x, **k: x.std(**k),
           _red_samples(cases=[((3, 4), {}), ((3, 4), {"dim": 0}), ((3, 4), {"dim": 1, "keepdim": True}),
                               ((3, 4), {"dim": 1, "correction": 0}), ((2, 3, 4), {"dim": (1, 2)})])),
    OpInfo("logsumexp", lambda x, **k: x.logsumexp(**k), lambda x, **k: x.logsumexp(**k),
           _red_samples(cases=[((3, 4), {"dim": 1}), ((3, 4), {"dim": 0, "keepdim": True}),
                               ((2, 3, 4), {"dim": (0, 2)}), ((5,), {"dim": 0}), ((), {"dim": 0})])),
    OpInfo("gn.logsumexp", lambda x: gn.logsumexp(x, -1), lambda x: torch.logsumexp(x, -1),
           lambda rng: [Sample((rn(rng, 3, 4) * 300,), name="large")]),
    OpInfo("gn.mean/var/std", lambda x: gn.mean(x, 0) + gn.var(x, 0) + gn.std(x, 0),
           lambda x: torch.mean(x, 0) + torch.var(x, 0) + torch.std(x, 0), lambda rng: [Sample((rn(rng, 3, 4),))]),
)

# ---------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------
_ACT_SHAPES = [(3, 4), (7,), (), (2, 1, 3)]


def _act(name, op, ref, make=rn, kwargs_list=({},), avoid=""):
    def samples(rng):
        return [Sample((make(rng, *s) * 2,), dict(k), name=f"{s}{k}")
                for k in kwargs_list for s in _ACT_SHAPES]
    return OpInfo(name, op, ref, samples, avoid=avoid, atol=1e-9)


_kink0 = lambda r, *s: away(rn(r, *s), (0.0,), 0.05)
ACTIVATIONS = [
    _act("sigmoid", gn.sigmoid, torch.sigmoid if torch else None),
    _act("sigmoid_method", lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    _act("tanh", gn.tanh, torch.tanh if torch else None),
    _act("tanh_method", lambda x: x.tanh(), lambda x: x.tanh()),
    _act("relu", gn.relu, torch.relu if torch else None, _kink0, avoid="z = 0 (see test_activation_kinks)"),
    _act("relu_method", lambda x: x.relu(), lambda x: x.relu(), _kink0),
    _act("leaky_relu", F.leaky_relu, TF.leaky_relu if TF else None, _kink0,
         ({}, {"negative_slope": 0.2}, {"negative_slope": -0.5}), avoid="z = 0"),
    _act("elu", F.elu, TF.elu if TF else None, _kink0, ({}, {"alpha": 0.5}), avoid="z = 0"),
    _act("selu", F.selu, TF.selu if TF else None, _kink0, avoid="z = 0"),
    _act("gelu", F.gelu, TF.gelu if TF else None, kwargs_list=({}, {"approximate": "tanh"},
                                                               {"approximate": "none"})),
    _act("silu", F.silu, TF.silu if TF else None),
    _act("softplus", F.softplus, TF.softplus if TF else None,
         lambda r, *s: away(rn(r, *s) * 6, (10.0, -10.0, 20.0), 0.1),
         ({}, {"beta": 2.0}, {"beta": 0.5, "threshold": 2.0}), avoid="β·z = threshold (switch point)"),
    _act("softsign", F.softsign, TF.softsign if TF else None),
    _act("hardtanh", F.hardtanh, TF.hardtanh if TF else None,
         lambda r, *s: away(rn(r, *s), (-1.0, 1.0, -0.25, 0.25, -0.5, 0.5), 0.05),
         ({}, {"min_val": -0.5, "max_val": 0.25}), avoid="z at min_val/max_val"),
    _act("softmax", lambda x, dim=-1: F.softmax(x, dim), lambda x, dim=-1: torch.softmax(x, dim),
         kwargs_list=({}, {"dim": 0})),
    _act("log_softmax", lambda x, dim=-1: F.log_softmax(x, dim), lambda x, dim=-1: torch.log_softmax(x, dim),
         kwargs_list=({}, {"dim": 0})),
    _act("softmax_method", lambda x: x.softmax(-1), lambda x: x.softmax(-1)),
    _act("logsigmoid", F.logsigmoid, TF.logsigmoid if TF else None),
    _act("relu6", F.relu6, TF.relu6 if TF else None,
         lambda r, *s: away(rn(r, *s) * 2.5, (0.0, 3.0), 0.05), avoid="z = 0 or 6"),
    _act("hardsigmoid", F.hardsigmoid, TF.hardsigmoid if TF else None,
         lambda r, *s: away(rn(r, *s) * 1.5, (-1.5, 1.5), 0.05), avoid="z = ±3"),
    _act("hardswish", F.hardswish, TF.hardswish if TF else None,
         lambda r, *s: away(rn(r, *s) * 1.5, (-1.5, 1.5), 0.05), avoid="z = ±3"),
    _act("mish", F.mish, TF.mish if TF else None),
    _act("softmin", lambda x, dim=-1: F.softmin(x, dim), lambda x, dim=-1: TF.softmin(x, dim),
         kwargs_list=({}, {"dim": 0})),
]
register(*ACTIVATIONS)
register(
    OpInfo("gelu_bad", F.gelu, None, lambda rng: [],
           bad=[BadInput((np.ones(3),), {"approximate": "erf"}, ValueError,
                         r"gelu: approximate must be 'none' or 'tanh', got 'erf'")]),
    OpInfo("hardtanh_bad", F.hardtanh, None, lambda rng: [],
           bad=[BadInput((np.ones(3),), {"min_val": 1.0, "max_val": 0.0}, ValueError,
                         r"hardtanh: min_val \(1.0\) must be less than max_val \(0.0\)")]),
    OpInfo("softmax_bad", F.softmax, None, lambda rng: [],
           bad=[BadInput((np.ones((2, 3)), 2), {}, IndexError, r"dim=2 is out of range")]),
)

# ---------------------------------------------------------------------------
# losses: every (loss, reduction) pair, gradients w.r.t. input and target
# ---------------------------------------------------------------------------
REDUCTIONS = ("mean", "sum", "none")
LOSS_SHAPES = [(4, 3), (5,), (2, 3, 2), ()]


def _pointwise_loss(name, op, ref, make_x=rn, make_y=rn, extra=({},), avoid=""):
    infos = []
    for red in REDUCTIONS:
        def samples(rng, red=red):
            return [Sample((make_x(rng, *s), make_y(rng, *s)), dict(k, reduction=red), name=f"{s}{k}")
                    for k in extra for s in LOSS_SHAPES]
        infos.append(OpInfo(f"{name}_{red}", op, ref, samples, avoid=avoid,
                            bad=[BadInput((np.ones((4, 3)), np.ones((4, 1))), {}, ValueError,
                                          rf"{name}: target has shape \(4, 1\) but input has shape \(4, 3\)"),
                                 BadInput((np.ones(3), np.ones(3)), {"reduction": "avg"}, ValueError,
                                          rf"{name}: reduction must be 'mean', 'sum' or 'none', got 'avg'")]))
    return infos


def _apart(gap):
    """Input values with x − y kept ``gap`` away from 0 and from ±1 (kinks of L1/Huber)."""
    def make(rng, *s):
        return away(rn(rng, *s) * 1.5, (0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0), gap)
    return make


def _zero_target(rng, *s):
    return np.zeros(s)


register(*_pointwise_loss("mse_loss", F.mse_loss, TF.mse_loss if TF else None))
register(*_pointwise_loss("l1_loss", F.l1_loss, TF.l1_loss if TF else None,
                          _apart(0.05), _zero_target, avoid="x = y"))
register(*_pointwise_loss("huber_loss", F.huber_loss, TF.huber_loss if TF else None,
                          _apart(0.05), _zero_target, ({}, {"delta": 0.5}, {"delta": 2.0}),
                          avoid="|x − y| = delta"))
register(*_pointwise_loss("smooth_l1_loss", F.smooth_l1_loss, TF.smooth_l1_loss if TF else None,
                          _apart(0.05), _zero_target, ({}, {"beta": 0.5}, {"beta": 2.0}),
                          avoid="|x − y| = beta"))
# with random targets too (gradient w.r.t. the target)
register(OpInfo("l1_loss_targets", F.l1_loss, TF.l1_loss if TF else None,
                lambda rng: [Sample((away(rn(rng, 4, 3), (0.0,), 0.1) + 1.0, np.full((4, 3), 1.0)))]),
         OpInfo("huber_loss_targets", F.huber_loss, TF.huber_loss if TF else None,
                lambda rng: [Sample((_apart(0.05)(rng, 4, 3) + 0.3, C(np.full((4, 3), 0.3))))]))

register(*_pointwise_loss("binary_cross_entropy", F.binary_cross_entropy,
                          TF.binary_cross_entropy if TF else None, probs, probs))
for red in REDUCTIONS:
    register(
        OpInfo(f"binary_cross_entropy_weight_{red}", F.binary_cross_entropy,
               TF.binary_cross_entropy if TF else None,
               lambda rng, red=red: [
                   Sample((probs(rng, 4, 3), probs(rng, 4, 3)), {"weight": cpositive(rng, 4, 3), "reduction": red}),
                   Sample((probs(rng, 4, 3), probs(rng, 4, 3)), {"weight": cpositive(rng, 3), "reduction": red},
                          name="broadcast weight")]),
        OpInfo(f"bce_with_logits_{red}", F.binary_cross_entropy_with_logits,
               TF.binary_cross_entropy_with_logits if TF else None,
               lambda rng, red=red: [
                   Sample((rn(rng, *s) * 3, probs(rng, *s)), dict(k, reduction=red), name=f"{s}{list(k)}")
                   for s in LOSS_SHAPES
                   for k in ({}, {"weight": cpositive(rng, *s)}, {"pos_weight": cpositive(rng, *s[-1:])},
                             {"weight": cpositive(rng, *s[-1:]), "pos_weight": cpositive(rng, *s[-1:])})]),
    )
register(OpInfo("bce_bad", F.binary_cross_entropy, None, lambda rng: [],
                bad=[BadInput((np.array([0.5, 1.5]), np.array([0.0, 1.0])), {}, ValueError,
                              r"binary_cross_entropy: input must hold probabilities in \[0, 1\]")]))
register(OpInfo("bce_with_logits_bad", F.binary_cross_entropy_with_logits, None, lambda rng: [],
                bad=[BadInput((np.ones((4, 3)), np.ones((4, 3))), {"pos_weight": np.ones(2)}, ValueError,
                              r"binary_cross_entropy_with_logits: pos_weight.*\(2,\)"),
                     BadInput((np.ones((4, 3)), np.ones((4, 3))), {"weight": np.ones((5, 3))}, ValueError,
                              r"binary_cross_entropy_with_logits: weight.*\(5, 3\)")]))


def _targets(rng, n, c, ignore=None, shape=None):
    t = rng.integers(0, c, size=shape if shape is not None else (n,))
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return t


def _ce_samples(red):
    def samples(rng):
        out = [
            Sample((rn(rng, 5, 4), _targets(rng, 5, 4)), {"reduction": red}, name="plain"),
            Sample((rn(rng, 5, 4), _targets(rng, 5, 4)), {"reduction": red, "weight": C(positive(rng, 4))},
                   name="weight"),
            Sample((rn(rng, 5, 4), _targets(rng, 5, 4)), {"reduction": red, "label_smoothing": 0.2},
                   name="smoothing"),
            Sample((rn(rng, 6, 4), _targets(rng, 6, 4, ignore=-100)), {"reduction": red}, name="ignore"),
            Sample((rn(rng, 6, 4), _targets(rng, 6, 4, ignore=2)), {"reduction": red, "ignore_index": 2},
                   name="ignore_index=2"),
            Sample((rn(rng, 6, 4), _targets(rng, 6, 4, ignore=-1)),
                   {"reduction": red, "ignore_index": -1, "weight": C(positive(rng, 4)), "label_smoothing": 0.3},
                   name="weight+smoothing+ignore"),
            Sample((rn(rng, 5, 4), C(softmax_rows(rng, 5, 4))), {"reduction": red}, name="probs"),
            Sample((rn(rng, 5, 4), softmax_rows(rng, 5, 4)), {"reduction": red}, name="probs, target grad"),
            Sample((rn(rng, 5, 4), softmax_rows(rng, 5, 4)),
                   {"reduction": red, "weight": C(positive(rng, 4)), "label_smoothing": 0.1}, name="probs+w+ls"),
            Sample((rn(rng, 2, 4, 3), _targets(rng, 2, 4, shape=(2, 3))), {"reduction": red}, name="(N,C,d1)"),
            Sample((rn(rng, 2, 4, 3, 2), _targets(rng, 2, 4, shape=(2, 3, 2), ignore=-100)),
                   {"reduction": red, "weight": C(positive(rng, 4)), "label_smoothing": 0.1}, name="(N,C,d1,d2)"),
            Sample((rn(rng, 2, 4, 3), C(np.moveaxis(softmax_rows(rng, 2, 3, 4), -1, 1))), {"reduction": red},
                   name="(N,C,d1) probs"),
            Sample((rn(rng, 4), np.array(2)), {"reduction": red}, name="(C,)"),
            Sample((rn(rng, 4), softmax_rows(rng, 4)), {"reduction": red, "label_smoothing": 0.1},
                   name="(C,) probs"),
            Sample((rn(rng, 4), np.array(2)), {"reduction": red, "weight": C(positive(rng, 4)),
                                                   "label_smoothing": 0.25}, name="(C,) w+ls"),
            Sample((rn(rng, 5, 4) * 500, _targets(rng, 5, 4)), {"reduction": red}, name="large logits"),
        ]
        return out
    return samples


def softmax_rows(rng, *shape):
    e = np.exp(rn(rng, *shape))
    return e / e.sum(-1, keepdims=True)


def _nll_samples(red):
    def samples(rng):
        return [
            Sample((rn(rng, 5, 4), _targets(rng, 5, 4)), {"reduction": red}),
            Sample((rn(rng, 6, 4), _targets(rng, 6, 4, ignore=-100)),
                   {"reduction": red, "weight": C(positive(rng, 4))}, name="weight+ignore"),
            Sample((rn(rng, 2, 4, 3), _targets(rng, 2, 4, shape=(2, 3))), {"reduction": red}, name="(N,C,d1)"),
            Sample((rn(rng, 4), np.array(1)), {"reduction": red}, name="(C,)"),
        ]
    return samples


_CE_BAD = [
    BadInput((np.ones((5, 4)), np.array([0, 1, 2, 3, 4])), {}, IndexError,
             r"cross_entropy: target contains class index 4 but the input has 4 classes"),
    BadInput((np.ones((5, 4)), np.array([0, 1, 2])), {}, ValueError,
             r"cross_entropy: target of shape \(3,\) does not fit input of shape \(5, 4\)"),
    BadInput((np.ones((5, 4)), np.ones((5, 3))), {}, ValueError,
             r"cross_entropy: probability targets must have the input's shape \(5, 4\), got \(5, 3\)"),
    BadInput((np.ones((5, 4)), np.array([0, 1, 2, 3, 0])), {"weight": np.ones(3)}, ValueError,
             r"cross_entropy: weight must have one entry per class \(4\), got shape \(3,\)"),
    BadInput((np.ones((5, 4)), np.array([0, 1, 2, 3, 0])), {"label_smoothing": 1.5}, ValueError,
             r"cross_entropy: label_smoothing must be in \[0, 1\]"),
    BadInput((np.ones((5, 4)), np.array([0, 1, 2, 3, 0])), {"reduction": "max"}, ValueError,
             r"cross_entropy: reduction must be"),
    BadInput((np.ones((5, 4)), np.array([0, -1, 2, 3, 0])), {}, IndexError,
             r"cross_entropy: target contains class index -1"),
]
_NLL_BAD = [
    BadInput((np.ones((5, 4)), np.array([0, 1, 2, 3, 7])), {}, IndexError,
             r"nll_loss: target contains class index 7 but the input has 4 classes"),
    BadInput((np.ones((5, 4)), np.ones((5, 4))), {}, TypeError, r"nll_loss: target must hold class indices"),
    BadInput((np.ones((5, 4)), np.array([0, 1, 2, 3, 0])), {"weight": np.ones(5)}, ValueError,
             r"nll_loss: weight must have one entry per class \(4\), got shape \(5,\)"),
]
for red in REDUCTIONS:
    register(OpInfo(f"cross_entropy_{red}", F.cross_entropy, TF.cross_entropy if TF else None,
                    _ce_samples(red), atol=1e-9, bad=_CE_BAD if red == "mean" else []),
             OpInfo(f"nll_loss_{red}", F.nll_loss, TF.nll_loss if TF else None, _nll_samples(red),
                    bad=_NLL_BAD if red == "mean" else []))
register(OpInfo("cross_entropy_via_log_softmax", lambda z, t: F.nll_loss(F.log_softmax(z, 1), t),
                lambda z, t: TF.nll_loss(TF.log_softmax(z, 1), t),
                lambda rng: [Sample((rn(rng, 5, 4), _targets(rng, 5, 4)))]))

# ---------------------------------------------------------------------------
# triangles, rolls, narrow, and the top-level forms of methods (gn.add, gn.mm, ...)
# ---------------------------------------------------------------------------
register(
    OpInfo("tril", lambda x, *a: x.tril(*a), lambda x, *a: x.tril(*a),
           lambda rng: [Sample((rn(rng, 4, 4),)), Sample((rn(rng, 3, 5), 1)),
                        Sample((rn(rng, 2, 3, 4), -1)), Sample((rn(rng, 3, 3), 5))],
           bad=[BadInput((np.ones(3),), {}, ValueError,
                         r"tril: expects a tensor with at least 2 dimensions, got shape \(3,\)")]),
    OpInfo("triu", lambda x, *a: x.triu(*a), lambda x, *a: x.triu(*a),
           lambda rng: [Sample((rn(rng, 4, 4),)), Sample((rn(rng, 5, 3), -2)),
                        Sample((rn(rng, 2, 3, 4), 2))],
           bad=[BadInput((np.ones(()), ), {}, ValueError, r"triu: expects a tensor with at least 2")]),
    OpInfo("gn.tril", lambda x: gn.tril(x, diagonal=-1), lambda x: torch.tril(x, diagonal=-1),
           lambda rng: [Sample((rn(rng, 3, 4),))]),
    OpInfo("gn.triu", lambda x: gn.triu(x, 1), lambda x: torch.triu(x, 1),
           lambda rng: [Sample((rn(rng, 3, 4),))]),
    OpInfo("roll", lambda x, *a: x.roll(*a), lambda x, *a: x.roll(*a),
           lambda rng: [Sample((rn(rng, 3, 4), 1, 0)), Sample((rn(rng, 3, 4), -2, 1)),
                        Sample((rn(rng, 3, 4), 5)), Sample((rn(rng, 2, 3, 4), (1, -1), (0, 2))),
                        Sample((rn(rng, 5), 7, 0))],
           bad=[BadInput((np.ones((3, 4)), (1, 2), 0), {}, ValueError,
                         r"roll: shifts \(1, 2\) and dims \(0,\) must have the same length"),
                BadInput((np.ones((3, 4)), 1, 2), {}, IndexError, r"dim")]),
    OpInfo("gn.roll", lambda x: gn.roll(x, shifts=(2, 1), dims=(1, 0)),
           lambda x: torch.roll(x, shifts=(2, 1), dims=(1, 0)), lambda rng: [Sample((rn(rng, 3, 4),))]),
    OpInfo("narrow", lambda x, *a: x.narrow(*a), lambda x, *a: x.narrow(*a),
           lambda rng: [Sample((rn(rng, 5, 4), 0, 1, 3)), Sample((rn(rng, 5, 4), -1, 2, 2)),
                        Sample((rn(rng, 5, 4), 1, -3, 2)), Sample((rn(rng, 5, 4), 0, 2, 0))],
           bad=[BadInput((np.ones((5, 4)), 0, 3, 4), {}, IndexError,
                         r"narrow: start 3 and length 4 are out of range for dimension 0 of size 5")]),
    OpInfo("gn.narrow", lambda x: gn.narrow(x, 1, 1, 2), lambda x: torch.narrow(x, 1, 1, 2),
           lambda rng: [Sample((rn(rng, 3, 4),))]),
    OpInfo("gn.add", lambda x, y: gn.add(x, y, alpha=0.5), lambda x, y: torch.add(x, y, alpha=0.5),
           binary_samples(), bad=_BAD_BROADCAST),
    OpInfo("gn.sub", lambda x, y: gn.sub(x, y, alpha=2), lambda x, y: torch.sub(x, y, alpha=2),
           binary_samples(), bad=_BAD_BROADCAST),
    OpInfo("gn.mul", gn.mul, lambda x, y: torch.mul(x, y), binary_samples(), bad=_BAD_BROADCAST),
    OpInfo("gn.div", gn.div, lambda x, y: torch.div(x, y),
           binary_samples(make_y=lambda r, *s: away(rn(r, *s), margin=0.4)), avoid="y near 0"),
    OpInfo("add_method", lambda x, y: x.add(y, alpha=3), lambda x, y: x.add(y, alpha=3), binary_samples()),
    OpInfo("sub_method", lambda x, y: x.sub(y), lambda x, y: x.sub(y), binary_samples()),
    OpInfo("mul_method", lambda x, y: x.mul(y), lambda x, y: x.mul(y), binary_samples()),
    OpInfo("div_method", lambda x, y: x.div(y), lambda x, y: x.div(y),
           binary_samples(make_y=lambda r, *s: away(rn(r, *s), margin=0.4)), avoid="y near 0"),
    OpInfo("gn.mm", gn.mm, lambda x, y: torch.mm(x, y),
           lambda rng: [Sample((rn(rng, 3, 4), rn(rng, 4, 2))), Sample((rn(rng, 1, 3), rn(rng, 3, 1)))],
           bad=[BadInput((np.ones((2, 3, 4)), np.ones((4, 2))), {}, ValueError,
                         r"mm: expects two 2-d tensors \(matrices\), got shapes \(2, 3, 4\) and \(4, 2\)")]),
    OpInfo("gn.bmm", gn.bmm, lambda x, y: torch.bmm(x, y),
           lambda rng: [Sample((rn(rng, 2, 3, 4), rn(rng, 2, 4, 5)))],
           bad=[BadInput((np.ones((2, 3, 4)), np.ones((3, 4, 2))), {}, ValueError,
                         r"bmm: the batch sizes differ: 2 \(shape \(2, 3, 4\)\) and 3")]),
    OpInfo("bmm_method", lambda x, y: x.bmm(y), lambda x, y: x.bmm(y),
           lambda rng: [Sample((rn(rng, 3, 2, 2), rn(rng, 3, 2, 4)))]),
    OpInfo("gn.matmul", gn.matmul, lambda x, y: torch.matmul(x, y),
           lambda rng: [Sample((rn(rng, 2, 3, 4), rn(rng, 4)))]),
    OpInfo("gn.cat", lambda xs: gn.cat(xs, 1), lambda xs: torch.cat(xs, 1),
           lambda rng: [Sample(([rn(rng, 2, 3), rn(rng, 2, 1)],))]),
    OpInfo("gn.stack", lambda xs: gn.stack(xs, -1), lambda xs: torch.stack(xs, -1),
           lambda rng: [Sample(([rn(rng, 2, 3), rn(rng, 2, 3)],))]),
    OpInfo("gn.amax", lambda x: gn.amax(x, 1), lambda x: torch.amax(x, 1), lambda rng: [Sample((distinct(rng, 3, 4),))],
           avoid="ties"),
    OpInfo("gn.negative", gn.negative, lambda x: torch.negative(x), unary_samples()),
    OpInfo("gn.t", gn.t, lambda x: torch.t(x), lambda rng: [Sample((rn(rng, 3, 4),))]),
    OpInfo("gn.unflatten", lambda x: gn.unflatten(x, 1, (2, 2)), lambda x: torch.unflatten(x, 1, (2, 2)),
           lambda rng: [Sample((rn(rng, 3, 4),))]),
    OpInfo("gn.clone", gn.clone, lambda x: torch.clone(x), unary_samples()),
    OpInfo("where_method", lambda x, y: x.where(x > 0, y), lambda x, y: x.where(x > 0, y),
           lambda rng: [Sample((away(rn(rng, 3, 4)), rn(rng, 3, 4)))]),
    OpInfo("maximum_method", lambda x, y: x.maximum(y), lambda x, y: x.maximum(y),
           lambda rng: [Sample((distinct(rng, 3, 4), distinct(rng, 3, 4) + 0.05))]),
)

BY_NAME = {info.name: info for info in OPS}
