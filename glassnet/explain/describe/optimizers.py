"""Optimizer updates beyond plain gradient descent, per parameter element, with the
optimizer's own numbers (its state after the step and the parameter before and after).

- SGD with momentum μ (dampening τ, Nesterov), as ``optim.sgd``: the velocity
  v ← μ·v + (1 − τ)·g (v ← g at the first step), θ ← θ − η·v
  (Nesterov: θ ← θ − η·(g + μ·v)). Plain SGD keeps θ ← θ − η·∂L/∂θ.
- RMSprop: v ← α·v + (1 − α)·g², θ ← θ − η·g/(√v + ε) (centered: √(v − ḡ²);
  with momentum u ← μ·u + g/(√v + ε), θ ← θ − η·u).
- Adam and AdamW: m ← β₁·m + (1 − β₁)·g, v ← β₂·v + (1 − β₂)·g², the bias corrections
  m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), and θ ← θ − η·m̂/(√v̂ + ε) (AdamW first shrinks θ by
  1 − η·λ; AMSGrad uses the largest v so far).

g is ∂L/∂θ, plus λ·θ with weight decay λ (negated when maximizing). The state before
the step, which the optimizer no longer holds, is the one its rule implies: zero at
the first step, else what the step's update leaves when taken back.
"""

from __future__ import annotations

import numpy as np

from ...optim import SGD, Adam, AdamW, RMSprop
from .. import build as X
from ..records import Call, Deriv, Eq, Frac, Neg, Num, Operand, Pow, Prod, Ref, Sum, Sym, Text
from ..registry import describes_update
from ._course import ALPHA, BETA1, BETA2, EPS, LAMBDA, TAU, Named, Paren, Rel, Sqrt

ETA = Sym("η")
MU = Named("μ", r"\mu")
G = Named("g", "g")
V = Named("v", "v")
M = Named("m", "m")
U = Named("u", "u")  # RMSprop's momentum buffer
GBAR = Named("ḡ", r"\bar{g}")
MHAT = Named("m̂", r"\hat{m}")
VHAT = Named("v̂", r"\hat{v}")
VMAX = Named("v_max", r"v_{\max}")
T = Named("t", "t")


def num(v):
    return Num(float(v))


class _Param:
    """One parameter of the step: its operands before and after, and its effective gradient."""

    def __init__(self, rec, recorder, weight_decay=0.0, maximize=False):
        p = rec.param
        self.rec, self.recorder = rec, recorder
        self.before = Operand(p, rec.before, recorder._auto(p, "w"))
        self.after = Operand(p, rec.after, self.before.auto)
        grad, theta = np.asarray(rec.grad, np.float64), np.asarray(rec.before, np.float64)
        self.wd, self.maximize = float(weight_decay), bool(maximize)
        # as optim.optimizer.effective_grad: ±∇ + λθ
        g = -grad if self.maximize else grad
        self.g = theta * self.wd + g if self.wd else g
        self.shape = np.shape(rec.before)
        self.exact = np.asarray(rec.param._data).dtype == np.float64

    def dL(self, i):
        return Deriv(self.recorder.loss_expr(), Ref(self.before, i or None))

    def theta(self, i):
        return Ref(self.before, i or None)

    def grad_sym(self, i):
        """The gradient used by the rule: ∂L/∂θ_i itself, or g_i when decay/maximize change it."""
        return G.at(i or None) if (self.wd or self.maximize) else self.dL(i)

    def grad_items(self, i):
        """g_i = ∂L/∂θ_i + λ·θ_i (or −∂L/∂θ_i …) when the rule's gradient is not ∂L/∂θ itself."""
        if not (self.wd or self.maximize):
            return []
        gv = float(np.asarray(self.rec.grad)[i]) if self.shape else float(self.rec.grad)
        tv = float(np.asarray(self.rec.before)[i]) if self.shape else float(self.rec.before)
        first_s = Neg(self.dL(i)) if self.maximize else self.dL(i)
        first_n = num(-gv) if self.maximize else num(gv)
        sym, val = [first_s], [first_n]
        if self.wd:
            sym.append(Prod([LAMBDA, self.theta(i)]))
            val.append(Prod([num(self.wd), num(tv)]))
        return [
            Eq(
                G.at(i or None),
                [Sum(sym) if len(sym) > 1 else sym[0], Sum(val) if len(val) > 1 else val[0]],
                num(self.g[i]),
            )
        ]

    def g_num(self, i):
        return num(self.g[i])

    def worked(self):
        return X.indices(self.shape, param=True)

    def update_eq(self, i, sym, val):
        return Eq(
            self.theta(i),
            [sym, val],
            num(np.asarray(self.rec.after)[i] if self.shape else self.rec.after),
            ref=(self.after, i),
            note="update",
        )

    def descend(self, i, step_sym, step_val):
        """θ_i ← θ_i − step, in symbols and in numbers."""
        before = num(np.asarray(self.rec.before)[i])
        return self.update_eq(i, Sum([self.theta(i), Neg(step_sym)]), Sum([before, Neg(step_val)]))


