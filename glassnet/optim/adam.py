"""Adam and AdamW: per-parameter step sizes from running moments of the gradient."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, bias_corrections, check_common, check_hparam, prepare, step_ratio


def adam(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    max_exp_avg_sq,
    step,
    *,
    lr,
    beta1,
    beta2,
    eps,
    weight_decay=0.0,
    amsgrad=False,
    maximize=False,
    decoupled_weight_decay=False,
    work=None,
):
    """One Adam step on arrays (t = ``step``, counted from 1), in place.

    The rule (as ``torch.optim.Adam``/``AdamW``), g = ∇θ (−∇θ when maximizing)::

        θ ← θ(1 − γλ)                    (AdamW: decoupled weight decay)
        g ← g + λθ                       (Adam: L2 weight decay)
        m ← β₁m + (1 − β₁)g
        v ← β₂v + (1 − β₂)g²
        v̂ ← max(v̂, v)  if amsgrad, else v̂ = v
        θ ← θ − γ/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)

    Args:
        work: two scratch arrays shaped like ``param`` (allocated if None).
    """
    if decoupled_weight_decay and weight_decay:
        param *= 1 - lr * weight_decay
    g, t = prepare(param, grad, 0.0 if decoupled_weight_decay else weight_decay, maximize, work)
    np.subtract(g, exp_avg, out=t)  # m ← m + (1 − β₁)(g − m)
    t *= 1 - beta1
    exp_avg += t
    np.multiply(g, g, out=t)
    t *= 1 - beta2
    exp_avg_sq *= beta2
    exp_avg_sq += t
    bc1, bc2_sqrt = bias_corrections(beta1, beta2, step)
    v = exp_avg_sq
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    np.sqrt(v, out=t)
    t /= bc2_sqrt
    t += eps
    step_ratio(param, exp_avg, t, lr / bc1)


class Adam(Optimizer):
    """Adam: θ ← θ − γ m̂/(√v̂ + ε), m̂ and v̂ the bias-corrected running means of g and g².

    Kingma & Ba (2015). The full rule, with AMSGrad and weight decay, is in ``adam``.

    Args:
        params: parameters or parameter groups.
        lr: learning rate γ (default 1e-3).
        betas: (β₁, β₂), decay rates of the two moment estimates (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty λ added to the gradient (default 0).
        amsgrad: use the maximum of past second moments (AMSGrad).
        maximize: ascend the objective instead.
    Example:
        >>> opt = gn.optim.Adam(model.parameters(), lr=1e-3)
    """

    _decoupled = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate_group(self, g):
        name = type(self).__name__
        check_common(name, g["lr"], eps=g["eps"], weight_decay=g["weight_decay"])
        betas = g["betas"]
        check_hparam(name, "betas", betas, isinstance(betas, (tuple, list)) and len(betas) == 2,
                     "a pair (beta1, beta2)")
        for i, b in enumerate(betas):
            check_hparam(name, f"beta parameter at index {i}", b, lambda v: 0 <= v < 1,
                         "a number in [0, 1)")
        g["betas"] = tuple(betas)

    def _update(self, p, grad, state, group):
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = np.zeros_like(p._data)
            state["exp_avg_sq"] = np.zeros_like(p._data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p._data)
        state["step"] += 1
        beta1, beta2 = group["betas"]
        adam(
            p._data,
            grad,
            state["exp_avg"],
            state["exp_avg_sq"],
            state.get("max_exp_avg_sq"),
            state["step"],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            amsgrad=group["amsgrad"],
            maximize=group["maximize"],
            decoupled_weight_decay=self._decoupled,
            work=self._scratch(p, grad, 2),
        )


class AdamW(Adam):
    """AdamW: θ ← θ(1 − γλ) − γ m̂/(√v̂ + ε), Adam with decoupled weight decay.

    Loshchilov & Hutter (2019): the decay shrinks θ directly instead of adding
    λθ to the gradient. The full rule is in ``adam``.

    Arguments as ``Adam``; ``weight_decay`` defaults to 1e-2.
    Example:
        >>> opt = gn.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    """

    _decoupled = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
