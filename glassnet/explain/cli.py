"""The ``glassnet explain`` and ``glassnet exercise`` commands.

``register(subparsers)`` adds both to an argparse parser, each with its runner as the
parser's ``func`` (``glassnet/cli.py`` calls it; ``python -m glassnet.explain ...`` runs
them through the same ``glassnet`` command, see ``__main__.py``). Nothing here imports the
``glassnet`` command itself.

Values are given on the command line as lists (``0.2,0.3,0.9`` or
``"[0.2, 0.3, 0.9]"``), matrices (``"1 0 1; 0 1 0"`` or ``"[[1,0,1],[0,1,0]]"``)
or in a file (``--file ex.json``; JSON, or ``key: value`` lines), where keys
are the option names (``weights``, ``image``, ...). Options on the command line
override the file.

    glassnet explain neuron --weights 0.2,0.3,0.9 --bias 0.5 --input 0.5,0.6,0.1
    glassnet explain backprop --sizes 2,2,1 --weights "0.1 0.2; 0.3 0.4" --weights "0.5 0.6" \\
        --no-bias --input 1,0 --target 1 --loss sse --lr 0.5
    glassnet explain conv --image "1 0 0; 0 1 0; 0 0 1" --filter "1 0; 0 1" --stride 1
    glassnet explain shapes --input 39x39x3 --layer conv:f=3,n=10 --layer conv:f=5,n=20,s=2 --layer flatten
    glassnet explain lstm --w-ih 0.5,-0.3,0.2,0.8 --w-hh 0.1,0.4,-0.6,0.3 --inputs 1,-0.5
    glassnet explain model runs/moons/model.safetensors --input 0.5,-0.2 --target 1 --lr 0.1
    glassnet exercise backprop --seed 7 --solution
    glassnet exercise mix --count 9 --out sheet          # sheet.md and sheet-solutions.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

EXPLAIN_KINDS = ("neuron", "forward", "backprop", "conv", "pool", "shapes", "rnn", "lstm", "gru", "model")
MAX_COUNT = 100  # exercises on one sheet (generate.MAX_COUNT)
EXERCISE_KINDS = ("neuron", "forward", "backprop", "conv", "pool", "shapes", "rnn", "lstm", "gru", "mix")


# `glassnet explain neuron` with no values works the chapter's neuron
CHAPTER_NEURON = {"weights": [0.2, 0.3, 0.9], "bias": 0.5, "input": [0.5, 0.6, 0.1]}


class InputError(ValueError):
    """A command-line or file value that cannot be read."""


# ---------------------------------------------------------------------------
# reading values
# ---------------------------------------------------------------------------
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def parse_value(text, what: str):
    """A number, list or matrix from text: JSON, ``1,2,3``, ``1 2 3`` or ``1 0; 0 1``."""
    if not isinstance(text, str):
        return text
    s = text.strip().replace("−", "-")
    if not s:
        raise InputError(f"{what}: empty value (expected numbers such as 0.2,0.3,0.9)")
    if s[0] in "[{":
        try:
            return json.loads(s)
        except json.JSONDecodeError as err:
            raise InputError(f"{what}: could not read {text!r} as a list ({err.msg} at character {err.pos}); "
                             "expected e.g. [0.2, 0.3] or [[1, 0], [0, 1]]") from None
    rows = [r for r in re.split(r"[;\n]", s) if r.strip()]
    out = []
    for r in rows:
        if any(not c.strip() for c in r.strip().split(",")):
            raise InputError(f"{what}: an empty value between commas in {text!r}; expected numbers such "
                             "as 0.2,0.3,0.9")
        cells = [c for c in re.split(r"[,\s]+", r.strip()) if c]
        for c in cells:
            if not re.fullmatch(_NUM, c):
                raise InputError(f"{what}: {c!r} is not a number (in {text!r}); expected numbers such as "
                                 "0.2,0.3,0.9 or a matrix such as '1 0 1; 0 1 0'")
        out.append([float(c) for c in cells])
    if len(rows) == 1 and (";" not in s and "\n" not in s):
        row = out[0]
        return row[0] if len(row) == 1 and "," not in s else row
    lengths = {len(r) for r in out}
    if len(lengths) != 1:
        raise InputError(f"{what}: the rows of {text!r} have different lengths {[len(r) for r in out]} "
                         "(a matrix needs rows of equal length)")
    return out


def load_file(path: str) -> dict:
    """Values of an exercise from a JSON file or from ``key: value`` lines (simple
    YAML: flow lists such as ``[[1, 0], [0, 1]]`` and ``- item`` block lists)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as err:
        raise InputError(f"--file: cannot read {path!r} ({err.strerror})") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"--file {path}: invalid JSON ({err.msg} at line {err.lineno}, "
                             f"column {err.colno})") from None
        if not isinstance(data, dict):
            raise InputError(f"--file {path}: expected a JSON object of option names to values")
        return data
    data = {}
    block = None  # the key of a YAML-style block list ("key:" then "- item" lines)
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if block is not None and line.startswith("-"):
            item = line[1:].strip()
            data[block].append(item if re.fullmatch(r"[A-Za-z][\w:=,.\s-]*", item) and
                               not re.fullmatch(_NUM, item) else parse_value(item, f"{path}: {block}"))
            continue
        block = None
        m = re.match(r"^([A-Za-z_][\w-]*)\s*:\s*$", line)
        if m:
            block = m.group(1).replace("-", "_")
            data[block] = []
            continue
        m = re.match(r"^([A-Za-z_][\w-]*)\s*[:=]\s*(.*)$", line)
        if not m:
            raise InputError(f"--file {path}, line {n}: expected 'name: value', got {line!r}")
        key, val = m.group(1).replace("-", "_"), m.group(2).strip()
        if re.fullmatch(r"[A-Za-z][\w:=,.-]*", val) or re.fullmatch(r"\d+x\d+(x\d+)?", val):
            parsed = val
        else:
            parsed = parse_value(val, f"{path}: {key}")
        if key in data:  # repeated keys (one line per layer) make a list
            if not isinstance(data[key], list) or not data.get(f"_{key}_multi"):
                data[key] = [data[key]]
                data[f"_{key}_multi"] = True
            data[key].append(parsed)
        else:
            data[key] = parsed
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _merged(args, names):
    """Option values: the file's, overridden by those given on the command line."""
    vals = load_file(args.file) if getattr(args, "file", None) else {}
    for n in names:
        v = getattr(args, n, None)
        if v is not None and v != []:
            vals[n] = v
    return vals