def _sq(x):
    """x² (a derivative in brackets: (∂L/∂w)²)."""
    return Pow(Paren(x) if isinstance(x, Deriv) else x, num(2))


def _over(top: float, den):
    """top/den as a term of a sum: −2/(…) is written − 2/(…)."""
    return Neg(Frac(num(-top), den)) if top < 0 else Frac(num(top), den)


def _state(rec, key):
    v = rec.state.get(key)
    return None if v is None else np.asarray(v, np.float64)


def _taken_back(after, added, decay, first):
    """The state before ``s ← decay·s + added``: zero at the first step, else (s − added)/decay."""
    if first or decay == 0:
        return np.zeros_like(after)
    return (after - added) / decay


def _header(shown: list, *settings):
    """``with μ = 0.9, …`` once for the parameters of a step that share the settings."""
    key = [(a.name, float(b)) for a, b in settings]
    if shown and shown[-1] == key:
        return []
    shown.append(key)
    return [Text("with", *[Rel(a, num(b)) for a, b in settings])]


def _for(param, what):
    return Text(f"{what}, for", Ref(param.before))


# ---------------------------------------------------------------------------
# SGD
# ---------------------------------------------------------------------------
@describes_update(SGD, rule="θ ← θ − η ∂L/∂θ")
def sgd(optimizer, records, recorder):
    items, shown = [], []
    for rec in records:
        grp = rec.group
        mu = float(grp.get("momentum", 0) or 0)
        if not mu and not grp.get("weight_decay", 0) and not grp.get("maximize", False):
            items += _plain(rec, recorder)
            continue
        items += _momentum(rec, recorder, mu, shown)
    return items


def _plain(rec, recorder):
    """θ ← θ − η·∂L/∂θ, exactly as the recorder writes a plain step."""
    p = _Param(rec, recorder)
    out = []
    before, after, grad = np.asarray(rec.before), np.asarray(rec.after), np.asarray(rec.grad)
    for idx in p.worked():
        i = idx or None
        out.append(
            Eq(
                Ref(p.before, i),
                [
                    Sum([Ref(p.before, i), Neg(Prod([ETA, p.dL(idx)]))]),
                    Sum([Num(before[idx]), Neg(Prod([Num(rec.lr), Num(grad[idx])]))]),
                ],
                Num(after[idx]),
                ref=(p.after, idx),
                note="update",
            )
        )
    return out + X.note_partial(before.shape)


