"""``Optimizer``: parameter groups, per-parameter state, and state dicts.

An optimizer holds ``param_groups`` — lists of parameters that share
hyperparameters (a dict each: ``{'params': [...], 'lr': ..., ...}``) — and
``state[p]``, a dict of arrays per parameter (momentum buffers, moment
estimates). ``step()`` visits each parameter that has a gradient and calls the
subclass's update, which changes ``p._data`` in place.

``state_dict()`` has PyTorch's layout: ``{'state': {index: {...}},
'param_groups': [{..., 'params': [indices]}]}``, the parameters numbered in
the order the groups list them, so a checkpoint resumes exactly.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections import defaultdict

import numpy as np

from .. import autograd as _autograd
from ..autograd import bump_version as _bump_version
from ..autograd import enable_grad
from ..tensor import Tensor, _clear_grads, _plain_value


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


def check_hparam(opt: str, name: str, value, ok, expected: str) -> None:
    """Raise an error naming the optimizer, the argument, its value and the valid range.

    ``ok`` is a test of the value (a function of it, such as ``lambda v: v >= 0``): it runs
    only on a real number, so a string or None gives a TypeError saying a number is
    expected, never a comparison error from inside; a bool ``ok`` is the test's result.
    """
    if callable(ok):
        if not isinstance(value, numbers.Real):
            raise TypeError(f"{opt}: {name} must be a number, got {value!r} "
                            f"({type(value).__name__}); expected {expected}")
        ok = ok(value)
    if not ok:
        raise ValueError(f"{opt}: invalid {name} {value!r}; expected {expected}")


def non_negative(v) -> bool:
    return v >= 0


def check_common(opt: str, lr, **hparams) -> None:
    """The checks every optimizer makes: lr, and those of eps, weight_decay and momentum
    it has (passed by name), are numbers >= 0."""
    check_hparam(opt, "learning rate lr", lr, non_negative, "a number >= 0")
    for name, value in hparams.items():
        check_hparam(opt, name, value, non_negative, "a number >= 0")


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of parameters, or of dicts (parameter groups) with a
            ``'params'`` entry and optional per-group hyperparameters.
        defaults: hyperparameters used where a group does not set them.

    Subclasses implement ``_update(p, grad, state, group)``.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)  # state[p]: {} until p's first step
        self.param_groups: list = []
        self._work: dict = {}  # scratch arrays per parameter, reused across steps
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of tensors or "
                "dicts, got a single Tensor (wrap it in a list)"
            )
        groups = list(params)
        if not groups:
            raise ValueError(
                f"{type(self).__name__} got an empty parameter list "
                "(did the model register any Parameters?)"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. a layer
        to fine-tune with a smaller ``lr``)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"add_param_group: expected a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: parameter group {len(self.param_groups)} has no 'params' "
                             f"entry (got keys {sorted(map(str, param_group))}); a group is a dict "
                             "such as {'params': model.parameters(), 'lr': 0.1}")
        params = param_group["params"]
        try:
            params = [params] if isinstance(params, Tensor) else list(params)
        except TypeError:
            raise TypeError(f"{name}: the 'params' of parameter group {len(self.param_groups)} "
                            f"must be an iterable of tensors, got {type(params).__name__}") from None
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{name}: can only optimize Tensors, but parameter {i} is a {type(p).__name__}"
                )
            if not p.requires_grad:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) does not require grad")
            if not p.is_leaf:
                raise ValueError(
                    f"{name}: can't optimize a non-leaf tensor (parameter {i}, shape "
                    f"{p.shape}); pass the leaf, e.g. use .detach().requires_grad_()"
                )
        group = {"params": params}
        for k, v in self.defaults.items():
            v = param_group.get(k, v)
            if v is required:
                raise ValueError(
                    f"{name}: parameter group didn't specify a value of required "
                    f"hyperparameter {k!r}"
                )
            group[k] = v
        for k, v in param_group.items():
            group.setdefault(k, v)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError(
                f"{name}: some parameters appear in more than one parameter group (or twice in one)"
            )
        self._validate_group(group)
        self.param_groups.append(group)

    def _validate_group(self, group: dict) -> None:
        """Check a group's hyperparameters (subclasses check theirs)."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all optimized parameters (``None``, or zeros in place)."""
        _clear_grads((p for g in self.param_groups for p in g["params"]), set_to_none)

    def step(self, closure=None):
        """One update of every parameter that has a gradient.

        ``closure``, if given, re-evaluates the model and returns the loss.
        """
        rec = _autograd.current_recorder()
        if rec is not None:  # a watcher (gn.explain) runs the step itself, to see before and after
            return rec.on_optimizer_step(self, lambda: self._step(closure))
        return self._step(closure)

    def _step(self, closure):
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        state, update = self.state, self._update
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                update(p, p.grad._data, state[p], group)
                _bump_version(p)  # a graph built before the step can no longer backward through p
        return loss

    def _update(
        self, p: Tensor, grad: np.ndarray, state: dict, group: dict
    ) -> None:  # pragma: no cover
        raise NotImplementedError

    def _scratch(self, p: Tensor, like: np.ndarray, n: int = 1) -> list:
        """``n`` work arrays shaped like ``like``, kept per parameter so big
        updates do not allocate fresh temporaries every step."""
        w = self._work.get(p)
        if w is None or len(w) < n or w[0].shape != like.shape or w[0].dtype != like.dtype:
            w = self._work[p] = [np.empty_like(like) for _ in range(n)]
        return w

    # ------------------------------------------------------------ state dicts
    def state_dict(self) -> dict:
        """The state in PyTorch's layout:
        ``{'state': {i: {...}}, 'param_groups': [{..., 'params': [i, ...]}]}``.

        The state arrays are the optimizer's own (copy them to keep a snapshot).
        """
        index, groups, i = {}, [], 0
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = list(range(i, i + len(g["params"])))
            for p in g["params"]:
                index[id(p)] = i
                i += 1
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by ``state_dict()`` (ours or
        PyTorch's, with tensors converted or not). Groups must match in number
        and size. Everything is checked before anything changes."""
        self._prepare_load(state_dict)()

    def _prepare_load(self, state_dict):
        """Check ``state_dict`` against this optimizer and return a function that applies it
        (so a checkpoint can check every part before changing any)."""
        name = type(self).__name__
        where = f"{name}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{where}: expected a dict with 'state' and 'param_groups' (as "
                            f"state_dict() returns), got {type(state_dict).__name__}")
        saved, saved_state = state_dict.get("param_groups"), state_dict.get("state")
        if not isinstance(saved, (list, tuple)) or not all(isinstance(s, dict) for s in saved):
            raise TypeError(f"{where}: 'param_groups' must be a list of dicts, got "
                            f"{type(saved).__name__}")
        if not isinstance(saved_state, dict):
            raise TypeError(f"{where}: 'state' must be a dict of parameter index → state, got "
                            f"{type(saved_state).__name__}")
        if len(saved) != len(self.param_groups):
            raise ValueError(
                f"{where}: the state dict has {len(saved)} parameter "
                f"group(s) but the optimizer has {len(self.param_groups)}"
            )
        for i, (g, s) in enumerate(zip(self.param_groups, saved)):
            if not isinstance(s.get("params"), (list, tuple)):
                raise TypeError(f"{where}: parameter group {i} has no list of 'params'")
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"{where}: parameter group {i} has "
                    f"{len(g['params'])} parameters but the saved group has "
                    f"{len(s['params'])}"
                )
            for k, v in s.items():
                if k == "params" or k not in g:
                    continue
                if isinstance(g[k], (int, float)) and not isinstance(v, (int, float, np.number)):
                    raise TypeError(f"{where}: {k!r} of parameter group {i} must be a number, "
                                    f"got {v!r}")
        new_state = defaultdict(dict)
        params_by_index = {}
        for g, s in zip(self.param_groups, saved):
            for idx, p in zip(s["params"], g["params"]):
                params_by_index[idx] = p
        for idx, st in saved_state.items():
            try:
                p = params_by_index.get(int(idx))
            except (TypeError, ValueError):
                raise TypeError(f"{where}: state keys must be parameter indices, got "
                                f"{idx!r}") from None
            if p is None:
                continue
            if not isinstance(st, dict):
                raise TypeError(f"{where}: the state of parameter {idx} must be a dict, got "
                                f"{type(st).__name__}")
            new_state[p] = self._cast_state(p, st)
        try:
            groups = [{k: copy.deepcopy(_plain_value(v) if k != "betas" else
                                        tuple(float(b) for b in v))
                       for k, v in s.items() if k != "params"} for s in saved]
        except (TypeError, ValueError):
            raise TypeError(f"{where}: 'betas' must be a pair of numbers") from None

        def apply():
            for g, s in zip(self.param_groups, groups):
                g.update(s)
            self.state = new_state

        return apply
    @staticmethod
    def _cast_state(p: Tensor, st: dict) -> dict:
        out = {}
        for k, v in st.items():
            v = _plain_value(v)
            if k == "step":
                try:
                    out[k] = float(np.asarray(v))
                except (TypeError, ValueError):
                    raise TypeError(f"load_state_dict: state 'step' must be a number, got "
                                    f"{v!r}") from None
            elif isinstance(v, np.ndarray):
                if v.dtype.kind not in "fiub":
                    raise TypeError(f"load_state_dict: state {k!r} has dtype {v.dtype}; "
                                    "expected numbers")
                if v.shape != p.shape:
                    raise ValueError(
                        f"load_state_dict: state {k!r} has shape {v.shape} but its "
                        f"parameter has shape {p.shape}"
                    )
                out[k] = np.array(v, dtype=p._data.dtype if v.dtype.kind == "f" else v.dtype)
            else:
                out[k] = copy.deepcopy(v)
        return out

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_work"] = {}  # scratch space is not state
        return d

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(k for k in g if k != "params"):
                lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines) + "\n)"


def effective_grad(param, grad, weight_decay, maximize, out):
    """d = ±g + λθ — the gradient of the (negated, if maximizing) loss plus L2
    decay; ``grad`` itself when there is nothing to add."""
    if not weight_decay:
        return np.negative(grad, out=out) if maximize else grad
    np.multiply(param, weight_decay, out=out)
    return np.subtract(out, grad, out=out) if maximize else np.add(out, grad, out=out)


def prepare(param, grad, weight_decay, maximize, work):
    """The effective gradient (see ``effective_grad``) and a scratch array; the
    two work arrays shaped like ``param`` are allocated when ``work`` is None."""
    if work is None:
        work = (np.empty_like(param), np.empty_like(param))
    return effective_grad(param, grad, weight_decay, maximize, work[0]), work[1]


def step_ratio(param, num, denom, scale) -> None:
    """θ ← θ − scale · num/denom, in place; ``denom`` is overwritten."""
    np.divide(num, denom, out=denom)
    denom *= scale
    param -= denom


def bias_corrections(beta1: float, beta2: float, step: float):
    """Adam's 1 − β₁ᵗ and √(1 − β₂ᵗ)."""
    return 1 - beta1**step, math.sqrt(1 - beta2**step)
