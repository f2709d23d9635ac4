"""A playground *setup*: the JSON dict that says what is trained, and what it builds.

``{"data": "moons", "noise": 0.1, "n_samples": 200, "model": "mlp", "hidden": [4, 4],
"activation": "tanh", "cell": "rnn", "optimizer": "sgd", "lr": 0.03, "batch_size": 10,
"l2": 0.0, "seed": 0}`` (docs/playground.md, "The setup").

- ``validate(setup, base=None)``: the complete setup (defaults filled in, the data set's own
  defaults where the setup does not say), or ``ValueError`` in one line naming the field, the
  value and what was expected;
- ``build(setup)``: a ``Built`` — data (NumPy), model, loss function, optimizer;
- ``export_code(setup)``: a runnable glassnet script that builds and trains the same setup.

The toy sets (2-D points, two classes) train an MLP with one sigmoid output and binary
cross-entropy (``gn.explain`` then writes the chapter's ∂L/∂z = a − y); ``digits`` a small CNN
(or an MLP) with cross-entropy over 10 classes; ``sine`` a many-to-one RNN/LSTM/GRU predicting
the next value of a noisy sine wave, with MSE; ``custom`` the user's own data and model.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

TOY = ("moons", "circles", "xor", "spiral")
DATASETS = TOY + ("digits", "sine", "custom")
ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
CELLS = ("rnn", "lstm", "gru")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
MODELS = {"moons": ("mlp",), "circles": ("mlp",), "xor": ("mlp",), "spiral": ("mlp",),
          "digits": ("cnn", "mlp"), "sine": ("rnn",), "custom": ("custom",)}
HYPER = ("lr", "optimizer", "batch_size", "l2")  # changed without a rebuild
STRUCTURAL = ("data", "noise", "n_samples", "model", "hidden", "activation", "cell", "seed")
FIELDS = STRUCTURAL + HYPER

DEFAULTS = {"data": "moons", "noise": 0.1, "n_samples": 200, "model": "mlp", "hidden": [4, 4],
            "activation": "tanh", "cell": "rnn", "optimizer": "sgd", "lr": 0.03, "batch_size": 10,
            "l2": 0.0, "seed": 0}
# what a data set changes in the defaults (a setup switching to it takes these unless it says)
DATA_DEFAULTS = {
    "moons": {}, "circles": {}, "xor": {},
    "spiral": {"hidden": [8, 8], "lr": 0.03, "optimizer": "adam", "noise": 0.05, "n_samples": 300},
    "digits": {"model": "cnn", "hidden": [16], "activation": "relu", "lr": 0.05, "n_samples": 1797,
               "noise": 0.0, "batch_size": 16},
    "sine": {"model": "rnn", "hidden": [8], "cell": "rnn", "lr": 0.01, "optimizer": "adam", "noise": 0.05,
             "n_samples": 300, "batch_size": 16},
    "custom": {"model": "custom"},
}
SINE_WINDOW, SINE_LENGTH = 10, 40  # time steps per sample; length of each generated wave
MAX_HIDDEN_LAYERS, MAX_UNITS = 6, 32
LIMITS = {"n_samples": (4, 5000), "batch_size": (1, 1000), "seed": (0, 2**31 - 1)}


def _where(field):
    return f"setup: {field}"


def _int(field, v, lo, hi):
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
        raise ValueError(f"{_where(field)} must be an integer from {lo} to {hi}, got {v!r}")
    return int(v)


def _number(field, v, lo, hi, lo_open=False):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v) \
            or v > hi or v < lo or (lo_open and v <= lo):
        low = f"above {lo}" if lo_open else f"from {lo}"
        raise ValueError(f"{_where(field)} must be a number {low} to {hi}, got {v!r}")
    return float(v)


def _choice(field, v, options):
    if v not in options:
        raise ValueError(f"{_where(field)} must be one of {', '.join(map(repr, options))}, got {v!r}")
    return v


def _hidden(v, recurrent: bool):
    """[4, 4] from a list, an int or the fragment's text "4,4" ("" is no hidden layer)."""
    raw = v
    if isinstance(v, str):
        try:
            v = [int(p) for p in v.replace(" ", "").split(",") if p != ""]
        except ValueError:
            raise ValueError(f"{_where('hidden')} must be a list of layer sizes such as [4, 4], "
                             f"got {raw!r}") from None
    elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        v = [int(v)]
    if not isinstance(v, (list, tuple)) or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and 1 <= n <= MAX_UNITS for n in v):
        raise ValueError(f"{_where('hidden')} must be a list of layer sizes from 1 to {MAX_UNITS} "
                         f"such as [4, 4], got {raw!r}")
    if recurrent and len(v) != 1:
        raise ValueError(f"{_where('hidden')} must be one hidden size for a recurrent model such as [8], "
                         f"got {raw!r}")
    if len(v) > MAX_HIDDEN_LAYERS:
        raise ValueError(f"{_where('hidden')} must have at most {MAX_HIDDEN_LAYERS} layers, got {raw!r}")
    return [int(n) for n in v]


