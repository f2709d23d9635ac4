"""Batch normalisation (``ops.norm.BatchNorm``) worked per feature (channel), with
the batch's numbers. Training mode, over the m values of feature c:

    μ_c = (1/m) Σ_i x_ic,   σ²_c = (1/m) Σ_i (x_ic − μ_c)²,
    x̂_ic = (x_ic − μ_c)/√(σ²_c + ε),   y_ic = γ_c x̂_ic + β_c

and backward, with g_i = ∂L/∂y_ic:

    ∂L/∂β_c = Σ_i g_i,   ∂L/∂γ_c = Σ_i g_i x̂_ic,
    ∂L/∂x_ic = (γ_c/√(σ²_c + ε))·(g_i − (1/m)·∂L/∂β_c − (1/m)·∂L/∂γ_c·x̂_ic)

(the two 1/m terms are the paths through μ and σ²). In evaluation mode the running
statistics are constants: x̂ = (x − μ)/√(σ² + ε) and ∂L/∂x = g·γ/√(σ² + ε).
ε is the one the op was called with (``F.batch_norm`` passes it).
"""

from __future__ import annotations

import numpy as np

from ...ops import norm as ops
from .. import build as X
from ..records import Deriv, Eq, Frac, Neg, Operand, Pow, Prod, Ref, Show, Sum, Text
from ..registry import describes
from ._course import EPS, MU, SIGMA2, At, Named, Rel, Sigma, Sqrt, sum_sides_of

num = X.num
XHAT = Named("x̂", r"\hat{x}")


def _eps(fn, x, mean, inv_std, axes):
    """ε of this call: the op's own, else what 1/√(σ² + ε) implies (a direct call without it)."""
    if fn.eps is not None:
        return float(fn.eps)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return float(np.mean(1 / inv_std.astype(np.float64) ** 2 - var))


@describes(ops.BatchNormFunction)
def batch_norm(fn, inputs, outputs, grads, params):
    x, y = inputs[0], outputs[0]
    k = 1
    gamma = beta = None
    if params.get("has_weight"):
        gamma, k = inputs[k], k + 1
    if params.get("has_bias"):
        beta = inputs[k]
    C = x.shape[1]
    axes = tuple(params["axes"])
    mean = np.asarray(params["mean"], np.float64)
    inv_std = np.asarray(params["inv_std"], np.float64)
    eps = _eps(fn, x.value, mean, inv_std, axes)
    train = bool(params.get("batch_stats", True))
    feat = _Features(x, C, mean.reshape(-1), inv_std.reshape(-1), eps, train, fn)
    if grads is None:
        return feat.forward(y, gamma, beta)
    return feat.backward(y, gamma, beta, grads)


