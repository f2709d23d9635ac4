"""The playground's training thread: it owns the model, reads commands, publishes frames.

One thread (``glassnet-playground-trainer``) owns the model, its optimizer and the data;
nothing else touches them. Commands arrive through a ``queue.Queue``, each with a reply slot
the caller waits on. While playing, the thread runs the five textbook steps (``train_step``:
zero_grad, forward, loss, backward, step) and reads the queue between steps. It publishes a
frame (``frames.build``) at most ``FPS`` times a second while playing and at once after a
command; only the newest frame is kept (a ``threading.Condition`` wakes the waiting streams).

Commands (docs/playground.md): play, pause, step, set, reset, explain, export.
"""

from __future__ import annotations

import math
import queue
import threading
import time

import numpy as np

from . import frames as _frames
from . import setups as S

FPS = 15  # frames published per second at most while playing
THREAD_NAME = "glassnet-playground-trainer"
MAX_STEPS_PER_COMMAND = 100_000
COMMANDS = ("play", "pause", "step", "set", "reset", "explain", "export")
NAN_MESSAGE = ("The loss became {what} at step {step}: the learning rate {lr} is too high for this "
               "setup, so the weights overflowed. Lower the learning rate and press reset.")


class _Reply:
    """A command's reply slot: the trainer fills it, the caller waits on it."""

    __slots__ = ("done", "error", "value")

    def __init__(self):
        self.done = threading.Event()
        self.value = self.error = None


class LossCurve:
    """Losses per step, kept in at most ``2·limit`` buckets: when full, neighbouring buckets merge
    (each bucket: its first step, the mean loss of its steps), so memory and frame cost stay flat."""

    def __init__(self, limit: int = 500):
        self.limit = limit
        self.width = 1  # steps per bucket
        self.points: list = []  # [step, sum, count]

    def add(self, step: int, loss: float) -> None:
        if self.points and self.points[-1][2] < self.width:
            p = self.points[-1]
            p[1] += loss
            p[2] += 1
            return
        self.points.append([step, loss, 1])
        if len(self.points) >= 2 * self.limit:
            self.points = [[a[0], a[1] + b[1], a[2] + b[2]] for a, b in zip(self.points[::2], self.points[1::2])]
            self.width *= 2

    def series(self) -> list:
        """[[step, mean loss], ...], at most ``limit`` points."""
        pts = self.points
        if len(pts) > self.limit:
            pts = [[a[0], a[1] + b[1], a[2] + b[2]] for a, b in zip(pts[::2], pts[1::2])] + \
                ([pts[-1]] if len(pts) % 2 else [])
        return [[p[0], p[1] / p[2]] for p in pts]