def _need(vals, key, what):
    if vals.get(key) is None:
        raise InputError(f"{what} is required (give --{key.replace('_', '-')} or put '{key}' in --file)")
    return vals[key]


def _values(v, what):
    return parse_value(v, what) if isinstance(v, str) else v


def _per_layer(v, what):
    """A list with one matrix per layer, from repeated options or one nested list."""
    if v is None:
        return None
    if isinstance(v, (str, int, float)):
        v = [v]
    if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
        v = [parse_value(x, f"{what} {i + 1}") for i, x in enumerate(v)]
    return v


def _ints(v, what):
    if isinstance(v, str) and re.search(r"\d\s*[x×]\s*\d", v):
        v = [x for x in re.split(r"[x×,\s]+", v) if x]
    v = _values(v, what)
    if isinstance(v, (int, float)):
        v = [v]
    if isinstance(v, str):
        v = [x for x in re.split(r"[x×,\s]+", v) if x]
    try:
        out = [float(x) for x in v]
    except (TypeError, ValueError):
        raise InputError(f"{what}: expected whole numbers such as 2,2,1, got {v!r}") from None
    if not all(x.is_integer() for x in out):
        raise InputError(f"{what}: expected whole numbers such as 2,2,1, got {v!r}")
    return [int(x) for x in out]


def _activations(v):
    if v is None:
        return "sigmoid"
    if isinstance(v, str):
        parts = [p for p in re.split(r"[,\s]+", v) if p]
        return parts[0] if len(parts) == 1 else parts
    return list(v)


