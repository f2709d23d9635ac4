"""Normalisation layers as fused nodes: batch norm and layer norm.

Both compute x̂ = (x − μ)/σ over some axes (σ = √(var + ε), biased variance)
and y = γ x̂ + β. With g = ∂L/∂y and ĝ = γ g, the chain rule through μ and σ
(both functions of every x in the group of m values) gives, per group:

    ∂L/∂x = (1/σ) (ĝ − mean(ĝ) − x̂ · mean(ĝ x̂))
    ∂L/∂γ = Σ g x̂,   ∂L/∂β = Σ g      (summed over everything γ is shared by)

The two mean terms are the paths through μ and through σ. When the statistics
are fixed constants (batch norm in eval mode) they vanish: ∂L/∂x = ĝ/σ.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function


class _NormalizeFunction(Function):
    """y = γ (x − μ)/σ + β with μ, 1/σ given (computed by the caller).

    ``axes`` are the axes the statistics were taken over, ``param_axes`` those
    γ and β are shared over (their gradients sum over them). ``pshape`` is how
    γ and β are reshaped to broadcast against x. ``batch_stats`` says whether
    μ and σ depend on x (train mode) or are constants (running statistics).
    """

    saves = None  # the weight by reference

    def forward(
        self,
        x,
        *wb,
        mean,
        inv_std,
        axes,
        param_axes,
        pshape,
        has_weight,
        has_bias,
        batch_stats=True,
        centered=None,
        eps=None,
    ):
        self.axes, self.param_axes, self.batch_stats = axes, param_axes, batch_stats
        self.eps = eps  # in 1/σ = 1/√(σ² + ε): kept for explanations
        self.inv_std = inv_std
        if centered is not None:  # x − μ, already computed for the variance: scale it in place
            self.x_hat = np.multiply(centered, inv_std, out=centered)
        else:
            self.x_hat = (x - mean) * inv_std
        w = wb[0] if has_weight else None
        b = wb[-1] if has_bias else None
        self.w = None if w is None else w.reshape(pshape)
        self.pshape = pshape
        if w is None and b is None:
            return self.x_hat
        y = self.x_hat * self.w if w is not None else self.x_hat.copy()
        if b is not None:
            y += b.reshape(pshape)
        return y

    def backward(self, grad_out):
        g, x_hat = grad_out, self.x_hat
        needs = self.needs_input_grad
        grads = []
        if needs[0]:
            if not self.batch_stats:
                gx = g * (self.inv_std if self.w is None else self.inv_std * self.w)
            else:
                gh = g * self.w if self.w is not None else g
                t = gh * x_hat
                np.multiply(x_hat, t.mean(axis=self.axes, keepdims=True), out=t)
                # gh is a temporary of ours unless it is grad_out itself
                gx = np.subtract(
                    gh, gh.mean(axis=self.axes, keepdims=True), out=gh if gh is not g else None
                )
                gx -= t
                gx *= self.inv_std
            grads.append(gx)
        else:
            grads.append(None)
        i = 1
        if self.w is not None:
            grads.append((g * x_hat).sum(axis=self.param_axes) if needs[i] else None)
            i += 1
        if i < len(needs):
            grads.append(g.sum(axis=self.param_axes) if needs[i] else None)
        return tuple(grads)


class BatchNormFunction(_NormalizeFunction):
    """Batch normalisation over every axis but the channel axis 1.

    γ is constant over each normalised group (a channel), so mean(ĝ) = γ Σg/m
    and mean(ĝ x̂) = γ Σ(g x̂)/m: the two sums that are ∂L/∂β and ∂L/∂γ also
    give ∂L/∂x = (γ/σ)(g − Σg/m − x̂ Σ(g x̂)/m), in one temporary array.
    """

    dtypes = "same"
    op_name = "batch_norm"
    arg_names = ('input', 'weight', 'bias')


    def backward(self, grad_out):
        if not self.batch_stats:
            return super().backward(grad_out)
        g, x_hat, axes = grad_out, self.x_hat, self.axes
        needs = self.needs_input_grad
        t = g * x_hat
        sum_gx = t.sum(axis=axes, keepdims=True)
        sum_g = g.sum(axis=axes, keepdims=True)
        grads = [None]
        if needs[0]:
            all_g, all_gx, m = self.totals(sum_g, sum_gx, g.size // sum_g.size)
            np.multiply(x_hat, all_gx * (-1.0 / m), out=t)  # t no longer needed for the sums
            t += g
            t -= all_g * (1.0 / m)
            t *= self.inv_std if self.w is None else self.inv_std * self.w
            grads[0] = t
        if self.w is not None:
            grads.append(sum_gx.reshape(-1) if needs[1] else None)
        if len(needs) > len(grads):
            grads.append(sum_g.reshape(-1) if needs[-1] else None)
        return tuple(grads)

    def totals(self, sum_g, sum_gx, m):
        """Σg, Σ(g x̂) and the count m that ∂L/∂x's means are taken over: this batch's (a
        batch norm synchronised over several processes adds up theirs)."""
        return sum_g, sum_gx, m


class LayerNormFunction(_NormalizeFunction):
    """Layer normalisation over the trailing ``normalized_shape`` axes."""

    dtypes = "same"
    op_name = "layer_norm"
    arg_names = ('input', 'weight', 'bias')



def moments(x: np.ndarray, axes: tuple, eps: float):
    """Mean, biased variance and 1/√(var + ε) over ``axes`` (kept as size-1 axes),
    and x − mean (a new array the caller may reuse)."""
    mean = x.mean(axis=axes, keepdims=True)
    d = x - mean
    sq = d * d
    var = sq.mean(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    return mean, var, inv_std.astype(x.dtype, copy=False), d
