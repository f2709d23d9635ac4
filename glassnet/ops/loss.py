"""Loss functions, each one fused node: forward computes the loss, backward the
gradient in closed form.

- MSE: ℓ = (x − y)²,  ∂ℓ/∂x = 2(x − y).  L1: ℓ = |x − y|,  ∂ℓ/∂x = sign(x − y).
- Binary cross-entropy on probabilities p: ℓ = −[y ln p + (1 − y) ln(1 − p)],
  ∂ℓ/∂p = (p − y)/(p(1 − p)); through a sigmoid p = σ(z) this becomes the
  chapter's ∂ℓ/∂z = a − y, which ``binary_cross_entropy_with_logits`` uses
  directly (and stays finite for any z).
- Cross-entropy on logits z with target weights q (one-hot, smoothed or given
  probabilities, times class weights): ℓ = −Σ_c q_c log softmax(z)_c,
  ∂ℓ/∂z_c = softmax(z)_c Σ_c' q_c' − q_c.

``reduction='mean'`` divides by the number of elements (by the summed class
weights of the targets for class-index cross-entropy/NLL, as PyTorch does).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._util import const
from .activation import _log_softmax, _softplus, sigmoid
from .elementwise import sign


def _reduce(loss, reduction, denom=None):
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return np.asarray(total)
    n = loss.size if denom is None else denom
    if not n:  # every target ignored: nan, as PyTorch, without a warning
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(total / n)
    # (np.errstate costs about as much as the whole division, so only when needed)
    return np.asarray(total / const(n, total.dtype))


def _scale(grad_out, reduction, n):
    """The upstream gradient as seen by each element (or row) of the unreduced loss,
    ``n`` the 'mean' denominator; with n = 0 nothing receives a gradient."""
    if reduction != "mean":
        return grad_out
    if not n:
        return np.zeros_like(grad_out)
    return grad_out / const(n, grad_out.dtype)


class _PointwiseFunction(Function):
    """Shared plumbing for losses that are a function of d = x − y alone."""

    dtypes = "float"

    saves = ()

    def forward(self, x, y, reduction="mean", **params):
        self.reduction, self.n = reduction, x.size
        self.d = x - y
        loss, self.dldd = self.pointwise(self.d, **params)
        return _reduce(loss, reduction).astype(x.dtype, copy=False)

    def backward(self, grad_out):
        g = _scale(grad_out, self.reduction, self.n) * self.dldd
        nx, ny = self.needs_input_grad
        return (g if nx else None), (-g if ny else None)


class MSELossFunction(_PointwiseFunction):
    """ℓ = (x − y)²;  ∂ℓ/∂x = 2(x − y)."""

    op_name = "mse_loss"


    @staticmethod
    def pointwise(d):
        return d * d, d * const(2, d.dtype)


class L1LossFunction(_PointwiseFunction):
    """ℓ = |x − y|;  ∂ℓ/∂x = sign(x − y)."""

    op_name = "l1_loss"


    @staticmethod
    def pointwise(d):
        return np.abs(d), sign(d)


class HuberLossFunction(_PointwiseFunction):
    """ℓ = ½d² for |d| ≤ δ, else δ(|d| − ½δ);  ∂ℓ/∂d = clip(d, −δ, δ)."""

    op_name = "huber_loss"


    @staticmethod
    def pointwise(d, delta=1.0):
        a = np.abs(d)
        small = a <= delta
        return np.where(small, 0.5 * d * d, delta * (a - 0.5 * delta)), np.clip(d, -delta, delta)


class SmoothL1LossFunction(_PointwiseFunction):
    """ℓ = ½d²/β for |d| < β, else |d| − ½β;  ∂ℓ/∂d = clip(d/β, −1, 1)."""

    op_name = "smooth_l1_loss"


    @staticmethod
    def pointwise(d, beta=1.0):
        a = np.abs(d)
        if beta == 0:
            return a, sign(d)
        small = a < beta
        return np.where(small, 0.5 * d * d / beta, a - 0.5 * beta), np.clip(d / beta, -1, 1)


# log 0 = −inf (clamped by the caller); a p outside [0, 1] gives NaN, which
# binary_cross_entropy reports. (np.errstate's decorator form: 0.6 µs a call less than `with`.)
@np.errstate(divide="ignore", invalid="ignore")
def _logs(p):
    """ln p and ln(1 − p), as new arrays even for a 0-d p."""
    logp = np.log(p, out=np.empty_like(p))
    log1mp = np.negative(p, out=np.empty_like(p))
    return logp, np.log1p(log1mp, out=log1mp)


class BCELossFunction(Function):
    """ℓ = −w[y ln p + (1 − y) ln(1 − p)] (logs clamped at −100, as PyTorch);
    ∂ℓ/∂p = w(p − y)/max(p(1 − p), 10⁻¹²)."""

    dtypes = "float"
    op_name = "binary_cross_entropy"

    saves = (0, 1)

    def forward(self, p, y, weight=None, reduction="mean"):
        self.p, self.y, self.w, self.reduction = p, y, weight, reduction
        dt = p.dtype
        logp, log1mp = _logs(p)
        np.maximum(logp, const(-100, dt), out=logp)
        np.maximum(log1mp, const(-100, dt), out=log1mp)
        loss = np.multiply(y, logp, out=logp)  # y ln p + (1 − y) ln(1 − p), negated below
        log1mp *= np.subtract(const(1, dt), y)
        loss += log1mp
        if weight is not None:
            loss *= weight
        # the minus sign after the sum: negation is exact, so the result is the same
        if reduction == "none":
            return np.negative(loss, out=loss)
        return np.negative(_reduce(loss, reduction)).astype(dt, copy=False)

    def backward(self, grad_out):
        p, y = self.p, self.y
        dt = p.dtype
        g = _scale(grad_out, self.reduction, p.size)
        d = np.subtract(p, y)  # (p − y)/max(p(1 − p), 10⁻¹²)
        d /= np.maximum(p * np.subtract(const(1, dt), p), const(1e-12, dt))
        if self.w is not None:
            d = d * self.w
        nx, ny = self.needs_input_grad
        gp = None
        if nx:
            gp = d * g
            if gp.shape != p.shape:
                gp = np.broadcast_to(gp, p.shape)
        gy = None
        if ny:
            with np.errstate(divide="ignore"):  # ∂ℓ/∂y = −logit(p): ±inf at p = 0 or 1, as PyTorch
                gy = g * (np.log1p(-p) - np.log(p))
            if self.w is not None:
                gy = gy * self.w
            gy = np.broadcast_to(gy, y.shape)
        return gp, gy


class BCEWithLogitsLossFunction(Function):
    """ℓ = −w[p_w·y ln σ(z) + (1 − y) ln(1 − σ(z))], computed without overflow;
    ∂ℓ/∂z = w[σ(z)(p_w·y + 1 − y) − p_w·y]  (= a − y when w = p_w = 1)."""

    dtypes = "float"
    op_name = "binary_cross_entropy_with_logits"

    saves = (0, 1)

    def forward(self, z, y, weight=None, pos_weight=None, reduction="mean"):
        self.z, self.y, self.w, self.pw, self.reduction = z, y, weight, pos_weight, reduction
        sp_neg = _softplus(-z)  # −ln σ(z)
        self.sp_neg = None
        if pos_weight is None:
            loss = (1 - y) * z + sp_neg
        else:
            loss = (1 - y) * z + (1 + (pos_weight - 1) * y) * sp_neg
            if self.needs_input_grad[1]:
                self.sp_neg = sp_neg  # backward's ∂ℓ/∂y needs it
        if weight is not None:
            loss = loss * weight
        return _reduce(loss, reduction).astype(z.dtype, copy=False)

    def backward(self, grad_out):
        z, y, pw = self.z, self.y, self.pw
        g = _scale(grad_out, self.reduction, z.size)
        s = sigmoid(z)
        if pw is None:
            d = s - y
        else:
            d = s * (pw * y + 1 - y) - pw * y
        if self.w is not None:
            d = d * self.w
        gz = np.broadcast_to(g * d, z.shape)
        gy = None
        if self.needs_input_grad[1]:
            # ∂ℓ/∂y = −z + (p_w − 1)·softplus(−z)
            gy = -z if pw is None else -z + (pw - 1) * self.sp_neg
            gy = g * gy * (1 if self.w is None else self.w)
            gy = np.broadcast_to(gy, y.shape)
        return gz, gy


def _to_rows(x):
    """(N, C, d1, ...) → (N·d1·…, C), so class scores are the last axis."""
    if x.ndim <= 2:
        return x.reshape(-1, x.shape[-1])
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _from_rows(g, shape):
    if len(shape) <= 2:
        return g.reshape(shape)
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return np.moveaxis(g.reshape(moved), -1, 1)


def _target_weights(rows, target, weight, ignore_index, label_smoothing, name):
    """q (M, C) — how much each class's −log p counts for each row — the 'mean'
    denominator (the summed class weights of the targets not ignored), and for
    class-index targets the picked entries (row indices, class indices, and the mask
    of the rows not ignored, None when none is); None for probability targets."""
    m, c = rows.shape
    w = np.ones(c, rows.dtype) if weight is None else weight.astype(rows.dtype, copy=False)
    if target.dtype.kind == "f":  # class probabilities
        t = _to_rows(target)
        if label_smoothing:
            t = t * (1 - label_smoothing) + label_smoothing / c
        return t * w, m, None
    t = target.reshape(-1)
    valid = t != ignore_index
    n_valid = np.count_nonzero(valid)
    every = n_valid == m  # the usual case: nothing ignored, no masking below
    tv = t if every else np.where(valid, t, 0)
    if n_valid:
        bad = tv[(tv < 0) | (tv >= c)]
        if bad.size:
            raise IndexError(
                f"{name}: target contains class index {int(bad[0])} but the input has {c} "
                f"classes (expected indices in [0, {c - 1}] or ignore_index={ignore_index})"
            )
    q = np.zeros((m, c), rows.dtype)
    rows_idx = np.arange(m)
    if weight is None:
        q[rows_idx, tv] = 1 - label_smoothing
        if label_smoothing:
            q += label_smoothing / c
        denom = rows.dtype.type(n_valid)
    else:
        wt = w[tv]
        q[rows_idx, tv] = (1 - label_smoothing) * wt
        if label_smoothing:
            q += (label_smoothing / c) * w
        denom = (wt if every else wt[valid]).sum()
    if not every:
        q[~valid] = 0
    return q, denom, (rows_idx, tv, None if every else valid)


def _row_losses(q, logp, picks, smoothing=False):
    """−Σ_c q_c·log p_c for each row. With class indices and no smoothing only the
    target's term is non-zero, so it is read alone (cheaper, and a −inf log-probability
    of another class, as from a logit more than the dtype's range below the largest,
    counts for nothing instead of 0·(−inf) = NaN). Ignored rows give 0 whatever their
    logits (NaN included), as PyTorch."""
    if picks is None or smoothing:  # 0·(−inf) is NaN here, as in PyTorch, without a warning
        with np.errstate(invalid="ignore"):
            per_row = -(q * logp).sum(axis=1)
    else:
        r, c, _ = picks
        per_row = -(q[r, c] * logp[r, c])
    if picks is not None and picks[2] is not None:
        per_row[~picks[2]] = 0
    return per_row


def _check_target(x, target, name):
    if target.dtype.kind == "f":
        if target.shape != x.shape:
            raise ValueError(
                f"{name}: probability targets must have the input's shape {x.shape}, "
                f"got {target.shape}"
            )
        return
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold class indices (int64), got dtype {target.dtype}")
    expected = (x.shape[0],) + tuple(x.shape[2:]) if x.ndim >= 2 else ()
    if target.shape != expected:
        raise ValueError(
            f"{name}: target of shape {target.shape} does not fit input of shape {x.shape} "
            f"(expected class indices of shape {expected})"
        )


class CrossEntropyLossFunction(Function):
    """ℓ = −Σ_c q_c log softmax(z)_c with q the (weighted, smoothed) target;
    ∂ℓ/∂z = softmax(z)·Σq − q: for a plain one-hot target, softmax(z) − onehot(y)."""

    dtypes = "float"
    op_name = "cross_entropy"

    saves = None  # probability targets are kept as given

    def forward(self, z, target, weight=None, ignore_index=-100, reduction="mean",
                label_smoothing=0.0):
        _check_target(z, target, "cross_entropy")
        self.shape, self.reduction = z.shape, reduction
        squeeze = z.ndim == 1
        if squeeze:
            z, target = z[None], target[None]
        rows = _to_rows(z)
        logp = _log_softmax(rows, 1)
        q, denom, picks = _target_weights(rows, target, weight, ignore_index, label_smoothing,
                                          "cross_entropy")
        self.logp, self.q = logp, q
        # probability targets are differentiable too: q = w·((1 − ε)t + ε/C)
        self.target_scale = None
        if target.dtype.kind == "f":
            self.target_scale = (1 - label_smoothing) * (1 if weight is None else weight)
        per_row = _row_losses(q, logp, picks, bool(label_smoothing))
        self.denom = denom
        if reduction == "none":
            out_shape = target.shape if target.dtype.kind != "f" else (z.shape[0],) + z.shape[2:]
            loss = per_row.reshape(out_shape)
            return loss[0] if squeeze else loss
        return _reduce(per_row, reduction, denom).astype(z.dtype, copy=False)

    def backward(self, grad_out):
        q = self.q
        # every target ignored: the mean is nan but no element gets a gradient (as PyTorch)
        g = _scale(grad_out.reshape(-1, 1) if self.reduction == "none" else grad_out,
                   self.reduction, self.denom)
        p = np.exp(self.logp)
        grows = (p * q.sum(axis=1, keepdims=True) - q) * g
        gt = None
        if self.target_scale is not None and self.needs_input_grad[1]:
            # ∂ℓ/∂t_c = −(1 − ε) w_c log p_c
            gt = -self.logp * self.target_scale * g
            gt = gt.reshape(self.shape) if len(self.shape) == 1 else _from_rows(gt, self.shape)
        if len(self.shape) == 1:
            return grows.reshape(self.shape), gt
        return _from_rows(grows, self.shape).astype(self.logp.dtype, copy=False), gt


class NLLLossFunction(Function):
    """ℓ = −w_y · x_y for log-probabilities x;  ∂ℓ/∂x_c = −w_y [c = y]."""

    dtypes = "float"
    op_name = "nll_loss"

    saves = None

    def forward(self, x, target, weight=None, ignore_index=-100, reduction="mean"):
        if target.dtype.kind == "f":
            raise TypeError(f"nll_loss: target must hold class indices (int64), got dtype {target.dtype}")
        _check_target(x, target, "nll_loss")
        self.shape, self.reduction = x.shape, reduction
        squeeze = x.ndim == 1
        if squeeze:
            x, target = x[None], target[None]
        rows = _to_rows(x)
        q, self.denom, picks = _target_weights(rows, target, weight, ignore_index, 0.0, "nll_loss")
        self.q = q
        per_row = _row_losses(q, rows, picks)
        if reduction == "none":
            loss = per_row.reshape(target.shape)
            return loss[0] if squeeze else loss
        return _reduce(per_row, reduction, self.denom).astype(x.dtype, copy=False)

    def backward(self, grad_out):
        g = _scale(grad_out.reshape(-1, 1) if self.reduction == "none" else grad_out,
                   self.reduction, self.denom)
        return _from_rows(-self.q * g, self.shape), None