# ---------------------------------------------------------------------------
# the kinds
# ---------------------------------------------------------------------------
def _run_neuron(args):
    from . import exercises as E

    vals = _merged(args, ["weights", "bias", "input", "activation"])
    if not any(k in vals for k in ("weights", "bias", "input")):
        vals.update(CHAPTER_NEURON)
    return E.neuron(_values(_need(vals, "weights", "--weights"), "--weights"),
                    _values(vals.get("bias", 0.0), "--bias"),
                    _values(_need(vals, "input", "--input"), "--input"),
                    vals.get("activation", "sigmoid"), digits=args.digits)


def _network_args(args, backprop):
    from . import exercises as E

    vals = _merged(args, ["sizes", "weights", "biases", "activation", "loss", "lr", "input", "target"])
    if args.no_bias:
        vals["biases"] = None
    sizes = _ints(_need(vals, "sizes", "--sizes"), "--sizes")
    weights = _per_layer(_need(vals, "weights", "--weights"), "--weights")
    if isinstance(weights, list) and len(sizes) == 2 and weights and not isinstance(weights[0], list):
        weights = [weights]
    elif isinstance(weights, list) and len(sizes) == 2 and weights and weights and \
            isinstance(weights[0], list) and weights[0] and not isinstance(weights[0][0], list):
        weights = [weights]  # one layer given as a plain matrix
    biases = _per_layer(vals.get("biases"), "--biases")
    if biases is not None and len(sizes) == 2 and biases and not isinstance(biases[0], list):
        biases = [biases]
    if biases is not None:
        biases = [[b] if isinstance(b, (int, float)) else b for b in biases]
    inputs = _per_layer(_need(vals, "input", "--input"), "--input")
    if inputs and not isinstance(inputs[0], list):
        inputs = [inputs]
    targets = _per_layer(vals.get("target"), "--target")
    if targets is None:
        if backprop:
            raise InputError("--target is required (one per --input)")
        targets = [None] * len(inputs)
    elif targets and not isinstance(targets[0], list):
        targets = [targets] if len(targets) != len(inputs) or sizes[-1] != 1 else [[t] for t in targets]
    targets = [[t] if isinstance(t, (int, float)) and not isinstance(t, bool) else t for t in targets]
    if len(targets) != len(inputs):
        raise InputError(f"--target: expected one target per --input ({len(inputs)}), got {len(targets)}")
    lr = vals.get("lr", 0.1)
    try:
        lr = float(_values(lr, "--lr"))
    except (TypeError, ValueError):
        raise InputError(f"--lr: expected a number, got {lr!r}") from None
    return E.network(sizes, weights, biases, _activations(vals.get("activation")), vals.get("loss", "mse"),
                     list(zip(inputs, targets)), lr=lr, backprop=backprop, digits=args.digits,
                     batch=bool(args.batch or vals.get("batch")))


def _run_forward(args):
    return _network_args(args, False)


def _run_backprop(args):
    return _network_args(args, True)


def _filters(v):
    if v is None:
        return None
    if isinstance(v, str):
        v = [v]
    if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
        return [parse_value(x, f"--filter {i + 1}") for i, x in enumerate(v)]
    if isinstance(v, list) and v and isinstance(v[0], list) and v[0] and not isinstance(v[0][0], list):
        return [v]  # one 2-D filter
    return v


def _run_conv(args):
    from . import cnn

    vals = _merged(args, ["image", "filter", "stride", "padding", "bias", "pool", "pool_size", "pool_stride"])
    image = _values(_need(vals, "image", "--image"), "--image")
    filters = _filters(_need(vals, "filter", "--filter"))
    return cnn.conv(image, filters, stride=_ints(vals.get("stride", 1), "--stride"),
                    padding=_ints(vals.get("padding", 0), "--padding")[0],
                    bias=_values(vals.get("bias"), "--bias"),
                    pool=vals.get("pool"), pool_size=_ints(vals.get("pool_size", 2), "--pool-size")[0],
                    pool_stride=(None if vals.get("pool_stride") is None else
                                 _ints(vals.get("pool_stride"), "--pool-stride")[0]),
                    digits=args.digits)


