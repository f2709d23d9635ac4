"""Synthetic time series and sliding windows for sequence models (RNN/LSTM/GRU)."""

from __future__ import annotations

import numpy as np

from .dataset import _resolve_generator


def sine_waves(n_series: int = 100, length: int = 50, seed: int | None = None,
               noise: float = 0.0) -> np.ndarray:
    """Sine waves x_t = A sin(2π f t + φ) with random amplitude, frequency and phase.

    A ∈ [0.5, 1.5], f ∈ [0.02, 0.1] cycles per step, φ ∈ [0, 2π); optional
    Gaussian noise of standard deviation ``noise``.

    Returns:
        float32 array (n_series, length).

    Example:
        >>> waves = gn.data.sine_waves(32, 60, seed=0)
        >>> X, y = gn.data.make_windows(waves, window=20)   # (32·40, 20, 1), (32·40, 1)
    """
    for name, v in (("n_series", n_series), ("length", length)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"sine_waves: {name} must be a positive integer, got {v!r}")
    if noise < 0:
        raise ValueError(f"sine_waves: noise must be non-negative, got {noise!r}")
    rng = _resolve_generator(None, seed, "sine_waves")
    amp = rng.uniform(0.5, 1.5, (n_series, 1))
    freq = rng.uniform(0.02, 0.1, (n_series, 1))
    phase = rng.uniform(0, 2 * np.pi, (n_series, 1))
    t = np.arange(length)
    x = amp * np.sin(2 * np.pi * freq * t + phase)
    if noise:
        x = x + rng.normal(0, noise, x.shape)
    return x.astype(np.float32)


def noisy_series(length: int = 1000, seed: int | None = 0) -> np.ndarray:
    """A synthetic "market" series: x_t = 100 + trend + seasonality + random walk + noise.

    trend = 0.02·t; seasonality = 3 sin(2πt/50) + 1.5 sin(2πt/365·7); the
    random walk is a cumulative sum of N(0, 0.5²) steps; the noise is N(0, 1).
    Wandering like a price, with structure a model can learn.

    Returns:
        float32 array (length,).

    Example:
        >>> s = gn.data.noisy_series(1000, seed=0)
        >>> X, y = gn.data.make_windows(s, window=30)   # (970, 30, 1), (970, 1)
    """
    if not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"noisy_series: length must be a positive integer, got {length!r}")
    rng = _resolve_generator(None, seed, "noisy_series")
    t = np.arange(length, dtype=np.float64)
    trend = 0.02 * t
    season = 3.0 * np.sin(2 * np.pi * t / 50) + 1.5 * np.sin(2 * np.pi * t * 7 / 365)
    walk = np.cumsum(rng.normal(0, 0.5, length))
    noise = rng.normal(0, 1.0, length)
    return (100.0 + trend + season + walk + noise).astype(np.float32)


def make_windows(series, window: int, horizon: int = 1):
    """Sliding windows for next-value forecasting: inputs x_{t..t+w−1}, targets x_{t+w..t+w+h−1}.

    Args:
        series: a 1-d array (length,), or 2-d (n_series, length) — windows of
            every series are stacked.
        window: input steps per sample.
        horizon: future steps to predict.

    Returns:
        ``(X, y)``: X (n, window, 1), y (n, horizon), float32, with
        n = length − window − horizon + 1 per series.

    Example:
        >>> X, y = gn.data.make_windows(np.arange(6.0), window=3)
        >>> X[:, :, 0].tolist(), y.tolist()
        ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]], [[3.0], [4.0], [5.0]])
    """
    s = np.asarray(getattr(series, "data", series))
    if s.ndim not in (1, 2):
        raise ValueError(f"make_windows: series must be 1-d (length,) or 2-d (n_series, length), "
                         f"got shape {s.shape}")
    for name, v in (("window", window), ("horizon", horizon)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"make_windows: {name} must be a positive integer, got {v!r}")
    s2 = s.reshape(1, -1) if s.ndim == 1 else s
    length = s2.shape[1]
    if window + horizon > length:
        raise ValueError(f"make_windows: window ({window}) + horizon ({horizon}) is longer than the "
                         f"series ({length} steps)")
    # all windows of length window+horizon at once, as a view; split into input and target
    w = np.lib.stride_tricks.sliding_window_view(s2, window + horizon, axis=1)
    w = w.reshape(-1, window + horizon).astype(np.float32)
    return np.ascontiguousarray(w[:, :window, None]), np.ascontiguousarray(w[:, window:])
