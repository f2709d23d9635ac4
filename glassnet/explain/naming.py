"""Textbook names for the tensors of a model run inside ``gn.explain()``.

While an explanation records, a module forward hook (``nn.module.
register_module_forward_hook``) notes every module call the recording thread
makes — the module, its inputs and its output — in the order the calls finish
(other threads' calls are not its). From those calls the
chapter's names follow:

- a layer with weights (``Linear``, ``Conv``, ``RNN``/``LSTM``/``GRU``,
  ``Embedding``) starts layer l = 1, 2, …, or is called by its own attribute
  name where it has one (``self.fc1 = nn.Linear(...)`` → layer ``fc1``);
- its parameters are W^[l] and b^[l] (recurrent layers W_xh^[l], W_hh^[l],
  b_xh^[l], b_hh^[l]; batch normalisation γ^[l], β^[l]);
- its output is z^[l] (h^[l] for a recurrent layer), the output of the
  activation after it a^[l], of a pooling layer p^[l];
- the model's input is x.

The recorder adds the rest (the target y of a loss, the loss L) and lets a
``name=`` the user gave win over all of these.
"""

from __future__ import annotations

import threading

from ..nn import activation as _activation
from ..nn.module import register_module_forward_hook
from ..tensor import Tensor

_RECURRENT_PARAMS = {"weight_ih": "W_xh", "weight_hh": "W_hh", "bias_ih": "b_xh", "bias_hh": "b_hh",
                     "weight_hr": "W_hr"}
_NORM_PARAMS = {"weight": "γ", "bias": "β"}
_LAYER_PARAMS = {"weight": "W", "bias": "b"}


def _kind(module) -> str:
    """'layer', 'norm', 'activation', 'pool' or 'other', by what the module does in a network."""
    from ..nn import conv, linear, normalization, pooling, rnn, sparse

    if isinstance(module, (normalization._BatchNorm, normalization.LayerNorm)):
        return "norm"
    if isinstance(module, (linear.Linear, conv.Conv1d, conv.Conv2d, rnn.RNNBase, rnn.RNNCellBase,
                           sparse.Embedding)):
        return "layer"
    if type(module).__module__ == _activation.__name__:
        return "activation"
    if isinstance(module, (pooling._Pool, pooling.AdaptiveAvgPool2d)):
        return "pool"
    return "other"


def _output_letter(module) -> str:
    from ..nn import rnn, sparse

    if isinstance(module, (rnn.RNNBase, rnn.RNNCellBase)):
        return "h"
    if isinstance(module, sparse.Embedding):
        return "e"
    return "z"


def _param_symbol(kind: str, pname: str) -> str | None:
    if kind == "norm":
        return _NORM_PARAMS.get(pname)
    base, _, layer = pname.rpartition("_l")
    if base in _RECURRENT_PARAMS:  # weight_ih_l0, weight_hh_l1_reverse
        k, _, reverse = layer.partition("_")
        symbol = _RECURRENT_PARAMS[base]
        return symbol + ("" if k == "0" else f",{int(k) + 1}") + ("←" if reverse else "")
    if pname in _RECURRENT_PARAMS:  # the cells: weight_ih, bias_hh
        return _RECURRENT_PARAMS[pname]
    return _LAYER_PARAMS.get(pname)


def _first_tensor(out):
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
        return out[0]
    return None


class ModelNames:
    """Watches module calls while active and names their tensors as the chapter does.
    Only the calls of the thread that started it: an explanation records one thread."""

    def __init__(self):
        self.calls: list = []
        self._handle = None
        self._thread = None

    def start(self) -> None:
        self._thread = threading.get_ident()
        self._handle = register_module_forward_hook(self._on_call)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _on_call(self, module, args, out):
        if threading.get_ident() == self._thread:
            self.calls.append((module, args, out))

    def names(self) -> list[tuple[Tensor, str]]:
        """(tensor, textbook name) for every tensor the watched calls tell something about."""
        if not self.calls:
            return []
        called = {}
        for m, _, _ in self.calls:
            called.setdefault(id(m), m)
        inside = {}  # id(module) -> the called modules inside it
        for mid, m in called.items():
            inside[mid] = {id(c) for c in m.modules() if c is not m and id(c) in called}
        nested = set().union(*inside.values())
        roots = [m for mid, m in called.items() if mid not in nested]
        attr, root_of = {}, {}
        for i, root in enumerate(roots):
            for name, sub in root.named_modules():
                attr.setdefault(id(sub), name.rpartition(".")[2])
                root_of.setdefault(id(sub), i)
        out: list = []
        labels: dict = {}  # id(layer module) -> its label
        counts: dict = {}  # root -> layers numbered in it so far
        current, model = None, None
        for m, args, result in self.calls:
            if inside[id(m)]:  # a container: its children are named one by one
                continue
            if root_of.get(id(m)) != model:  # another model: its layers are its own
                current, model = None, root_of.get(id(m))
            kind = _kind(m)
            if kind == "layer":
                current = labels.get(id(m))
                if current is None:
                    counts[model] = counts.get(model, 0) + 1  # layers count from 1 in each model
                    own = attr.get(id(m), "")
                    current = own if own and not own.isdigit() else str(counts[model])
                    labels[id(m)] = current
            if current is None:
                continue
            if kind in ("layer", "norm"):
                for pname, p in m._parameters.items():
                    symbol = _param_symbol(kind, pname)
                    if p is not None and symbol:
                        out.append((p, f"{symbol}^[{current}]"))
            t = _first_tensor(result)
            letter = {"layer": _output_letter(m), "activation": "a", "pool": "p"}.get(kind)
            if t is not None and letter:
                out.append((t, f"{letter}^[{current}]"))
        for m, args, _ in self.calls:  # the model's input: the first argument of a root call
            if any(m is r for r in roots) and args and isinstance(args[0], Tensor):
                out.append((args[0], "x"))
        return out