def _run_pool(args):
    from . import cnn

    vals = _merged(args, ["image", "mode", "size", "stride", "padding"])
    image = _values(_need(vals, "image", "--image"), "--image")
    return cnn.pool(image, mode=vals.get("mode", "max"), size=_ints(vals.get("size", 2), "--size")[0],
                    stride=None if vals.get("stride") is None else _ints(vals.get("stride"), "--stride")[0],
                    padding=_ints(vals.get("padding", 0), "--padding")[0], digits=args.digits)


def parse_layer(text: str, i: int) -> dict:
    """'conv:f=3,n=10,s=1,p=0', 'conv:3,10,1,0', 'pool:f=2,s=2,mode=avg', 'flatten', 'dense:n=10'."""
    if isinstance(text, dict):
        return text
    kind, _, rest = str(text).partition(":")
    kind = kind.strip().lower()
    order = {"conv": ["f", "n", "s", "p"], "pool": ["f", "s", "p", "mode"], "maxpool": ["f", "s", "p"],
             "avgpool": ["f", "s", "p"], "dense": ["n"], "fc": ["n"], "linear": ["n"], "flatten": []}
    if kind not in order:
        raise InputError(f"--layer {i}: unknown layer type {kind!r} in {text!r} "
                         "(expected conv, pool, maxpool, avgpool, flatten or dense)")
    spec = {"type": kind}
    if kind in ("maxpool", "avgpool"):
        spec = {"type": "pool", "mode": kind[:3]}
    pos = 0
    for part in [p for p in re.split(r"[,\s]+", rest) if p]:
        if "=" in part:
            k, v = part.split("=", 1)
        else:
            names = order[kind]
            if pos >= len(names):
                raise InputError(f"--layer {i}: too many values in {text!r} (expected {', '.join(order[kind])})")
            k, v = names[pos], part
            pos += 1
        k = k.strip().lower()
        k = {"size": "f", "filter": "f", "kernel": "f", "stride": "s", "padding": "p", "filters": "n",
             "neurons": "n", "units": "n"}.get(k, k)
        if k not in order[kind]:
            raise InputError(f"--layer {i}: unknown setting {k!r} in {text!r} (a {kind} layer takes "
                             f"{', '.join(order[kind]) or 'no settings'})")
        spec[k] = v if k == "mode" else _ints(v, f"--layer {i}: {k}")[0]
    return spec


def _run_shapes(args):
    from . import exercises as E

    vals = _merged(args, ["input", "layer"])
    shape = _ints(_need(vals, "input", "--input"), "--input")
    layers = vals.get("layer")
    if layers is None:
        raise InputError("--layer is required (one per layer, e.g. --layer conv:f=3,n=10 --layer flatten)")
    if isinstance(layers, (str, dict)):
        layers = [layers]
    return E.shapes(shape, [parse_layer(t, i + 1) for i, t in enumerate(layers)], digits=args.digits)


def _run_rnn(args):
    from . import rnn

    vals = _merged(args, ["w_xh", "w_hh", "b_h", "w_hy", "w_yh", "b_y", "inputs", "h0", "activation",
                          "targets", "loss", "lr"])
    words = ("activation", "loss")  # names, not numbers
    v = {k: vals[k] if k in words else _values(vals[k], f"--{k.replace('_', '-')}") for k in vals}
    return rnn.explain_rnn(_need(v, "w_xh", "--w-xh"), _need(v, "w_hh", "--w-hh"),
                           _need(v, "inputs", "--inputs"), b_h=v.get("b_h"), w_hy=v.get("w_hy"),
                           w_yh=v.get("w_yh"),
                           b_y=v.get("b_y"), h0=v.get("h0"), activation=v.get("activation", "tanh"),
                           targets=v.get("targets"), loss=v.get("loss", "mse"),
                           lr=v.get("lr"), digits=args.digits)