def _momentum(rec, recorder, mu, shown):
    grp = rec.group
    tau, nesterov = float(grp.get("dampening", 0) or 0), bool(grp.get("nesterov", False))
    p = _Param(rec, recorder, grp.get("weight_decay", 0), grp.get("maximize", False))
    lr = float(rec.lr)
    settings = [(MU, mu)] + ([(TAU, tau)] if tau else []) + ([(LAMBDA, p.wd)] if p.wd else [])
    items = _header(shown, *settings) + [_for(p, "the velocity v" if mu else "the gradient g")]
    buf = _state(rec, "momentum_buffer")
    if not mu or buf is None:  # weight decay or maximize only: θ ← θ − η·g
        for idx in p.worked():
            items += p.grad_items(idx)
            items.append(
                p.descend(idx, Prod([ETA, p.grad_sym(idx)]), Prod([num(lr), p.g_num(idx)]))
            )
        return items + X.note_partial(p.shape)
    tol = 0 if p.exact else 1e-6
    first = bool(np.allclose(buf, p.g, rtol=tol, atol=0))  # the buffer starts as the gradient
    prev = _taken_back(buf, (1 - tau) * p.g, mu, first)
    v_after = Operand(None, buf, "v")
    if first:
        items.append(Text("the first step: the velocity starts as the gradient"))
    for idx in p.worked():
        i = idx or None
        items += p.grad_items(idx)
        if first:
            items.append(
                Eq(
                    V.at(i),
                    [p.grad_sym(idx), p.g_num(idx)],
                    num(buf[idx]),
                    ref=(v_after, idx),
                    note="update",
                )
            )
        else:
            damp_s = [Sum([num(1), Neg(TAU)])] if tau else []
            damp_n = [Sum([num(1), num(-tau)])] if tau else []
            items.append(
                Eq(
                    V.at(i),
                    [
                        Sum([Prod([MU, V.at(i)]), Prod(damp_s + [p.grad_sym(idx)])]),
                        Sum([Prod([num(mu), num(prev[idx])]), Prod(damp_n + [p.g_num(idx)])]),
                    ],
                    num(buf[idx]),
                    ref=(v_after, idx),
                    note="update",
                )
            )
        if nesterov:
            step_s = Prod([ETA, Sum([p.grad_sym(idx), Prod([MU, V.at(i)])])])
            step_n = Prod([num(lr), Sum([p.g_num(idx), Prod([num(mu), num(buf[idx])])])])
        else:
            step_s, step_n = Prod([ETA, V.at(i)]), Prod([num(lr), num(buf[idx])])
        items.append(p.descend(idx, step_s, step_n))
    return items + X.note_partial(p.shape)


# ---------------------------------------------------------------------------
# RMSprop
# ---------------------------------------------------------------------------
@describes_update(RMSprop, rule="v ← α v + (1 − α) g², θ ← θ − η g/(√v + ε)")
def rmsprop(optimizer, records, recorder):
    return _each_param(records, recorder, _rmsprop_param)


def _each_param(records, recorder, explain):
    """The items of every parameter's step; ``with …`` is written again only when the
    settings change from one parameter to the next."""
    items, shown = [], []
    for rec in records:
        items += explain(rec, recorder, shown)
    return items


def _running_mean(sym, i, idx, rate_sym, rate, before, after, op, new_sym, new_val):
    """s_i ← ρ·s_i + (1 − ρ)·new: the running mean ``sym`` (state ``after``, operand ``op``)."""
    return Eq(
        sym.at(i),
        [
            Sum([Prod([rate_sym, sym.at(i)]), Prod([Sum([num(1), Neg(rate_sym)]), new_sym])]),
            Sum(
                [
                    Prod([num(rate), num(before[idx])]),
                    Prod([Sum([num(1), num(-rate)]), new_val]),
                ]
            ),
        ],
        num(after[idx]),
        ref=(op, idx),
        note="update",
    )


