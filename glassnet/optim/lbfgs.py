"""L-BFGS: a quasi-Newton method that builds its step from the last few gradient changes.

Each iteration turns the gradient g into a direction d ≈ −H⁻¹g with the two-loop
recursion over the stored pairs (s, y) = (step taken, change of gradient), using
H₀ = (sᵀy / yᵀy)·I, then moves θ ← θ + t d with a fixed step t = lr or one found by
a line search satisfying the strong Wolfe conditions. The loss is re-evaluated by a
closure, so one ``step(closure)`` runs up to ``max_iter`` iterations.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from ..autograd import bump_version, enable_grad
from ..tensor import _plain_value
from .optimizer import Optimizer, check_hparam, non_negative


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser, clipped to ``bounds`` (default: between x1 and x2), of the cubic through
    (x1, f1) and (x2, f2) with slopes g1 and g2; the middle of the bounds if it has none."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2
    d2 = math.sqrt(disc)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step t along d satisfying the strong Wolfe conditions
    f(t) ≤ f(0) + c₁ t ∇fᵀd  and  |∇f(t)ᵀd| ≤ c₂ |∇fᵀd|.

    ``evaluate(t)`` returns (loss, flat gradient) at θ + t d. The step first grows (each
    trial from a cubic fit, between 1.01 t and 10 t) until it brackets a good step, then the
    bracket is narrowed by cubic fits ("zoom"). Returns (loss, gradient, t, evaluations).
    """
    d_norm = float(np.abs(d).max())
    f_new, g_new = evaluate(t)
    evals, gtd_new = 1, float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g.copy(), gtd
    done, it = False, 0
    while it < max_ls:
        if f_new > f + c1 * t * gtd or (it > 1 and f_new >= f_prev):
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new.copy(), gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, done = [[t, f_new, g_new, gtd_new]], True
            break
        if gtd_new >= 0:  # past a minimum: it lies between the last two steps
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new.copy(), gtd_new]]
            break
        # extrapolate: a step between a little and ten times further
        t_next = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new.copy(), gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals, gtd_new, it = evals + 1, float(g_new @ d), it + 1
    if it == max_ls:
        bracket = [[0.0, f, g, gtd], [t, f_new, g_new, gtd_new]]
    # zoom: keep [low, high] with f(low) the lowest value seen, until a step satisfies both
    low, high = (0, 1) if len(bracket) == 1 or bracket[0][1] <= bracket[-1][1] else (1, 0)
    stuck = False
    while not done and it < max_ls:
        a, b = bracket[0][0], bracket[1][0]
        if abs(b - a) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(a, bracket[0][1], bracket[0][3], b, bracket[1][1], bracket[1][3])
        # a trial too close to an end makes little progress: move it inside, once in a row
        lo, hi = min(a, b), max(a, b)
        eps = 0.1 * (hi - lo)
        if min(hi - t, t - lo) < eps:
            if stuck or t >= hi or t <= lo:
                t = hi - eps if abs(t - hi) < abs(t - lo) else lo + eps
                stuck = False
            else:
                stuck = True
        else:
            stuck = False
        f_new, g_new = evaluate(t)
        evals, gtd_new, it = evals + 1, float(g_new @ d), it + 1
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = [t, f_new, g_new.copy(), gtd_new]
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = [t, f_new, g_new.copy(), gtd_new]
    t, f_new, g_new = bracket[low][0], bracket[low][1], bracket[low][2]
    return f_new, g_new, t, evals