def _run_gates(args):
    from . import gates

    names = ["w_ih", "w_hh", "b_ih", "b_hh", "inputs", "h0"] + (["c0"] if args.kind == "lstm" else [])
    vals = _merged(args, names)
    v = {k: _values(vals[k], f"--{k.replace('_', '-')}") for k in vals if k in names}
    return gates.explain_gates(args.kind, _need(v, "w_ih", "--w-ih"), _need(v, "w_hh", "--w-hh"),
                               _need(v, "inputs", "--inputs"), b_ih=v.get("b_ih"), b_hh=v.get("b_hh"),
                               h0=v.get("h0"), c0=v.get("c0"), digits=args.digits)


def _run_model(args):
    from .model import explain_model

    vals = _merged(args, ["input", "target", "lr", "loss", "unit", "max_terms"])
    given = _need(vals, "input", "--input")
    target = vals.get("target")
    return explain_model(args.model, given if isinstance(given, str) else _values(given, "--input"),
                         target=None if target is None else str(target) if isinstance(target, (str, int, float))
                         else target, lr=vals.get("lr", 0.1), loss=vals.get("loss", "auto"),
                         digits=args.digits, unit=_one_int(vals.get("unit"), "--unit"),
                         max_terms=_one_int(vals.get("max_terms"), "--max-terms"))


def _one_int(v, what):
    return None if v is None else _ints(v, what)[0]


_RUNNERS = {"neuron": _run_neuron, "forward": _run_forward, "backprop": _run_backprop, "conv": _run_conv,
            "pool": _run_pool, "shapes": _run_shapes, "rnn": _run_rnn, "lstm": _run_gates, "gru": _run_gates,
            "model": _run_model}


# ---------------------------------------------------------------------------
# argparse plumbing
# ---------------------------------------------------------------------------
def _common(p):
    p.add_argument("--format", choices=("text", "markdown", "latex"), default="text",
                   help="output format (default text; markdown has LaTeX math; latex is a complete "
                        "document for pdflatex)")
    p.add_argument("--fragment", action="store_true",
                   help="with --format latex: only the body, to paste into a document of your own")
    p.add_argument("--digits", type=int, default=4, help="decimals printed (default 4)")
    p.add_argument("--file", help="read the values from a JSON file or 'key: value' lines")


def _add_kinds(sub):
    """One subcommand per kind of exercise, in the order the help lists them."""
    for add in (_add_neuron, _add_network, _add_conv, _add_pool,
                _add_shapes, _add_rnn, _add_gated, _add_model):
        add(sub)


def _add_neuron(sub):
    """explain neuron: one neuron's weights, bias, input and activation."""
    p = sub.add_parser("neuron", help="y = g(w·x + b) for one neuron",
                       description="y = g(w·x + b) for one neuron. With no values: the chapter's neuron "
                                   "(w = [0.2, 0.3, 0.9], b = 0.5, x = [0.5, 0.6, 0.1]).")
    p.add_argument("--weights", help="w, e.g. 0.2,0.3,0.9")
    p.add_argument("--bias", help="b (default 0)")
    p.add_argument("--input", help="x, e.g. 0.5,0.6,0.1")
    p.add_argument("--activation", help="sigmoid (default), tanh, relu or linear")
    _common(p)


def _add_network(sub):
    """explain forward and explain backprop: a small fully connected network."""
    for kind in ("forward", "backprop"):
        p = sub.add_parser(kind, help=("forward pass of a small fully connected network" if kind == "forward"
                                       else "forward, chain rule and SGD update of a small network"))
        p.add_argument("--sizes", help="layer sizes, inputs first, e.g. 2,2,1")
        p.add_argument("--weights", action="append",
                       help="one per layer: an (outputs × inputs) matrix, e.g. '0.1 0.2; 0.3 0.4'")
        p.add_argument("--biases", action="append", help="one per layer, e.g. 0.1,0.2")
        p.add_argument("--no-bias", action="store_true", help="ignore bias in all neurons (b = 0)")
        p.add_argument("--activation", help="one name for all layers or one per layer: sigmoid,tanh,relu,linear")
        p.add_argument("--loss", help="mse (default), sse (½·squared error) or bce (binary cross-entropy)")
        p.add_argument("--lr", help="learning rate η (default 0.1)")
        p.add_argument("--input", action="append", help="a training example's input (repeat for more)")
        p.add_argument("--target", action="append", help="its target output (one per --input)")
        p.add_argument("--batch", action="store_true",
                       help="all examples in one pass and one update (default: one update per example)")
        _common(p)