def _rmsprop_param(rec, recorder, shown):
    grp = rec.group
    alpha, eps = float(grp["alpha"]), float(grp["eps"])
    mu, centered = float(grp.get("momentum", 0) or 0), bool(grp.get("centered", False))
    p = _Param(rec, recorder, grp.get("weight_decay", 0), grp.get("maximize", False))
    lr, t = float(rec.lr), float(rec.state.get("step", 1))
    first = t <= 1
    sq = _state(rec, "square_avg")
    v_prev = _taken_back(sq, (1 - alpha) * p.g**2, alpha, first)
    settings = (
        [(ALPHA, alpha), (EPS, eps)]
        + ([(MU, mu)] if mu else [])
        + ([(LAMBDA, p.wd)] if p.wd else [])
    )
    items = _header(shown, *settings, (T, t)) + [_for(p, "the running mean v of g²")]
    v_op = Operand(None, sq, "v")
    gbar = _state(rec, "grad_avg") if centered else None
    if gbar is not None:
        gbar_prev = _taken_back(gbar, (1 - alpha) * p.g, alpha, first)
        gbar_op = Operand(None, gbar, "ḡ")
    buf = _state(rec, "momentum_buffer") if mu else None
    if buf is not None:
        b_prev = _taken_back(buf, p.g / _den(sq, gbar, eps), mu, first)
    for idx in p.worked():
        i = idx or None
        items += p.grad_items(idx)
        gs, gv = p.grad_sym(idx), p.g_num(idx)
        items.append(
            _running_mean(V, i, idx, ALPHA, alpha, v_prev, sq, v_op, _sq(gs), Pow(gv, num(2)))
        )
        if gbar is not None:
            items.append(
                _running_mean(GBAR, i, idx, ALPHA, alpha, gbar_prev, gbar, gbar_op, gs, gv)
            )
        den_s, den_n = _rms_denominator(i, idx, sq, gbar, eps)
        if buf is None:  # θ ← θ − η·g/(√v + ε)
            items.append(
                p.descend(idx, Prod([ETA, Frac(gs, den_s)]), Prod([num(lr), Frac(gv, den_n)]))
            )
            continue
        # with momentum: u ← μ·u + g/(√v + ε), θ ← θ − η·u
        u_sides = [
            Sum([Prod([MU, U.at(i)]), Frac(gs, den_s)]),
            Sum([Prod([num(mu), num(b_prev[idx])]), _over(gv.v, den_n)]),
        ]
        items.append(
            Eq(U.at(i), u_sides, num(buf[idx]), ref=(Operand(None, buf, "u"), idx), note="update")
        )
        items.append(p.descend(idx, Prod([ETA, U.at(i)]), Prod([num(lr), num(buf[idx])])))
    return items + X.note_partial(p.shape)


def _rms_denominator(i, idx, sq, gbar, eps):
    """√v + ε (centered: √(v − ḡ²) + ε) in symbols and in numbers."""
    if gbar is None:
        return Sum([Sqrt(V.at(i)), EPS]), Sum([Sqrt(num(sq[idx])), num(eps)])
    den_s = Sum([Sqrt(Sum([V.at(i), Neg(Pow(GBAR.at(i), num(2)))])), EPS])
    den_n = Sum([Sqrt(Sum([num(sq[idx]), Neg(Pow(num(gbar[idx]), num(2)))])), num(eps)])
    return den_s, den_n


def _den(sq, gbar, eps):
    return (np.sqrt(sq - gbar**2) if gbar is not None else np.sqrt(sq)) + eps


# ---------------------------------------------------------------------------
# Adam, AdamW
# ---------------------------------------------------------------------------
_ADAM_RULE = (
    "m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², θ ← θ − η·(m/(1 − β₁^t))/(√(v/(1 − β₂^t)) + ε)"
)


@describes_update(Adam, rule=_ADAM_RULE)
def adam(optimizer, records, recorder):
    return _adam(optimizer, records, recorder, decoupled=False)


@describes_update(AdamW, rule="θ ← θ(1 − ηλ), then " + _ADAM_RULE)
def adamw(optimizer, records, recorder):
    return _adam(optimizer, records, recorder, decoupled=True)


def _adam(optimizer, records, recorder, decoupled):
    def explain(rec, recorder, shown):
        return _adam_param(rec, recorder, shown, decoupled)

    return _each_param(records, recorder, explain)