class LBFGS(Optimizer):
    """L-BFGS with a closure: ``opt.step(closure)``, where ``closure`` clears the gradients,
    computes the loss, calls ``backward()`` and returns the loss (as ``torch.optim.LBFGS``).

    Liu & Nocedal (1989); the algorithm is described at the top of this module. All the
    parameters are treated as one vector, so there is a single parameter group.

    Args:
        params: parameters (one group).
        lr: the step size t (default 1; the first iteration uses min(1, 1/‖g‖₁)·lr).
        max_iter: iterations per ``step`` (default 20).
        max_eval: closure evaluations per ``step`` (default max_iter · 5/4).
        tolerance_grad: stop when max |g| ≤ this (default 1e-7).
        tolerance_change: stop when the step or the change of the loss is below this
            (default 1e-9).
        history_size: the (s, y) pairs kept (default 100).
        line_search_fn: None (fixed steps) or "strong_wolfe".
    Example:
        >>> opt = gn.optim.LBFGS(model.parameters(), lr=0.8)
        >>> def closure():
        ...     opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); return loss
        >>> opt.step(closure)
    """

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                    "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                    "history_size": history_size, "line_search_fn": line_search_fn}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS: parameter groups are not supported (all the parameters "
                             "form one vector); pass the parameters as one list")
        self._params = self.param_groups[0]["params"]

    def _validate_group(self, g):
        check_hparam("LBFGS", "learning rate lr", g["lr"], lambda v: v > 0, "a number > 0")
        for name in ("max_iter", "max_eval", "history_size"):
            check_hparam("LBFGS", name, g[name], lambda v: v >= 1 and float(v).is_integer(),
                         "a whole number >= 1")
        for name in ("tolerance_grad", "tolerance_change"):
            check_hparam("LBFGS", name, g[name], non_negative, "a number >= 0")
        if g["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                             f"{g['line_search_fn']!r}")

    # the parameters as one flat vector
    def _flat_grad(self):
        return np.concatenate([np.zeros(p._data.size, p._data.dtype) if p.grad is None
                               else p.grad._data.reshape(-1) for p in self._params])

    def _add_to_params(self, t, d):
        i = 0
        for p in self._params:
            n = p._data.size
            p._data += (t * d[i:i + n]).reshape(p.shape).astype(p._data.dtype, copy=False)
            bump_version(p)
            i += n

    def _set_params(self, values):
        for p, v in zip(self._params, values):
            p._data[...] = v
            bump_version(p)

    def _evaluate(self, closure):
        with enable_grad():
            loss = closure()
        return float(loss), self._flat_grad()

    def _step(self, closure):
        if closure is None:
            raise RuntimeError("LBFGS: step needs a closure that computes the loss and its "
                               "gradients (opt.step(closure)); see help(gn.optim.LBFGS)")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss, g = float(orig_loss), self._flat_grad()
        evals = 1
        state["func_evals"] += 1
        if np.abs(g).max() <= tol_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_g, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, old_dirs, old_stps, ro, h_diag = -g, [], [], [], 1.0
            else:
                # remember the pair (s, y) when the curvature sᵀy is positive
                y, s = g - prev_g, d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                # two-loop recursion: d = −H⁻¹ g
                al = [0.0] * len(old_dirs)
                q = -g
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = float(old_stps[i] @ q) * ro[i]
                    q = q - al[i] * old_dirs[i]
                d = q * h_diag
                for i in range(len(old_dirs)):
                    be = float(old_dirs[i] @ d) * ro[i]
                    d = d + (al[i] - be) * old_stps[i]
            prev_g, prev_loss = g.copy(), loss
            t = min(1.0, 1.0 / float(np.abs(g).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(g @ d)
            if gtd > -tol_change:  # not a descent direction
                break
            ls_evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                start = [p._data.copy() for p in self._params]

                def evaluate(step, d=d, start=start):
                    self._add_to_params(step, d)
                    result = self._evaluate(closure)
                    self._set_params(start)
                    return result

                loss, g, t, ls_evals = strong_wolfe(evaluate, t, d, loss, g, gtd)
                self._add_to_params(t, d)
                done = np.abs(g).max() <= tol_grad
            else:
                self._add_to_params(t, d)
                done = False
                if n_iter != max_iter:
                    loss, g = self._evaluate(closure)
                    done = np.abs(g).max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            if n_iter == max_iter or evals >= max_eval or done:
                break
            if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_g, prev_loss=prev_loss)
        return orig_loss

    @staticmethod
    def _cast_state(p, st):
        # the state is of the flat vector of all parameters, not shaped like one of them
        def plain(v):
            v = _plain_value(v)
            if isinstance(v, (list, tuple)):
                return [plain(x) for x in v]
            if isinstance(v, np.ndarray):
                return np.array(v, dtype=p._data.dtype) if v.ndim else float(v)
            return copy.deepcopy(v)

        return {k: plain(v) for k, v in st.items()}