def _add_conv(sub):
    """explain conv: an image, its filters and an optional pooling after them."""
    p = sub.add_parser("conv", help="convolution by hand: every feature-map cell, then optional pooling")
    p.add_argument("--image", help="the image as a matrix, e.g. '1 0 0; 0 1 0; 0 0 1'")
    p.add_argument("--filter", action="append", help="a filter matrix (repeat for more filters)")
    p.add_argument("--stride", help="stride s (default 1; '1,2' explains both)")
    p.add_argument("--padding", help="zero padding p (default 0)")
    p.add_argument("--bias", help="one bias per filter (default 0)")
    p.add_argument("--pool", help="then pool the feature maps: max or avg")
    p.add_argument("--pool-size", dest="pool_size", help="pooling window (default 2)")
    p.add_argument("--pool-stride", dest="pool_stride", help="pooling stride (default: the window)")
    _common(p)


def _add_pool(sub):
    """explain pool: max or average pooling of one input."""
    p = sub.add_parser("pool", help="max or average pooling by hand")
    p.add_argument("--image", help="the input as a matrix")
    p.add_argument("--mode", help="max (default) or avg")
    p.add_argument("--size", help="window size (default 2)")
    p.add_argument("--stride", help="stride (default: the window size)")
    p.add_argument("--padding", help="zero padding (default 0)")
    _common(p)


def _add_shapes(sub):
    """explain shapes: an input size and a list of layers."""
    p = sub.add_parser("shapes", help="output size of each conv/pool/flatten/dense layer")
    p.add_argument("--input", help="input size h×w×c, e.g. 39x39x3")
    p.add_argument("--layer", action="append",
                   help="conv:f=3,n=10,s=1,p=0 | pool:f=2,s=2,mode=max | flatten | dense:n=10 (repeat)")
    _common(p)


def _add_rnn(sub):
    """explain rnn: a plain RNN's weights, inputs and targets."""
    p = sub.add_parser("rnn", help="RNN forward pass step by step and BPTT")
    p.add_argument("--w-xh", dest="w_xh", help="W_xh (hidden × input)")
    p.add_argument("--w-hh", dest="w_hh", help="W_hh (hidden × hidden)")
    p.add_argument("--b-h", dest="b_h", help="b_h (default 0)")
    p.add_argument("--w-hy", dest="w_hy", help="W_hy (output × hidden); default: ŷ_t = h_t")
    p.add_argument("--w-yh", dest="w_yh", help="the same matrix under the chapter's name, W_yh (it is "
                                               "then written W_yh)")
    p.add_argument("--b-y", dest="b_y", help="b_y (default 0)")
    p.add_argument("--inputs", help="x_1..x_T, one row per time step, e.g. '1 0; 0 1; 1 1'")
    p.add_argument("--h0", help="initial hidden state (default 0)")
    p.add_argument("--activation", help="tanh (default), sigmoid, relu")
    p.add_argument("--targets", help="y_1..y_T, one row per time step (for the loss and BPTT)")
    p.add_argument("--loss", help="mse (default, E = 1/T Σ (y_t − ŷ_t)²) or sse")
    p.add_argument("--lr", help="learning rate: also show the updated weights")
    _common(p)


