"""The playground: train a small network live in the browser and click anything to see its
worked computation (docs/playground.md).

    import glassnet as gn
    pg = gn.playground()                      # two moons, a 2-4-4-1 tanh MLP
    print(pg.url)                             # http://127.0.0.1:PORT/TOKEN/ — open it
    pg.stop()

    gn.playground("digits", open_browser=True, block=True)      # serve until Ctrl-C
    gn.playground(model, (X, y))              # your own glassnet model and NumPy data

``gn.playground`` is this module, and calling it calls ``playground(...)``.
"""

from __future__ import annotations

import itertools
import sys
import threading
import types

import numpy as np

__all__ = ["DATA_SETS", "Playground", "playground"]

DATA_SETS = ("moons", "circles", "xor", "spiral", "digits", "sine")


class Playground:
    """A running playground: the training thread (``trainer``) and its server (``url``).

    ``stop()`` ends both (the port is free afterwards); ``with gn.playground() as pg:`` stops
    on leaving the block.
    """

    def __init__(self, trainer, server):
        self.trainer = trainer
        self.server = server
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/TOKEN/``: the page (the token is the key: keep it private)."""
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        """Stop training and serving: event streams closed, socket closed, threads joined."""
        if self._stopped.is_set():
            return
        self.server.closing.set()  # streams end as soon as the trainer wakes them
        self.trainer.stop()
        self.server.stop()
        self._stopped.set()

    def serve_forever(self) -> None:
        """Block until Ctrl-C (or ``stop()`` from another thread), then stop cleanly."""
        try:
            while not self._stopped.wait(0.25):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        s = self.trainer.setup
        what = s["data"] if s["data"] != "custom" else f"your {type(self.trainer.model).__name__}"
        if self.stopped:
            state = "stopped"
        else:
            state = "training" if getattr(self.trainer, "running", False) else "paused"
        return f"<Playground {self.url} {what}, step {self.trainer.step}, {state}>"


def default_model(X, y, hidden=(4, 4), activation="tanh"):
    """The MLP the playground trains on data given without a model: ``hidden`` layers of
    ``activation``; one sigmoid output for 0/1 labels, one output per class for other integer
    labels, one linear output per target for real-valued targets."""
    from .. import nn

    X, y = np.asarray(X), np.asarray(y)
    n_in = int(np.prod(X.shape[1:]))
    act = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "linear": None}[activation]
    integer = y.dtype.kind in "iub" or (y.dtype.kind == "f" and y.size and np.all(y == np.round(y)))
    layers = [nn.Flatten()] if X.ndim > 2 else []
    sizes = [n_in, *hidden]
    for a, b in itertools.pairwise(sizes):
        layers.append(nn.Linear(a, b))
        if act is not None:
            layers.append(act())
    if integer and y.ndim == 1 and set(np.unique(y).tolist()) <= {0, 1}:
        layers += [nn.Linear(sizes[-1], 1), nn.Sigmoid()]
    elif integer and y.ndim == 1:
        if y.min() < 0:
            raise ValueError(f"playground: class labels must be >= 0, found {y.min()}")
        layers.append(nn.Linear(sizes[-1], int(y.max()) + 1))
    else:
        layers.append(nn.Linear(sizes[-1], 1 if y.ndim == 1 else int(np.prod(y.shape[1:]))))
    return nn.Sequential(*layers)


def _xy(data):
    try:
        X, y = data
    except (TypeError, ValueError):
        raise ValueError("playground: data must be a data set name "
                         f"({', '.join(DATA_SETS)}) or a pair (X, y) of NumPy arrays") from None
    return np.asarray(getattr(X, "data", X)), np.asarray(getattr(y, "data", y))


def _trainer(model, data, setup, loss):
    from . import setups as S
    from .trainer import Trainer

    setup = dict(setup or {})
    if isinstance(data, str):
        if data not in DATA_SETS:
            raise ValueError(f"playground: data must be one of {', '.join(DATA_SETS)} or (X, y), "
                             f"got {data!r}")
        if setup.get("data", data) != data:
            raise ValueError(f"playground: data={data!r} but setup says data={setup['data']!r}")
        setup["data"] = data
    if model is None and not isinstance(data, (tuple, list)):
        if loss is not None:
            raise ValueError("playground: loss= goes with your own model or data; a data set's "
                             "loss is fixed")
        return Trainer(setup)
    # your own model, data or both: trained as 'custom' (the data and the model fixed)
    if isinstance(data, str):
        named = S.validate({k: v for k, v in setup.items() if k in S.FIELDS})
        X, y = S.make_data(named)
    elif data is None:
        raise ValueError("playground: give data with your model: a data set name "
                         f"({', '.join(DATA_SETS)}) or (X, y)")
    else:
        X, y = _xy(data)
    kept = {k: v for k, v in setup.items() if k in S.HYPER or k == "seed"}
    if model is None:
        base = S.validate({**{k: v for k, v in setup.items() if k in ("hidden", "activation")}, **kept},
                          custom=True)
        if y.dtype.kind == "f" and y.ndim == 1 and not np.all(y == np.round(y)):
            y = y.reshape(-1, 1)  # regression: one target column, the output's shape
        from .. import manual_seed

        manual_seed(base["seed"])
        model = default_model(X, y, base["hidden"], base["activation"])
        kept.update(hidden=base["hidden"], activation=base["activation"])
    return Trainer(kept, model=model, data=(X, y), loss=loss)


def playground(model=None, data=None, *, setup: dict | None = None, loss: str | None = None,
               port: int = 0, open_browser: bool = False, block: bool = False) -> Playground:
    """Train a small network live in the browser; click any unit, weight, pixel or gate to see
    its worked forward and backward computation with the real numbers.

    Args:
        model: your own ``gn.nn.Module`` (then ``data`` is required); None: the setup's network
            (or, with ``(X, y)`` data, an MLP sized for it).
        data: a data set name — ``moons``, ``circles``, ``xor``, ``spiral``, ``digits``,
            ``sine`` — or your own NumPy ``(X, y)``. A name may also come first:
            ``gn.playground("digits")``.
        setup: fields of the setup (docs/playground.md), e.g. ``{"lr": 0.1, "hidden": [8]}``.
        loss: for your own model and data: ``bce``, ``bce_with_logits``, ``cross_entropy`` or
            ``mse`` (default: inferred from the targets and the output).
        port: the port on 127.0.0.1 (0: a random free one).
        open_browser: open the page in the default browser (``webbrowser.open``).
        block: serve until Ctrl-C, then stop (the returned playground is stopped).

    Returns:
        a ``Playground``: ``.url``, ``.trainer``, ``.stop()``; a context manager.
    """
    if isinstance(model, str) and data is None:  # gn.playground("digits")
        model, data = None, model
    if model is not None and not hasattr(model, "parameters"):
        raise ValueError(f"playground: model must be a gn.nn.Module, got {type(model).__name__}")
    from . import server as _server

    if not (_server.STATIC / "index.html").is_file():
        raise FileNotFoundError(f"playground: the page's files are missing from this installation "
                                f"({_server.STATIC}); reinstall glassnet")
    trainer = _trainer(model, data, setup, loss)
    try:
        server = _server.PlaygroundServer(trainer, port)
    except OSError as err:
        raise OSError(f"playground: cannot serve on 127.0.0.1:{port}: {err.strerror or err}") from None
    trainer.start()
    server.start()
    pg = Playground(trainer, server)
    if open_browser:
        import webbrowser

        webbrowser.open(pg.url)
    if block:
        pg.serve_forever()
    return pg


class _CallableModule(types.ModuleType):
    """``gn.playground`` is this package once it is imported; calling it starts a playground."""

    def __call__(self, *args, **kwargs) -> Playground:
        return playground(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
