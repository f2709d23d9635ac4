"""glassnet — a small, fast, transparent deep-learning library.

    import glassnet as gn
    w = gn.tensor([0.2, 0.3, 0.9], requires_grad=True)
    b = gn.tensor(0.5, requires_grad=True)
    y = gn.sigmoid(w @ gn.tensor([0.5, 0.6, 0.1]) + b)   # 0.7047
    y.backward()                                        # w.grad, b.grad
"""

from . import _startup
from ._version import __version__  # noqa: F401

_startup.hold()  # in the glassnet command, Ctrl-C while importing is one line, not a traceback

from . import (  # noqa: F401
    accelerator,
    autograd,
    backend,
    backends,
    cuda,
    data,
    distributed,
    explain,
    functional,
    io,
    nn,
    optim,
    train,
    utils,
    viz,
)
from ._device import device  # noqa: F401
from ._generator import Generator  # noqa: F401
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .backend import (  # noqa: F401
    bool_,
    double,
    float16,
    float32,
    float64,
    get_default_dtype,
    get_rng_state,
    int32,
    int64,
    long,
    manual_seed,
    set_default_dtype,
    set_rng_state,
)
from .functional import (  # noqa: F401
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    log_softmax,
    relu,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    tanh,
)
from .io import load, save  # noqa: F401
from .tensor import (  # noqa: F401
    Size,
    Tensor,
    arange,
    as_tensor,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)

float = float32
bool = bool_

from .toplevel import (  # noqa: F401
    abs,
    add,
    all,
    allclose,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argsort,
    bmm,
    cat,
    chunk,
    clamp,
    clip,
    clone,
    concat,
    concatenate,
    cos,
    cumsum,
    detach,
    div,
    divide,
    eq,
    equal,
    exp,
    expm1,
    fill_,
    flatten,
    flip,
    gather,
    is_floating_point,
    is_tensor,
    isclose,
    isfinite,
    isnan,
    log,
    log1p,
    logsumexp,
    masked_fill,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    mul,
    multiply,
    narrow,
    neg,
    negative,
    norm,
    numel,
    pad,
    permute,
    pow,
    prod,
    reciprocal,
    reshape,
    roll,
    rsqrt,
    sign,
    sin,
    sort,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sub,
    subtract,
    sum,
    t,
    topk,
    transpose,
    tril,
    triu,
    true_divide,
    unflatten,
    unsqueeze,
    var,
    where,
    zero_,
)

_startup.release()  # imports done: Ctrl-C is KeyboardInterrupt again


def __getattr__(name):
    # gn.playground and gn.onnx load on first use, so `import glassnet` pays neither
    # for the server nor for the onnx package
    if name in ("playground", "onnx"):
        import importlib

        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