def defaults_for(data: str) -> dict:
    """The default setup of a data set."""
    return {**DEFAULTS, **DATA_DEFAULTS.get(data, {}), "data": data}


def validate(setup: dict | None = None, base: dict | None = None, custom: bool = False) -> dict:
    """The complete, checked setup: ``setup``'s fields over ``base`` (a setup already valid), or over
    the defaults of the setup's data set. A change of data set takes the new set's defaults for the
    fields ``setup`` does not give. ``custom``: the user gave their own data and model."""
    if setup is None:
        setup = {}
    if not isinstance(setup, dict):
        raise ValueError(f"setup must be a JSON object of fields, got {type(setup).__name__}")  # noqa: TRY004 - a bad request
    unknown = [k for k in setup if k not in FIELDS]
    if unknown:
        raise ValueError(f"setup: unknown field {unknown[0]!r}; expected one of {', '.join(FIELDS)}")
    data = setup.get("data", (base or {}).get("data", "custom" if custom else DEFAULTS["data"]))
    _choice("data", data, DATASETS)
    if data == "custom" and not custom:
        raise ValueError("setup: data 'custom' needs your own data and model: "
                         "gn.playground(model=..., data=(X, y))")
    if custom and data != "custom":
        raise ValueError(f"setup: data is fixed to 'custom' for your own model and data, got {data!r}")
    if base is None or base.get("data") != data:
        out = defaults_for(data)
    else:
        out = dict(base)
    out.update(setup)
    if isinstance(out.get("hidden"), tuple):
        out["hidden"] = list(out["hidden"])
    out["noise"] = _number("noise", out["noise"], 0.0, 2.0)
    out["n_samples"] = _int("n_samples", out["n_samples"], *LIMITS["n_samples"])
    out["model"] = _choice("model", out["model"], MODELS[data])
    out["hidden"] = _hidden(out["hidden"], recurrent=data == "sine")
    out["activation"] = _choice("activation", out["activation"], ACTIVATIONS)
    out["cell"] = _choice("cell", out["cell"], CELLS)
    out["optimizer"] = _choice("optimizer", out["optimizer"], OPTIMIZERS)
    out["lr"] = _number("lr", out["lr"], 0.0, 10.0, lo_open=True)
    out["batch_size"] = _int("batch_size", out["batch_size"], *LIMITS["batch_size"])
    out["l2"] = _number("l2", out["l2"], 0.0, 1.0)
    out["seed"] = _int("seed", out["seed"], *LIMITS["seed"])
    return {k: out[k] for k in DEFAULTS}


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------
def make_data(setup: dict):
    """(X, y) as NumPy arrays for a setup's data set: toy (N, 2) float32 and int64 labels 0/1,
    digits (N, 1, 8, 8) float32 and int64 labels 0–9, sine (N, T, 1) and (N, 1) float32."""
    from .. import data as D

    name, n, noise, seed = setup["data"], setup["n_samples"], setup["noise"], setup["seed"]
    if name == "moons":
        return D.make_moons(n, noise=noise, seed=seed)
    if name == "circles":
        return D.make_circles(n, noise=noise, factor=0.5, seed=seed)
    if name == "xor":
        X, y = D.make_xor(n, noise=noise, seed=seed)
        return (X - np.float32(0.5)) * np.float32(2), y  # centred on the origin: corners at ±1
    if name == "spiral":
        return D.make_spirals(n, n_classes=2, noise=noise, seed=seed)
    if name == "digits":
        X, y = D.load_digits(as_images=True)
        if n < len(y):
            keep = np.sort(np.random.default_rng(seed).permutation(len(y))[:n])
            X, y = X[keep], y[keep]
        return np.ascontiguousarray(X[:, None]), y
    if name == "sine":
        per = SINE_LENGTH - SINE_WINDOW
        waves = D.sine_waves(-(-n // per), SINE_LENGTH, seed=seed, noise=noise)
        X, y = D.make_windows(waves, SINE_WINDOW)
        return X[:n], y[:n]
    raise ValueError(f"setup: data {name!r} has no generator here (custom data comes with the model)")


# ---------------------------------------------------------------------------
# model, loss, optimizer
# ---------------------------------------------------------------------------
def _activation_module(name):
    from .. import nn

    return {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}.get(name)


def make_model(setup: dict):
    """The setup's network, initialised from its seed."""
    from .. import manual_seed, nn
    from ..train.models import SequenceClassifier

    manual_seed(setup["seed"])
    act = _activation_module(setup["activation"])
    if setup["data"] == "sine":
        H = setup["hidden"][0]
        cell = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[setup["cell"]]
        return SequenceClassifier(cell(1, H, batch_first=True), H, 1)
    if setup["data"] == "digits" and setup["model"] == "cnn":
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), (act or nn.Identity)(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(64, 10))
    sizes = ([64] if setup["data"] == "digits" else [2]) + list(setup["hidden"])
    layers = []
    if setup["data"] == "digits":
        layers.append(nn.Flatten())
    for a, b in itertools.pairwise(sizes):
        layers.append(nn.Linear(a, b))
        if act is not None:
            layers.append(act())
    if setup["data"] == "digits":
        layers.append(nn.Linear(sizes[-1], 10))
    else:
        layers += [nn.Linear(sizes[-1], 1), nn.Sigmoid()]
    return nn.Sequential(*layers)


def loss_name(setup: dict) -> str:
    return {"digits": "cross_entropy", "sine": "mse"}.get(setup["data"], "bce")


def loss_function(name: str):
    """A loss by name: output, target → scalar tensor. BCE takes the 0/1 labels as an (N, 1) float
    column (the shape of the sigmoid output)."""
    from ..nn import functional as F

    if name == "bce":
        def bce(output, target):
            return F.binary_cross_entropy(output, target)
        return bce
    if name == "bce_with_logits":
        return F.binary_cross_entropy_with_logits
    if name == "cross_entropy":
        return F.cross_entropy
    if name == "mse":
        return F.mse_loss
    raise ValueError(f"setup: loss must be 'bce', 'bce_with_logits', 'cross_entropy' or 'mse', got {name!r}")


def targets_for(loss: str, y: np.ndarray, dtype=np.float32) -> np.ndarray:
    """The target array the loss takes: BCE a float column, cross-entropy int labels."""
    if loss in ("bce", "bce_with_logits"):
        return np.asarray(y, dtype=dtype).reshape(len(y), -1)
    if loss == "cross_entropy":
        return np.asarray(y, dtype=np.int64)
    return np.asarray(y, dtype=dtype)


def make_optimizer(setup: dict, params):
    from .. import optim

    lr, l2 = setup["lr"], setup["l2"]
    kind = setup["optimizer"]
    params = list(params)
    if kind == "sgd":
        return optim.SGD(params, lr=lr, weight_decay=l2)
    if kind == "momentum":
        return optim.SGD(params, lr=lr, momentum=0.9, weight_decay=l2)
    if kind == "rmsprop":
        return optim.RMSprop(params, lr=lr, weight_decay=l2)
    return optim.Adam(params, lr=lr, weight_decay=l2)


def infer_loss(model, X, y, loss=None) -> str:
    """The loss for the user's own data: ``loss`` when given, else integer labels and more than one
    output → cross-entropy, one output and 0/1 labels → BCE (on logits unless the model ends in a
    sigmoid), float targets → MSE."""
    if loss is not None:
        if loss not in ("bce", "bce_with_logits", "cross_entropy", "mse"):
            raise ValueError(f"playground: loss must be 'bce', 'bce_with_logits', 'cross_entropy' or 'mse', "
                             f"got {loss!r}")
        return loss
    from ..autograd import no_grad
    from ..tensor import Tensor

    with no_grad():
        out = np.asarray(model(Tensor(np.asarray(X[:2])))._data)
    y = np.asarray(y)
    width = out.shape[-1] if out.ndim > 1 else 1
    integer = y.dtype.kind in "iub" or (y.dtype.kind == "f" and np.all(y == np.round(y)))
    if integer and width > 1 and y.ndim == 1:
        return "cross_entropy"
    if width == 1 and integer and set(np.unique(y).tolist()) <= {0, 1}:
        mods = list(model.modules())
        from ..nn import Sigmoid

        return "bce" if mods and isinstance(mods[-1], Sigmoid) else "bce_with_logits"
    return "mse"


class Built:
    """What a setup builds: ``X``, ``y`` (labels as given), ``target`` (what the loss takes),
    ``model``, ``loss`` (its name), ``loss_fn``, ``optimizer`` and ``kind`` (mlp, cnn or rnn)."""

    def __init__(self, setup, X, y, model, loss):
        self.setup, self.X, self.y, self.model, self.loss = setup, X, y, model, loss
        dtype = next((p._data.dtype for p in model.parameters()), np.float32)
        self.X = np.ascontiguousarray(np.asarray(X, dtype=dtype))
        self.target = targets_for(loss, y, dtype)
        self.loss_fn = loss_function(loss)
        self.optimizer = make_optimizer(setup, model.parameters())
        self.kind = kind_of(model)


def kind_of(model) -> str:
    from ..nn import Conv2d, RNNBase

    mods = list(model.modules())
    if any(isinstance(m, RNNBase) for m in mods):
        return "rnn"
    if any(isinstance(m, Conv2d) for m in mods):
        return "cnn"
    return "mlp"


def build(setup: dict) -> Built:
    """Data, model, loss and optimizer of a valid setup (``validate`` first)."""
    X, y = make_data(setup)
    return Built(setup, X, y, make_model(setup), loss_name(setup))


def build_custom(setup: dict, model, data, loss=None) -> Built:
    """The user's own model and data ``(X, y)`` under a setup's hyper-parameters."""
    if not hasattr(model, "parameters"):
        raise ValueError(f"playground: model must be a gn.nn.Module, got {type(model).__name__}")
    try:
        X, y = data
    except (TypeError, ValueError):
        raise ValueError("playground: data must be a pair (X, y) of NumPy arrays") from None
    X = np.asarray(getattr(X, "data", X))
    y = np.asarray(getattr(y, "data", y))
    if X.ndim < 2 or len(X) != len(y) or len(X) == 0:
        raise ValueError(f"playground: data must be (X, y) with one target per sample, got X of shape "
                         f"{X.shape} and y of shape {y.shape}")
    check_recurrent(model)
    return Built(setup, X, y, model, infer_loss(model, X, y, loss))


def check_recurrent(model) -> None:
    """The RNN view shows one direction of one recurrent layer stack, h_t and its gates unit by
    unit: a bidirectional layer (h_t of both directions side by side) or an LSTM with proj_size (h_t
    narrower than its gates) is refused here, with what to change. batch_first either way and
    stacked layers (num_layers > 1) are fine."""
    from ..nn import RNNBase

    for m in model.modules():
        if not isinstance(m, RNNBase):
            continue
        name = type(m).__name__
        if m.bidirectional:
            raise ValueError(f"playground: the RNN view shows one direction; this {name} is bidirectional "
                             "(use bidirectional=False in the playground)")
        if getattr(m, "proj_size", 0):
            raise ValueError(f"playground: the RNN view shows h_t beside its gates; this LSTM projects h_t to "
                             f"proj_size={m.proj_size} (use proj_size=0 in the playground)")


# ---------------------------------------------------------------------------
# export as code
# ---------------------------------------------------------------------------
_OPT_CODE = {"sgd": "gn.optim.SGD(model.parameters(), lr={lr}, weight_decay={l2})",
             "momentum": "gn.optim.SGD(model.parameters(), lr={lr}, momentum=0.9, weight_decay={l2})",
             "rmsprop": "gn.optim.RMSprop(model.parameters(), lr={lr}, weight_decay={l2})",
             "adam": "gn.optim.Adam(model.parameters(), lr={lr}, weight_decay={l2})"}
_ACT_CODE = {"tanh": "nn.Tanh()", "relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()"}


def _data_code(s) -> list[str]:
    n, noise, seed = s["n_samples"], s["noise"], s["seed"]
    d = s["data"]
    if d == "moons":
        return [f"X, y = gn.data.make_moons({n}, noise={noise}, seed={seed})"]
    if d == "circles":
        return [f"X, y = gn.data.make_circles({n}, noise={noise}, factor=0.5, seed={seed})"]
    if d == "xor":
        return [f"X, y = gn.data.make_xor({n}, noise={noise}, seed={seed})",
                "X = (X - np.float32(0.5)) * np.float32(2)        # corners at ±1"]
    if d == "spiral":
        return [f"X, y = gn.data.make_spirals({n}, n_classes=2, noise={noise}, seed={seed})"]
    if d == "digits":
        return ["X, y = gn.data.load_digits(as_images=True)     # 1797 images 8×8",
                f"keep = np.sort(np.random.default_rng({seed}).permutation(len(y))[:{n}])",
                "X, y = np.ascontiguousarray(X[keep][:, None]), y[keep]   # (N, 1, 8, 8)"]
    per = SINE_LENGTH - SINE_WINDOW
    return [f"waves = gn.data.sine_waves({-(-n // per)}, {SINE_LENGTH}, seed={seed}, noise={noise})",
            f"X, y = gn.data.make_windows(waves, {SINE_WINDOW})    # (N, {SINE_WINDOW}, 1) → next value (N, 1)",
            f"X, y = X[:{n}], y[:{n}]"]


def _model_code(s) -> list[str]:
    act = _ACT_CODE.get(s["activation"])
    if s["data"] == "sine":
        H = s["hidden"][0]
        cell = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[s["cell"]]
        return [f"model = gn.train.models.SequenceClassifier(nn.{cell}(1, {H}, batch_first=True), {H}, 1)"]
    if s["data"] == "digits" and s["model"] == "cnn":
        return ["model = nn.Sequential(", "    nn.Conv2d(1, 4, 3, padding=1), " + (act or "nn.Identity()") + ",",
                "    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10),", ")"]
    sizes = ([64] if s["data"] == "digits" else [2]) + list(s["hidden"])
    lines = ["model = nn.Sequential("]
    if s["data"] == "digits":
        lines.append("    nn.Flatten(),")
    for a, b in itertools.pairwise(sizes):
        lines.append(f"    nn.Linear({a}, {b}),{' ' + act + ',' if act else ''}")
    if s["data"] == "digits":
        lines.append(f"    nn.Linear({sizes[-1]}, 10),")
    else:
        lines.append(f"    nn.Linear({sizes[-1]}, 1), nn.Sigmoid(),")
    return lines + [")"]


def export_code(setup: dict, steps: int = 2000) -> str:
    """A runnable glassnet script that builds and trains the same setup (``steps`` updates, the
    playground's loop: shuffled mini-batches, zero_grad, forward, loss, backward, step)."""
    s = validate(setup) if setup.get("data") != "custom" else dict(setup)
    if s["data"] == "custom":
        raise ValueError("export: a custom model and data cannot be written as code; "
                         "export works for the built-in data sets")
    loss = loss_name(s)
    target = {"bce": "y.reshape(-1, 1).astype(np.float32)", "cross_entropy": "y",
              "mse": "y"}[loss]
    loss_line = {"bce": "F.binary_cross_entropy(model(xb), yb)", "cross_entropy": "F.cross_entropy(model(xb), yb)",
                 "mse": "F.mse_loss(model(xb), yb)"}[loss]
    lines = [
        f'"""The glassnet playground\'s setup, as a script: {s["data"]}, {s["model"]} {s["hidden"]}."""',
        "import numpy as np",
        "",
        "import glassnet as gn",
        "from glassnet import nn",
        "from glassnet.nn import functional as F",
        "",
        f"SETUP = {s!r}",
        f"STEPS = {int(steps)}",
        "",
        *_data_code(s),
        f"targets = {target}",
        "",
        f"gn.manual_seed({s['seed']})",
        *_model_code(s),
        "optimizer = " + _OPT_CODE[s["optimizer"]].format(lr=s["lr"], l2=s["l2"]),
        "",
        f"rng = np.random.default_rng({s['seed']})",
        f"batch_size = min({s['batch_size']}, len(X))",
        "order, pos = rng.permutation(len(X)), 0",
        "for step in range(STEPS):",
        "    if pos + batch_size > len(X):",
        "        order, pos = rng.permutation(len(X)), 0",
        "    idx = order[pos:pos + batch_size]",
        "    pos += batch_size",
        "    xb, yb = gn.tensor(X[idx]), gn.tensor(targets[idx])",
        "    optimizer.zero_grad()",
        f"    loss = {loss_line}",
        "    loss.backward()",
        "    optimizer.step()",
        "    if step % max(STEPS // 10, 1) == 0 or step == STEPS - 1:",
        "        print(f\"step {step}  loss {loss.item():.4f}\")",
        "",
        "with gn.no_grad():",
        "    out = model(gn.tensor(X)).numpy()",
    ]
    if loss == "bce":
        lines.append("print(f\"accuracy {((out[:, 0] > 0.5) == y).mean():.3f}\")")
    elif loss == "cross_entropy":
        lines.append("print(f\"accuracy {(out.argmax(1) == y).mean():.3f}\")")
    else:
        lines.append("print(f\"mean squared error {((out - y) ** 2).mean():.5f}\")")
    return "\n".join(lines) + "\n"