class Trainer:
    """Trains one setup (or the user's own model and data) in a thread of its own.

    ``Trainer(setup)`` builds the data, model, loss and optimizer of a setup dict (defaults
    filled in); ``Trainer(model=..., data=(X, y), loss=None)`` trains the user's own (the loss
    inferred from the targets when not given). ``start()`` starts the thread, ``command(cmd)``
    sends it a command and returns its reply, ``frame()`` is the newest frame.
    """

    def __init__(self, setup: dict | None = None, *, model=None, data=None, loss=None):
        custom = model is not None or data is not None
        if custom and (model is None or data is None):
            raise ValueError("playground: give both model= and data=(X, y) to train your own model")
        self._custom = (model, data, loss) if custom else None
        self.setup = S.validate(setup, custom=custom)
        self._build()
        if custom:  # reset restores the weights the model came with
            self._initial = {k: np.array(v._data, copy=True) for k, v in self.model.state_dict().items()}
        self._queue: queue.Queue = queue.Queue()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self.running = False
        self._frame_id = 0
        self._frame: dict | None = None
        self._graph = None
        self._last_publish = 0.0
        self._publish()

    # ------------------------------------------------------------------
    # building
    # ------------------------------------------------------------------
    def _build(self) -> None:
        if self._custom is not None:
            model, data, loss = self._custom
            self.built = S.build_custom(self.setup, model, data, loss)
        else:
            self.built = S.build(self.setup)
        self.model = self.built.model
        self.optimizer = self.built.optimizer
        self.loss_fn = self.built.loss_fn
        self.X, self.target = self.built.X, self.built.target
        self._restart()

    def _restart(self) -> None:
        """Step 0: a fresh sampler, loss curve and banner."""
        self.step = 0
        self._rng = np.random.default_rng(self.setup["seed"])
        self._order = self._rng.permutation(len(self.X))
        self._pos = 0
        self.curve = LossCurve()
        self.nan = None
        self.last_loss = None
        self._graph = None

    def _reset_weights(self) -> None:
        if self._custom is not None:
            self.model.load_state_dict(self._initial)
            self.built.optimizer = S.make_optimizer(self.setup, self.model.parameters())
            self.optimizer = self.built.optimizer
            self._restart()
        else:
            self._build()

    # ------------------------------------------------------------------
    # the data: shuffled mini-batches, epoch after epoch
    # ------------------------------------------------------------------
    def _indices(self) -> np.ndarray:
        """The indices of the next batch (the one ``batch()`` shows), without moving on."""
        bs = min(self.setup["batch_size"], len(self.X))
        if self._pos + bs > len(self.X):
            self._order = self._rng.permutation(len(self.X))
            self._pos = 0
        return self._order[self._pos:self._pos + bs]

    def batch(self) -> tuple:
        """The current batch (X, target) as NumPy: the one the next training step uses and the
        one a click explains."""
        idx = self._indices()
        return self.X[idx], self.target[idx]

    def _tensors(self):
        from ..tensor import Tensor

        xb, yb = self.batch()
        return Tensor(xb), Tensor(yb)

    # ------------------------------------------------------------------
    # one training step: the five textbook steps
    # ------------------------------------------------------------------
    def train_step(self) -> float:
        x, y = self._tensors()
        self._pos += len(x._data)
        self.optimizer.zero_grad()          # 1. forget the last step's gradients
        output = self.model(x)              # 2. forward pass
        loss = self.loss_fn(output, y)      # 3. the loss of this batch
        loss.backward()                     # 4. backward pass: ∂L/∂θ for every parameter
        self.optimizer.step()               # 5. θ ← update(θ, ∂L/∂θ)
        value = float(loss._data)
        self.step += 1
        self.last_loss = value
        if self._graph is None:
            self._graph = _frames.graph(loss, self.model)
        if math.isfinite(value):
            self.curve.add(self.step, value)
        else:
            self._diverged(value)
        return value

    def _diverged(self, value: float) -> None:
        self.running = False
        what = "NaN" if math.isnan(value) else "infinite"
        self.nan = {"message": NAN_MESSAGE.format(what=what, step=self.step, lr=self.setup["lr"])}

    # ------------------------------------------------------------------
    # frames
    # ------------------------------------------------------------------
    def _publish(self) -> dict:
        frame = _frames.build(self)
        with self._cond:
            self._frame_id += 1
            frame["id"] = self._frame_id
            self._frame = frame
            self._cond.notify_all()
        self._last_publish = time.perf_counter()
        return frame

    def frame(self) -> dict:
        """The newest frame."""
        with self._cond:
            return self._frame

    def wait_frame(self, after_id: int, timeout: float) -> dict | None:
        """The newest frame whose id is above ``after_id``; None on timeout or once stopped."""
        with self._cond:
            self._cond.wait_for(lambda: self._frame["id"] > after_id or self._stopped.is_set(), timeout)
            if self._frame["id"] > after_id:
                return self._frame
            return None

    # ------------------------------------------------------------------
    # the thread
    # ------------------------------------------------------------------
    def start(self) -> None:
        """Start the training thread (paused until a play command)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread and wait for it (idempotent)."""
        self._stopped.set()
        self._queue.put(None)  # wakes a paused thread
        with self._cond:
            self._cond.notify_all()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)

    def command(self, cmd: dict, timeout: float = 60.0) -> dict:
        """Send a command to the training thread and return its reply. A bad command:
        ValueError in one line; the thread not running: RuntimeError."""
        if not isinstance(cmd, dict) or not isinstance(cmd.get("cmd"), str):
            raise ValueError(f"command must be a JSON object with a 'cmd' field ({', '.join(COMMANDS)}), "  # noqa: TRY004
                             f"got {cmd!r}"[:300])
        if cmd["cmd"] not in COMMANDS:
            raise ValueError(f"command: cmd must be one of {', '.join(COMMANDS)}, got {cmd['cmd']!r}"[:300])
        if self._thread is None or self._stopped.is_set() or not self._thread.is_alive():
            raise RuntimeError("playground: the trainer is not running (start() it, or it was stopped)")
        reply = _Reply()
        self._queue.put((cmd, reply))
        if not reply.done.wait(timeout):
            raise TimeoutError(f"playground: no reply to {cmd['cmd']!r} within {timeout} s")
        if reply.error is not None:
            raise reply.error
        return reply.value

    def _run(self) -> None:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence: the NaN banner says it
            self._loop()

    def _loop(self) -> None:
        try:
            while not self._stopped.is_set():
                if self.running:
                    self._drain()
                    if not self.running or self._stopped.is_set():
                        continue
                    self.train_step()
                    if not self.running or time.perf_counter() - self._last_publish >= 1 / FPS:
                        self._publish()
                else:
                    item = self._queue.get()
                    if item is not None:
                        self._handle(*item)
        finally:
            self.running = False
            self._stopped.set()
            while True:  # nobody waits forever on a command sent as it stopped
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[1].error = RuntimeError("playground: the trainer has stopped")
                    item[1].done.set()
            with self._cond:
                self._cond.notify_all()

    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                self._handle(*item)

    def _handle(self, cmd: dict, reply: _Reply) -> None:
        try:
            reply.value = getattr(self, "_cmd_" + cmd["cmd"])(cmd)
        except (ValueError, TypeError, KeyError) as err:
            reply.error = ValueError(str(err).split("\n")[0] if isinstance(err, ValueError) else
                                     f"{cmd.get('cmd')}: {type(err).__name__}: {err}")
        except Exception as err:  # noqa: BLE001 - the thread lives on; the caller gets the error
            reply.error = RuntimeError(f"{cmd.get('cmd')}: {type(err).__name__}: {err}".split("\n")[0])
        finally:
            reply.done.set()

    # ------------------------------------------------------------------
    # commands
    # ------------------------------------------------------------------
    @staticmethod
    def _fields(cmd, allowed):
        extra = [k for k in cmd if k != "cmd" and k not in allowed]
        if extra:
            what = f"fields {', '.join(allowed)}" if allowed else "no other fields"
            raise ValueError(f"{cmd['cmd']}: unknown field {extra[0]!r}; expected {what}")

    def _cmd_play(self, cmd):
        self._fields(cmd, ())
        if self.nan is not None:
            raise ValueError("play: the loss is NaN or infinite; lower the learning rate and reset first")
        self.running = True
        f = self._publish()
        return {"id": f["id"], "step": f["step"], "running": True}

    def _cmd_pause(self, cmd):
        self._fields(cmd, ())
        self.running = False
        f = self._publish()
        return {"id": f["id"], "step": f["step"], "running": False}

    def _cmd_step(self, cmd):
        self._fields(cmd, ("n",))
        n = cmd.get("n", 1)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_STEPS_PER_COMMAND:
            raise ValueError(f"step: n must be an integer from 1 to {MAX_STEPS_PER_COMMAND}, got {n!r}")
        self.running = False
        for _ in range(n):
            if self.nan is not None:
                break
            self.train_step()
        f = self._publish()
        return {"id": f["id"], "step": f["step"], "loss": f["loss"]}

    def _cmd_set(self, cmd):
        fields = {k: v for k, v in cmd.items() if k != "cmd"}
        if not fields:
            raise ValueError(f"set: give at least one field to change ({', '.join(S.FIELDS)})")
        if self._custom is not None:
            fixed = [k for k in fields if k in S.STRUCTURAL]
            if fixed:
                raise ValueError(f"set: {fixed[0]} is fixed for your own model and data "
                                 f"(got {fields[fixed[0]]!r}); only {', '.join(S.HYPER)} can change")
        new = S.validate(fields, base=self.setup, custom=self._custom is not None)
        structural = any(new[k] != self.setup[k] for k in S.STRUCTURAL)
        old = self.setup
        self.setup = new
        if structural:
            self.running = False
            try:
                self._build()
            except Exception:
                self.setup = old
                self._build()
                raise
        else:
            self._apply_hyper(old)
        f = self._publish()
        return {"id": f["id"], "step": f["step"], "setup": dict(self.setup)}

    def _apply_hyper(self, old) -> None:
        """lr, l2 and batch size take effect at the next update; a new optimizer starts fresh."""
        if self.setup["optimizer"] != old["optimizer"]:
            self.optimizer = self.built.optimizer = S.make_optimizer(self.setup, self.model.parameters())
            return
        for g in self.optimizer.param_groups:
            g["lr"] = self.setup["lr"]
            g["weight_decay"] = self.setup["l2"]

    def _cmd_reset(self, cmd):
        self._fields(cmd, ())
        self.running = False
        self._reset_weights()
        f = self._publish()
        return {"id": f["id"], "step": f["step"], "running": False}

    def _cmd_explain(self, cmd):
        self._fields(cmd, ("target",))
        from . import clicks

        return clicks.explain(self, cmd.get("target"))

    def _cmd_export(self, cmd):
        self._fields(cmd, ())
        if self._custom is not None:
            raise ValueError("export: your own model and data cannot be written as code; export works "
                             "for the built-in data sets")
        return {"code": S.export_code(self.setup)}