def _adam_param(rec, recorder, shown, decoupled):
    grp = rec.group
    (b1, b2), eps = (float(b) for b in grp["betas"]), float(grp["eps"])
    wd, amsgrad = float(grp.get("weight_decay", 0) or 0), bool(grp.get("amsgrad", False))
    p = _Param(rec, recorder, 0.0 if decoupled else wd, grp.get("maximize", False))
    lr, t = float(rec.lr), float(rec.state.get("step", 1))
    first = t <= 1
    m, v = _state(rec, "exp_avg"), _state(rec, "exp_avg_sq")
    m_prev = _taken_back(m, (1 - b1) * p.g, b1, first)
    v_prev = _taken_back(v, (1 - b2) * p.g**2, b2, first)
    vmax = _state(rec, "max_exp_avg_sq") if amsgrad else None
    settings = [(BETA1, b1), (BETA2, b2), (EPS, eps)] + ([(LAMBDA, wd)] if wd else [])
    items = _header(shown, *settings, (T, t)) + [_for(p, "the running means m of g and v of g²")]
    m_op, v_op = Operand(None, m, "m"), Operand(None, v, "v")
    for idx in p.worked():
        i = idx or None
        items += p.grad_items(idx)
        gs, gv = p.grad_sym(idx), p.g_num(idx)
        items.append(_running_mean(M, i, idx, BETA1, b1, m_prev, m, m_op, gs, gv))
        items.append(_running_mean(V, i, idx, BETA2, b2, v_prev, v, v_op, _sq(gs), Pow(gv, num(2))))
        v_used, v_sym = v, V.at(i)
        if vmax is not None:  # AMSGrad: the largest v so far
            items.append(_amsgrad_max(i, idx, v, vmax, first))
            v_used, v_sym = vmax, VMAX.at(i)
        m_hat, v_hat = m[idx] / (1 - b1**t), v_used[idx] / (1 - b2**t)
        items.append(_bias_corrected(MHAT.at(i), M.at(i), BETA1, m[idx], b1, t, m_hat))
        items.append(_bias_corrected(VHAT.at(i), v_sym, BETA2, v_used[idx], b2, t, v_hat))
        step_s = Prod([ETA, Frac(MHAT.at(i), Sum([Sqrt(VHAT.at(i)), EPS]))])
        step_n = Prod([num(lr), Frac(num(m_hat), Sum([Sqrt(num(v_hat)), num(eps)]))])
        if decoupled and wd:  # AdamW: θ·(1 − η·λ) − step
            shrink_s = Prod([p.theta(idx), Sum([num(1), Neg(Prod([ETA, LAMBDA]))])])
            theta = num(np.asarray(rec.before)[idx])
            shrink_n = Prod([theta, Sum([num(1), Neg(Prod([num(lr), num(wd)]))])])
            items.append(
                p.update_eq(idx, Sum([shrink_s, Neg(step_s)]), Sum([shrink_n, Neg(step_n)]))
            )
        else:
            items.append(p.descend(idx, step_s, step_n))
    return items + X.note_partial(p.shape)


def _amsgrad_max(i, idx, v, vmax, first):
    """v_max ← max(v_max, v), with numbers when the old maximum is known (0 before the first
    step; else only when it is the one kept, larger than v)."""
    known = first or vmax[idx] > v[idx]
    sides = [Call("max", VMAX.at(i), V.at(i))]
    if known:
        sides.append(Call("max", num(0 if first else vmax[idx]), num(v[idx])))
    return Eq(
        VMAX.at(i), sides, num(vmax[idx]), ref=(Operand(None, vmax, "v_max"), idx), note="update"
    )


def _bias_corrected(hat, sym, beta_sym, value, beta, t, result):
    """m̂ = m/(1 − β^t), in symbols and in numbers."""
    return Eq(
        hat,
        [
            Frac(sym, Sum([num(1), Neg(Pow(beta_sym, T))])),
            Frac(num(value), Sum([num(1), Neg(Pow(num(beta), num(t)))])),
        ],
        num(result),
    )


__all__ = ["adam", "adamw", "rmsprop", "sgd"]