def _add_gated(sub):
    """explain lstm and explain gru: a gated layer's weights (gate rows stacked)."""
    for cell, gate_rows in (("lstm", "i, f, g, o"), ("gru", "r, z, n")):
        n = len(gate_rows.split(","))
        p = sub.add_parser(cell, help=f"{cell.upper()} layer step by step: every gate ({gate_rows}), "
                                      + ("the cell state " if cell == "lstm" else "") + "and h_t")
        p.add_argument("--w-ih", dest="w_ih", help=f"W_ih ({n}·hidden × input), gate rows {gate_rows}")
        p.add_argument("--w-hh", dest="w_hh", help=f"W_hh ({n}·hidden × hidden), gate rows {gate_rows}")
        p.add_argument("--b-ih", dest="b_ih", help="b_ih (default: no biases)")
        p.add_argument("--b-hh", dest="b_hh", help="b_hh (default: no biases)")
        p.add_argument("--inputs", help="x_1..x_T, one row per time step, e.g. '1; -0.5'")
        p.add_argument("--h0", help="initial hidden state (default 0)")
        if cell == "lstm":
            p.add_argument("--c0", help="initial cell state (default 0)")
        _common(p)


def _add_model(sub):
    """explain model: a saved model file and one input (and target)."""
    p = sub.add_parser("model", help="a saved model's forward pass on one input (and with --target one "
                                     "backward pass and SGD step)",
                       description="The forward pass of a model saved by glassnet train, on one input, in "
                                   "the chapter's notation (W^[1], z^[1], a^[1]); with --target the loss, "
                                   "its backward pass and one SGD update (of the loaded copy, not the file).")
    p.add_argument("model", help="the model file (runs/NAME/model.safetensors) or its run folder")
    p.add_argument("--input", help="one sample: comma-separated numbers, or a .npy/.csv file (its first "
                                   "sample is explained)")
    p.add_argument("--target", help="its target: a class (from 0, or its name, as glassnet predict prints "
                                    "it) or the output values; adds the backward pass and an SGD step")
    p.add_argument("--lr", help="learning rate η of the SGD step (default 0.1)")
    p.add_argument("--loss", choices=("auto", "mse", "cross_entropy"),
                   help="auto (default): cross-entropy for a class target, else mse")
    p.add_argument("--unit", help="the unit worked in full in a layer too wide to write out (from 1; "
                                  "default: the first)")
    p.add_argument("--max-terms", dest="max_terms",
                   help="a longer sum is written as its first terms, …, the last and the count")
    _common(p)

