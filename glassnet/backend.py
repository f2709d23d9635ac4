"""The array module and the dtype policy.

``xp`` names the array module: NumPy. The ops call NumPy directly today (they
rely on NumPy-only tools such as ``as_strided`` and reference-counted scratch
buffers), so another array library would need more than swapping ``xp``.
Training uses float32 by default; explanations and gradient checks ask for
float64 explicitly.
"""

from __future__ import annotations

import numpy as np

xp = np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
# PyTorch spellings
float = float32
double = float64
long = int64

_default_dtype = float32


def get_default_dtype() -> np.dtype:
    """The dtype that Python floats and ``zeros``/``randn``/... create (float32)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the floating dtype used for new tensors (float32 or float64)."""
    global _default_dtype
    d = np.dtype(dtype)
    if d not in (float32, float64):
        raise ValueError(f"set_default_dtype: expected float32 or float64, got {d}")
    _default_dtype = d


# PyTorch's short names mean what they mean there (NumPy reads 'float' as float64)
_TORCH_NAMES = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
                "bool": bool_}


# The dtypes a tensor may have: PyTorch's real dtypes that NumPy has too.
SUPPORTED_DTYPES = tuple(np.dtype(n) for n in ("bool", "uint8", "uint16", "uint32", "uint64", "int8",
                                               "int16", "int32", "int64", "float16", "float32",
                                               "float64"))
_SUPPORTED = frozenset(SUPPORTED_DTYPES)


def as_dtype(dtype, where: str = "dtype") -> np.dtype | None:
    """Accept a NumPy dtype, a type, a string ('float32', or PyTorch's 'float') or None.

    Anything else, or a dtype glassnet has no tensors of ('float128', 'complex64',
    strings), raises a TypeError that starts with ``where`` (the caller's name).
    """
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype in _TORCH_NAMES:
        return _TORCH_NAMES[dtype]
    try:
        d = np.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: {dtype!r} is not a dtype (expected gn.float32, gn.int64, ... "
                        "or a name such as 'float64')") from None
    if d not in _SUPPORTED:
        names = ", ".join(str(x) for x in SUPPORTED_DTYPES)
        raise TypeError(f"{where}: dtype {d} is not supported (glassnet's dtypes: {names})")
    return d


def is_dtype_name(name: str) -> bool:
    """True when ``name`` spells a dtype (supported or not: 'float128' is one), False for
    anything else, such as a device name ('cpu', 'cuda')."""
    if name in _TORCH_NAMES:
        return True
    try:
        np.dtype(name)
    except (TypeError, ValueError):
        return False
    return True


def float_dtype(dtype, where: str = "dtype") -> np.dtype:
    """``dtype`` read as ``as_dtype`` does, or the default float dtype when it is None:
    the dtype of new floating tensors, parameters and buffers."""
    return _default_dtype if dtype is None else as_dtype(dtype, where)


# One random generator for the whole library, reseeded by ``manual_seed``.
_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed every random draw glassnet makes (init, dropout, rand, shuffles)."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _rng = np.random.default_rng(int(seed))


def rng() -> np.random.Generator:
    return _rng


def get_rng_state() -> dict:
    """The generator's state, for checkpoints that resume bit for bit."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    _rng.bit_generator.state = state
