"""Learning-rate schedules, as ``torch.optim.lr_scheduler``.

A scheduler changes ``group['lr']`` of its optimizer each time ``step()`` is
called (once per epoch, or per batch for warm-up), after ``optimizer.step()``.
The multiplicative schedules update the current lr recursively, as PyTorch
does, so sequences agree with PyTorch's to the last bit and compose with
other schedulers on the same optimizer.

    opt = gn.optim.SGD(model.parameters(), lr=0.1)
    sched = gn.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    for epoch in range(30):
        train_one_epoch(); sched.step()
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_right
from collections import Counter

import numpy as np

from .optimizer import Optimizer


def _lrs(optimizer):
    return [g["lr"] for g in optimizer.param_groups]


class LRScheduler:
    """Base class: keeps ``last_epoch`` (steps taken) and ``base_lrs``.

    Subclasses implement ``get_lr()``, the new lr of each group at
    ``self.last_epoch``. Construction performs step 0 (which leaves the lr at
    its initial value for all but ``LinearLR``).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expected a glassnet Optimizer, got "
                f"{type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        if last_epoch == -1:
            for g in optimizer.param_groups:
                g.setdefault("initial_lr", g["lr"])
        else:
            for i, g in enumerate(optimizer.param_groups):
                if "initial_lr" not in g:
                    raise KeyError(
                        f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr' "
                        f"but last_epoch={last_epoch}; resume from a loaded optimizer "
                        "state or use last_epoch=-1"
                    )
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:  # pragma: no cover - abstract
        raise NotImplementedError

    def _closed_form(self) -> list:
        """The lr of each group at ``self.last_epoch`` computed directly, not from the
        current lr; schedules whose ``get_lr`` is recursive override this."""
        return self.get_lr()

    def get_last_lr(self) -> list:
        """The learning rates set by the latest ``step()``, one per parameter group."""
        return self._last_lr

    def step(self) -> None:
        """Advance one epoch (or iteration) and set each group's lr."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:  # jump straight to ``epoch`` (SequentialLR at a milestone)
            self.last_epoch = epoch
            values = self._closed_form()
        for g, lr in zip(self.optimizer.param_groups, values):
            g["lr"] = lr
        self._last_lr = _lrs(self.optimizer)

    def state_dict(self) -> dict:
        """Everything but the optimizer (and functions, which cannot be saved)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict()`` returned; checked against this scheduler's own
        state first (the same entries, of the same kinds), so nothing changes on an error."""
        check_state_layout(state_dict, self.state_dict(), f"{type(self).__name__}.load_state_dict")
        self.__dict__.update(state_dict)

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


class LambdaLR(LRScheduler):
    """lr = base_lr · λ(epoch), with one function per group or one for all.

    Example:
        >>> sched = LambdaLR(opt, lambda epoch: 0.95 ** epoch)
    """

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = _lr_lambdas("LambdaLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * _factor(self, f) for f, base in zip(self.lr_lambdas, self.base_lrs)]


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs:
    lr = base_lr · γ^⌊epoch/step_size⌋.

    Example:
        >>> sched = StepLR(opt, step_size=30, gamma=0.1)   # 0.1, then 0.01 from epoch 30, ...
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _lrs(self.optimizer)
        return [lr * self.gamma for lr in _lrs(self.optimizer)]

    def _closed_form(self):
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each epoch in ``milestones``.

    Example:
        >>> sched = MultiStepLR(opt, milestones=[30, 80], gamma=0.1)
    """

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        ms = list(milestones)
        if ms != sorted(ms):
            raise ValueError(f"MultiStepLR: milestones must be increasing, got {ms}")
        self.milestones, self.gamma = Counter(ms), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return _lrs(self.optimizer)
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in _lrs(self.optimizer)]

    def _closed_form(self):
        ms = sorted(self.milestones.elements())
        return [b * self.gamma ** bisect_right(ms, self.last_epoch) for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch: lr = base_lr · γ^epoch."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return _lrs(self.optimizer)
        return [lr * self.gamma for lr in _lrs(self.optimizer)]

    def _closed_form(self):
        return [b * self.gamma**self.last_epoch for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from base_lr down to ``eta_min`` over ``T_max`` epochs:
    lr ≈ η_min + ½(base_lr − η_min)(1 + cos(π·epoch/T_max)).

    Computed recursively from the current lr (PyTorch's formula), so it
    follows other changes to the lr; past T_max it rises again (period 2·T_max).

    Example:
        >>> sched = CosineAnnealingLR(opt, T_max=50)
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return _lrs(self.optimizer)
        if self._step_count == 1 and e > 0:
            return [lo + (b - lo) * (1 + math.cos(e * math.pi / T)) / 2 for b in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:
            return [
                g["lr"] + (b - lo) * (1 - math.cos(math.pi / T)) / 2
                for b, g in zip(self.base_lrs, groups)
            ]
        return [
            (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (g["lr"] - lo)
            + lo
            for g in groups
        ]

    def _closed_form(self):
        return [
            self.eta_min
            + (b - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
            for b in self.base_lrs
        ]


class LinearLR(LRScheduler):
    """Scale the lr by a factor moving linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` steps (linear warm-up), then keep it.

    Example:
        >>> sched = LinearLR(opt, start_factor=0.1, total_iters=5)  # 10% → 100% in 5 steps
    """

    def __init__(
        self,
        optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        if total_iters <= 0:
            raise ValueError(f"LinearLR: total_iters must be positive, got {total_iters}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        s, f, n = self.start_factor, self.end_factor, self.total_iters
        if self.last_epoch == 0:
            return [lr * s for lr in _lrs(self.optimizer)]
        if self._is_initial or self.last_epoch > n:
            return _lrs(self.optimizer)
        return [
            lr * (1.0 + (f - s) / (n * s + (self.last_epoch - 1) * (f - s)))
            for lr in _lrs(self.optimizer)
        ]

    def _closed_form(self):
        s, f, n = self.start_factor, self.end_factor, self.total_iters
        return [b * (s + (f - s) * min(n, self.last_epoch) / n) for b in self.base_lrs]


def _check_schedulers(name, schedulers, optimizer) -> None:
    """Schedulers to combine: at least one, none needing a metric, all on ``optimizer``."""
    if not schedulers:
        raise ValueError(f"{name}: expects at least one scheduler, got none")
    for i, s in enumerate(schedulers):
        if isinstance(s, ReduceLROnPlateau):
            raise TypeError(
                f"{name}: scheduler {i} is a ReduceLROnPlateau, which needs a metric in "
                "step() and cannot be combined"
            )
        if getattr(s, "optimizer", None) is not optimizer:
            raise ValueError(
                f"{name}: scheduler {i} ({type(s).__name__}) belongs to a different optimizer"
            )


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the ``milestones``
    (e.g. a LinearLR warm-up, then CosineAnnealingLR).

    Example:
        >>> warm = LinearLR(opt, start_factor=0.1, total_iters=5)
        >>> cos = CosineAnnealingLR(opt, T_max=45)
        >>> sched = SequentialLR(opt, [warm, cos], milestones=[5])
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch: int = -1):
        schedulers, milestones = list(schedulers), list(milestones)
        _check_schedulers("SequentialLR", schedulers, optimizer)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: expects one milestone fewer than schedulers, got "
                f"{len(schedulers)} schedulers and {len(milestones)} milestones"
            )
        self._schedulers, self._milestones = schedulers, milestones
        self.optimizer = optimizer
        self.last_epoch = last_epoch + 1
        for g in optimizer.param_groups:
            g["lr"] = g["initial_lr"]
        for s in schedulers:  # undo the step each one took when it was built
            s.last_epoch -= 1
        idx = bisect_right(milestones, 0)
        schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            s._update_lr(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()

    def state_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        out["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return out

    def load_state_dict(self, state_dict: dict) -> None:
        check_state_layout(state_dict, self.state_dict(), f"{type(self).__name__}.load_state_dict")
        state_dict = dict(state_dict)
        subs = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for s, sd in zip(self._schedulers, subs):
            s.load_state_dict(sd)


def _kind(v) -> str:
    if v is None:
        return "None"
    if isinstance(v, (bool, int, float, np.number)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "dict"
    if isinstance(v, (list, tuple)):
        return "list"
    return type(v).__name__


def check_state_layout(saved, own, where: str, path: str = "state") -> None:
    """Raise a clear TypeError/ValueError unless ``saved`` has ``own``'s layout: the same
    keys, and numbers, strings, lists (of the same length) and dicts where ``own`` has them
    (None on either side matches anything: optional values)."""
    if saved is None or own is None:
        return
    ks, ko = _kind(saved), _kind(own)
    if ks != ko:
        raise TypeError(f"{where}: {path} must be a {ko}, got {saved!r:.80}")
    if ks == "dict":
        if set(saved) != set(own) and not isinstance(own, Counter):
            missing = sorted(map(str, set(own) - set(saved)))
            extra = sorted(map(str, set(saved) - set(own)))
            raise ValueError(f"{where}: {path} does not fit this scheduler (missing: "
                             f"{missing or 'none'}; unexpected: {extra or 'none'})")
        if not isinstance(own, Counter):
            for k in own:
                check_state_layout(saved[k], own[k], where, f"{path}[{k!r}]")
    elif ks == "list":
        if len(saved) != len(own):
            raise ValueError(f"{where}: {path} has {len(saved)} entries, this scheduler "
                             f"{len(own)}")
        for i, (a, b) in enumerate(zip(saved, own)):
            check_state_layout(a, b, where, f"{path}[{i}]")


def _per_group(name, optimizer, value, what="values") -> list:
    """A value per parameter group: the list given (checked), or one value repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{name}: expected {n} {what} (one per parameter group), got {len(value)}"
            )
        return list(value)
    return [value] * n


def _factor(sched, f) -> float:
    """``f(last_epoch)``, the factor of LambdaLR and MultiplicativeLR, checked to be a number."""
    v = f(sched.last_epoch)
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return v
    if isinstance(v, np.ndarray) and v.size == 1 and v.dtype.kind in "fiu":
        return v.item()
    raise TypeError(f"{type(sched).__name__}: lr_lambda returned {v!r} ({type(v).__name__}) at "
                    f"epoch {sched.last_epoch}; it must return a number, the factor for the lr")


def _lr_lambdas(name, optimizer, lr_lambda) -> list:
    """One callable per parameter group (``LambdaLR``, ``MultiplicativeLR``)."""
    fs = _per_group(name, optimizer, lr_lambda, "lr_lambdas")
    for f in fs:
        if not callable(f):
            raise TypeError(f"{name}: lr_lambda must be callable, got {type(f).__name__}")
    return fs


class MultiplicativeLR(LRScheduler):
    """Multiply the lr by λ(epoch) every epoch: lr ← lr · λ(epoch).

    Example:
        >>> sched = MultiplicativeLR(opt, lambda epoch: 0.95)
    """

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = _lr_lambdas("MultiplicativeLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return _lrs(self.optimizer)
        return [
            g["lr"] * _factor(self, f)
            for f, g in zip(self.lr_lambdas, self.optimizer.param_groups)
        ]


class ConstantLR(LRScheduler):
    """Scale the lr by ``factor`` for the first ``total_iters`` epochs, then restore it.

    Example:
        >>> sched = ConstantLR(opt, factor=0.5, total_iters=4)
    """

    def __init__(
        self, optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1
    ):
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {factor}")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in _lrs(self.optimizer)]
        if self.last_epoch != self.total_iters:
            return _lrs(self.optimizer)
        return [lr * (1.0 / self.factor) for lr in _lrs(self.optimizer)]

    def _closed_form(self):
        f = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [b * f for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the lr to 0 over ``total_iters`` epochs:
    lr = base_lr · (1 − epoch/total_iters)^power.

    Example:
        >>> sched = PolynomialLR(opt, total_iters=20, power=2.0)
    """

    def __init__(self, optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1):
        if total_iters <= 0:
            raise ValueError(f"PolynomialLR: total_iters must be positive, got {total_iters}")
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, n = self.last_epoch, self.total_iters
        if self._is_initial or e > n:
            return _lrs(self.optimizer)
        decay = ((1.0 - e / n) / (1.0 - (e - 1) / n)) ** self.power
        return [lr * decay for lr in _lrs(self.optimizer)]

    def _closed_form(self):
        n = self.total_iters
        return [b * (1.0 - min(n, self.last_epoch) / n) ** self.power for b in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing restarted every T_i epochs (SGDR): lr = η_min +
    ½(base_lr − η_min)(1 + cos(π T_cur/T_i)), with T_i = T_0, T_0·T_mult, ...

    ``step(epoch)`` accepts fractional epochs, to anneal within an epoch
    (``sched.step(epoch + i / iters_per_epoch)``).

    Example:
        >>> sched = CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2)
    """

    def __init__(
        self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0, last_epoch: int = -1
    ):
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(
                f"CosineAnnealingWarmRestarts: T_0 must be a positive integer, got {T_0!r}"
            )
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(
                f"CosineAnnealingWarmRestarts: T_mult must be an integer >= 1, got {T_mult!r}"
            )
        self.T_0 = self.T_i = T_0
        self.T_mult, self.eta_min = T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [
            self.eta_min + (b - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
            for b in self.base_lrs
        ]

    def step(self, epoch: float | None = None) -> None:
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ValueError(
                    f"CosineAnnealingWarmRestarts: epoch must be non-negative, got {epoch}"
                )
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i, self.T_cur = self.T_0, epoch
        self.last_epoch = math.floor(epoch)
        for g, lr in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = lr
        self._last_lr = _lrs(self.optimizer)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith): per batch, the lr rises from max_lr/div_factor
    to ``max_lr`` over the first ``pct_start`` of the steps, then anneals to
    max_lr/(div_factor·final_div_factor); momentum (or Adam's β₁) moves the
    opposite way between ``max_momentum`` and ``base_momentum``.

    Args:
        max_lr: peak lr (one value or one per group).
        total_steps: number of steps, or give ``epochs`` and ``steps_per_epoch``.
        anneal_strategy: 'cos' or 'linear'.
        three_phase: anneal back to the initial lr before the final decay.
    Example:
        >>> sched = OneCycleLR(opt, max_lr=0.1, epochs=10, steps_per_epoch=len(loader))
        >>> # call sched.step() after every batch
    """

    def __init__(
        self,
        optimizer,
        max_lr,
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum=0.85,
        max_momentum=0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"OneCycleLR: expected a glassnet Optimizer, got {type(optimizer).__name__}"
            )
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
            for name, v in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if not isinstance(v, int) or v <= 0:
                    raise ValueError(f"OneCycleLR: {name} must be a positive integer, got {v!r}")
            total_steps = epochs * steps_per_epoch
        elif not isinstance(total_steps, int) or total_steps <= 0:
            raise ValueError(
                f"OneCycleLR: total_steps must be a positive integer, got {total_steps!r}"
            )
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        self.optimizer, self.total_steps, self.anneal_strategy = (
            optimizer,
            total_steps,
            anneal_strategy,
        )
        up = float(pct_start * total_steps) - 1
        if three_phase:
            self._phases = [
                (up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (
                    float(2 * pct_start * total_steps) - 2,
                    "max_lr",
                    "initial_lr",
                    "base_momentum",
                    "max_momentum",
                ),
                (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._phases = [
                (up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        if last_epoch == -1:
            for g, m in zip(optimizer.param_groups, _per_group("OneCycleLR", optimizer, max_lr)):
                g["initial_lr"] = m / div_factor
                g["max_lr"] = m
                g["min_lr"] = g["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    f"OneCycleLR: cycle_momentum needs an optimizer with momentum or betas, "
                    f"got {type(optimizer).__name__} (pass cycle_momentum=False)"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            if last_epoch == -1:
                for g, hi, lo in zip(
                    optimizer.param_groups,
                    _per_group("OneCycleLR", optimizer, max_momentum),
                    _per_group("OneCycleLR", optimizer, base_momentum),
                ):
                    self._set_momentum(g, hi)
                    g["max_momentum"], g["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, g, m):
        if self.use_beta1:
            g["betas"] = (m, *g["betas"][1:])
        else:
            g["momentum"] = m

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times but total_steps is {self.total_steps}")
        lrs = []
        for g in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if t <= end or i == len(self._phases) - 1:
                    pct = (t - start) / (end - start)
                    lrs.append(self._anneal(g[lr0], g[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(g, self._anneal(g[m0], g[m1], pct))
                    break
                start = end
        return lrs


class ChainedScheduler(LRScheduler):
    """Step several schedulers together each time (their effects multiply).

    Example:
        >>> sched = ChainedScheduler([ConstantLR(opt, 0.1, total_iters=2), ExponentialLR(opt, 0.9)])
    """

    def __init__(self, schedulers, optimizer: Optimizer | None = None):
        schedulers = list(schedulers)
        optimizer = optimizer or (schedulers[0].optimizer if schedulers else None)
        _check_schedulers("ChainedScheduler", schedulers, optimizer)
        self._schedulers, self.optimizer = schedulers, optimizer
        self._last_lr = _lrs(optimizer)

    def step(self) -> None:
        for s in self._schedulers:
            s.step()
        self._last_lr = _lrs(self.optimizer)

    state_dict = SequentialLR.state_dict
    load_state_dict = SequentialLR.load_state_dict


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when a metric has stopped improving for
    more than ``patience`` epochs. Call ``step(metric)`` once per epoch.

    Args:
        mode: 'min' (loss) or 'max' (accuracy).
        factor: multiplier, < 1 (default 0.1).
        patience: epochs without improvement to tolerate (default 10).
        threshold: how much better counts as better (default 1e-4).
        threshold_mode: 'rel' (best·(1 ∓ threshold)) or 'abs' (best ∓ threshold).
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: lower bound on the lr (a number, or one per group).
        eps: reductions smaller than this are skipped.
    Example:
        >>> sched = ReduceLROnPlateau(opt, mode="min", patience=2)
        >>> sched.step(val_loss)
    """

    def __init__(
        self,
        optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr=0.0,
        eps: float = 1e-8,
    ):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"ReduceLROnPlateau: expected a glassnet Optimizer, got {type(optimizer).__name__}"
            )
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
            )
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"ReduceLROnPlateau: expected {n} min_lrs, got {len(min_lr)}")
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * n
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.last_epoch = 0
        self._last_lr = _lrs(optimizer)
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return (
                a < best * (1 - self.threshold)
                if self.threshold_mode == "rel"
                else a < best - self.threshold
            )
        return (
            a > best * (1 + self.threshold)
            if self.threshold_mode == "rel"
            else a > best + self.threshold
        )

    def step(self, metrics) -> None:
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            if (
                len(self.min_lrs) != len(self.optimizer.param_groups)
                and self.default_min_lr is not None
            ):
                self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
            for g, lo in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(g["lr"] * self.factor, lo)
                if g["lr"] - new > self.eps:
                    g["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _lrs(self.optimizer)

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0


_LRScheduler = LRScheduler  # older PyTorch name