def register(subparsers) -> None:
    """Add the ``explain`` and ``exercise`` subcommands to ``subparsers``."""
    p = subparsers.add_parser(
        "explain", help="worked, step-by-step solutions of the chapter's exercises",
        description="Run a small computation on the real engine and print every step with its numbers.",
        epilog="Lists: 0.2,0.3,0.9 or '[0.2, 0.3, 0.9]'; matrices: '1 0 1; 0 1 0' or '[[1,0,1],[0,1,0]]'. "
               "A value that starts with '-' needs '=': --bias=-0.5. KIND --help lists each kind's options.")
    _add_kinds(p.add_subparsers(dest="kind", required=True, metavar="KIND"))
    p.set_defaults(func=_explain_main)
    q = subparsers.add_parser(
        "exercise", help="generate fresh numerical exercises (one, or a numbered sheet and its answer key)",
        description="Print a random exercise, or with --count a numbered sheet of exercises and its "
                    "answer key; the same --seed gives the same exercises.",
        epilog="examples:\n  glassnet exercise backprop --seed 7 --solution\n"
               "  glassnet exercise conv --count 5 --out conv-sheet        conv-sheet.txt and "
               "conv-sheet-solutions.txt\n"
               "  glassnet exercise mix --count 9 --format latex --out week3   week3.tex, "
               "week3-solutions.tex\n"
               "  glassnet exercise rnn --count 3 --solution --out rnn.md     one file, answers after each",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    q.add_argument("kind", choices=EXERCISE_KINDS, help="the kind of exercise; mix: every kind in turn")
    q.add_argument("--seed", type=int, default=0, help="random seed (same seed, same exercises)")
    q.add_argument("--count", type=int, help=f"a sheet of this many numbered exercises (1 to {MAX_COUNT})")
    q.add_argument("--out", help="write files: OUT.txt (.md, .tex by --format) and OUT-solutions.txt, "
                                 "the answer key; with --solution one file")
    q.add_argument("--solution", action="store_true",
                   help="the worked solution after each exercise (in one file with --out)")
    q.add_argument("--format", choices=("text", "markdown", "latex"), default=None,
                   help="text (default, or from --out's .md/.tex/.txt), markdown or latex (a complete document)")
    q.add_argument("--fragment", action="store_true", help="with --format latex and no --count: only the body")
    q.add_argument("--digits", type=int, default=4, help="decimals printed in the solutions (default 4)")
    q.set_defaults(func=_exercise_main)


def _fail(cmd, err) -> int:
    """A bad value or file: one line and exit code 1, as the other subcommands (2 is for usage)."""
    print(f"glassnet {cmd}: error: {err}", file=sys.stderr)
    return 1


def _explain_main(args) -> int:
    from .exercises import ExerciseError
    from .render import latex_document

    try:
        expl = _RUNNERS[args.kind](args)
        out = expl.render(args.format, args.digits)
    except (InputError, ExerciseError) as err:
        return _fail(f"explain {args.kind}", err)
    except (ValueError, TypeError) as err:  # the engine's own checks (shapes, arguments)
        return _fail(f"explain {args.kind}", str(err).splitlines()[0])
    if args.format == "latex" and not args.fragment:
        out = latex_document(out)
    sys.stdout.write(out)
    return 0


_EXTENSIONS = {"text": ".txt", "markdown": ".md", "latex": ".tex"}


def _out_paths(out: str, fmt: str | None):
    """(format, sheet path, answer-key path) for ``--out``: 'sheet' → sheet.md and sheet-solutions.md
    (by --format); a known extension (.md, .tex, .txt) picks the format when --format is not given."""
    base, ext = os.path.splitext(out)
    by_ext = {v: k for k, v in _EXTENSIONS.items()}.get(ext.lower())
    if by_ext is None:
        base, ext = out, ""
    elif fmt is not None and fmt != by_ext:
        raise ValueError(f"--out: {out!r} has the extension of {by_ext}, but --format is {fmt}")
    fmt = fmt or by_ext or "text"
    ext = ext or _EXTENSIONS[fmt]
    return fmt, base + ext, base + "-solutions" + ext


def _exercise_main(args) -> int:
    from . import generate

    where = f"exercise {args.kind}"
    try:
        if not 0 <= args.digits <= 15:
            raise ValueError(f"--digits: expected a whole number from 0 to 15, got {args.digits}")
        if args.count is not None:
            generate.check_count(args.count)
        fmt = args.format or "text"
        paths = None
        if args.out:
            fmt, sheet_path, key_path = _out_paths(args.out, args.format)
            paths = [sheet_path] if args.solution else [sheet_path, key_path]
        if args.count is None and paths is None:
            sys.stdout.write(generate.exercise(args.kind, args.seed, solution=args.solution, fmt=fmt,
                                               digits=args.digits, fragment=args.fragment))
            return 0
        count = 1 if args.count is None else args.count
        exs = generate.sheet(args.kind, count, args.seed)
        what = "a mix" if args.kind == "mix" else generate.TITLES[args.kind]
        cmd = f"glassnet exercise {args.kind} --count {count} --seed {args.seed}"
        sheet = generate.render_sheet(exs, fmt, args.digits, solutions=args.solution,
                                      title=f"Exercises: {what}", command=cmd)
        if paths is None:
            sys.stdout.write(sheet)
            return 0
        texts = [sheet] if args.solution else [
            sheet, generate.render_sheet(exs, fmt, args.digits, solutions=True,
                                         title=f"Answer key: {what}", command=cmd)]
        for path, text in zip(paths, texts):
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
    except (ValueError, RuntimeError) as err:
        return _fail(where, err)
    except OSError as err:
        return _fail(where, f"--out: cannot write {err.filename!r} ({err.strerror})")
    n = f"{count} exercise{'s' if count > 1 else ''}"
    print(f"wrote {paths[0]} ({n}{' with solutions' if args.solution else ''})"
          + ("" if args.solution else f" and {paths[1]} (the answer key)"))
    return 0