class _Features:
    """The per-feature numbers of one batch-norm call."""

    def __init__(self, x, C, mean, inv_std, eps, train, fn):
        self.x, self.C, self.mean, self.inv_std, self.eps, self.train = (
            x,
            C,
            mean,
            inv_std,
            eps,
            train,
        )
        v = x.value
        rest = v.shape[2:]
        self.rest = rest
        self.m = v.size // C
        self.var = np.array([((v[:, c] - mean[c]) ** 2).mean() for c in range(C)])
        self.x_hat = np.array(
            getattr(
                fn,
                "x_hat",
                (v - mean.reshape((1, C) + (1,) * len(rest)))
                * inv_std.reshape((1, C) + (1,) * len(rest)),
            ),
            np.float64,
        )
        if X.partial(v.shape):  # a large batch: one feature worked in full (the focus's unit)
            self.channels = [X.focused("unit", C) or 0]
        else:
            self.channels = [c for (c,) in X.indices((C,), roles={"unit": 0})]

    def at(self, c, k):
        """The k-th index of feature c in x (sample first, then the positions of a map)."""
        n, *rr = (int(t) for t in np.unravel_index(k, (self.x.shape[0],) + self.rest))
        return (n, c) + tuple(rr)

    def values(self, a, c):
        """Feature c's values of an array shaped as x."""
        return np.asarray(a)[:, c]

    def worked(self, c):
        """The elements of feature c worked in full (all of a small batch, else the first)."""
        shape = (self.x.shape[0],) + self.rest
        roles = {"sample": 0, "pixel": (1, 2)} if len(self.rest) == 2 else {"sample": 0}
        return [(i[0], c) + tuple(i[1:]) for i in X.indices(shape, roles=roles)]

    def _note_elements(self):
        shape = (self.x.shape[0],) + self.rest
        if X.partial(shape):
            return [
                Text(
                    f"(each feature has {self.m} values: one worked in full; the rest follow "
                    "the same rule)"
                )
            ]
        return []

    def _note_features(self):
        if len(self.channels) < self.C:
            return [
                Text(
                    f"({self.C} features: one worked in full; the others follow the same "
                    "rule)"
                )
            ]
        return []

    def _std(self, c):
        """√(σ²_c + ε): in symbols and in numbers (training), or the running value (evaluation)."""
        if self.train:
            return Sqrt(Sum([SIGMA2.at((c,)), EPS])), Sqrt(Sum([num(self.var[c]), num(self.eps)]))
        running_var = 1 / self.inv_std[c] ** 2 - self.eps  # the op keeps 1/√(σ² + ε)
        return Sqrt(Sum([SIGMA2.at((c,)), EPS])), Sqrt(Sum([num(running_var), num(self.eps)]))

    # forward ----------------------------------------------------------------
    def forward(self, y, gamma, beta):
        x = self.x
        items = [
            Text(
                "batch normalisation, training: each feature (channel) is normalised with the "
                "mean and variance of the batch"
                if self.train
                else "batch normalisation, evaluation: the running mean and variance (from "
                "training) normalise each feature"
            ),
            Text("with", Rel(EPS, num(self.eps))),
        ]
        items += X.shows(*(o for o in (x, gamma, beta) if o is not None))
        mean_op = Operand(None, self.mean, "μ")
        xhat_op = Operand(None, self.x_hat, "x̂")
        for c in self.channels:
            m = self.m
            if self.train:
                sides = sum_sides_of(
                    lambda k, c=c: Ref(x, self.at(c, k)),
                    lambda k, c=c: num(x.value[self.at(c, k)]),
                    m,
                    self.values(x.value, c),
                    Sigma("i", At(Ref(x), "i")),
                )
                sc = Frac(num(1), num(self.m))
                items.append(
                    Eq(
                        MU.at((c,)),
                        [Prod([sc, s]) for s in sides],
                        num(self.mean[c]),
                        ref=(mean_op, (c,)),
                    )
                )
                sides = sum_sides_of(
                    lambda k, c=c: Pow(Sum([Ref(x, self.at(c, k)), Neg(MU.at((c,)))]), num(2)),
                    lambda k, c=c: Pow(Sum([num(x.value[self.at(c, k)]), num(-self.mean[c])]), num(2)),
                    m,
                    (self.values(x.value, c) - self.mean[c]) ** 2,
                    Sigma("i", Pow(Sum([At(Ref(x), "i"), Neg(MU.at((c,)))]), num(2))),
                )
                items.append(Eq(SIGMA2.at((c,)), [Prod([sc, s]) for s in sides], num(self.var[c])))
            else:
                items.append(
                    Eq(MU.at((c,)), [], num(self.mean[c]), ref=(mean_op, (c,)), note="running mean")
                )
                std_s, std_n = self._std(c)
                items.append(Eq(std_s, [std_n], num(1 / self.inv_std[c]), note="running variance"))
            std_s, std_n = self._std(c)
            for i in self.worked(c):
                items.append(
                    Eq(
                        XHAT.at(i),
                        [
                            Frac(Sum([Ref(x, i), Neg(MU.at((c,)))]), std_s),
                            Frac(Sum([num(x.value[i]), num(-self.mean[c])]), std_n),
                        ],
                        num(self.x_hat[i]),
                        ref=(xhat_op, i),
                    )
                )
                ys, yn = [XHAT.at(i)], [num(self.x_hat[i])]
                if gamma is not None:
                    ys, yn = [Prod([Ref(gamma, (c,)), ys[0]])], [Prod([num(gamma.value[c]), yn[0]])]
                if beta is not None:
                    ys.append(Ref(beta, (c,)))
                    yn.append(num(beta.value[c]))
                if len(ys) > 1 or gamma is not None:
                    items.append(
                        Eq(
                            Ref(y, i),
                            [Sum(ys) if len(ys) > 1 else ys[0], Sum(yn) if len(yn) > 1 else yn[0]],
                            num(y.value[i]),
                            ref=(y, i),
                        )
                    )
            items += self._note_elements()
        return items + self._note_features() + X.shows(y)

    # backward ---------------------------------------------------------------
    def backward(self, y, gamma, beta, grads):
        (g,), g_in = grads
        x, m = self.x, self.m
        items = []
        if not X.is_root(y):
            items.append(Show(X.d(y), g))

        def dy(i):
            return X.d(y, i)

        for c in self.channels:
            # ∂L/∂β_c = Σ_i g_i  and  ∂L/∂γ_c = Σ_i g_i x̂_i
            g_c, xh_c = self.values(g, c), self.values(self.x_hat, c)
            s_beta = float(g_c.sum())
            s_gamma = float((g_c * xh_c).sum())
            beta_lhs = (
                X.d(beta, (c,))
                if beta is not None
                else Sigma("i", Deriv(X.loss(), At(Ref(y), "i")))
            )
            gamma_lhs = (
                X.d(gamma, (c,))
                if gamma is not None
                else Sigma("i", Prod([Deriv(X.loss(), At(Ref(y), "i")), At(XHAT, "i")]))
            )
            k_beta = (1 + (gamma is not None)) if beta is not None else None
            k_gamma = 1 if gamma is not None else None
            sides = sum_sides_of(
                lambda k, c=c: dy(self.at(c, k)),
                lambda k, c=c: num(g[self.at(c, k)]),
                m,
                g_c,
                Sigma("i", Deriv(X.loss(), At(Ref(y), "i"))),
            )
            items.append(_sum_eq(beta_lhs, sides, s_beta, g_in, k_beta, (c,)))
            sides = sum_sides_of(
                lambda k, c=c: Prod([dy(self.at(c, k)), XHAT.at(self.at(c, k))]),
                lambda k, c=c: Prod([num(g[self.at(c, k)]), num(self.x_hat[self.at(c, k)])]),
                m,
                g_c * xh_c,
                Sigma("i", Prod([Deriv(X.loss(), At(Ref(y), "i")), At(XHAT, "i")])),
            )
            items.append(_sum_eq(gamma_lhs, sides, s_gamma, g_in, k_gamma, (c,)))
            if g_in[0] is None:
                continue
            std_s, std_n = self._std(c)
            lead_s = Frac(Ref(gamma, (c,)), std_s) if gamma is not None else Frac(num(1), std_s)
            lead_n = Frac(num(gamma.value[c]), std_n) if gamma is not None else Frac(num(1), std_n)
            inv_m = Frac(num(1), num(m))
            for i in self.worked(c):
                if self.train:
                    inner_s = Sum(
                        [
                            dy(i),
                            Neg(Prod([inv_m, beta_lhs])),
                            Neg(Prod([inv_m, gamma_lhs, XHAT.at(i)])),
                        ]
                    )
                    inner_n = Sum(
                        [
                            num(g[i]),
                            Neg(Prod([inv_m, num(s_beta)])),
                            Neg(Prod([inv_m, num(s_gamma), num(self.x_hat[i])])),
                        ]
                    )
                else:
                    inner_s, inner_n = dy(i), num(g[i])
                items.append(
                    Eq(
                        X.d(x, i),
                        [Prod([lead_s, inner_s]), Prod([lead_n, inner_n])],
                        num(g_in[0][i]),
                        ref=("grad", 0, i),
                    )
                )
            items += self._note_elements()
        if self.train and g_in[0] is not None and self.channels:
            items.insert(
                0,
                Text(
                    "the mean and the variance depend on every x of the feature, so ∂L/∂x has a "
                    "path through each: the (1/m) terms"
                ),
            )
        return items + self._note_features()


def _sum_eq(lhs, sides, value, g_in, k, idx):
    """lhs = Σ … = Σ (numbers) = value, checked against the engine's gradient where it is one."""
    if k is not None and k < len(g_in) and g_in[k] is not None:
        return Eq(lhs, sides, num(g_in[k][idx]), ref=("grad", k, idx))
    return Eq(lhs, sides, num(value))


__all__ = ["batch_norm"]
