"""Progress display for ``fit``: a tqdm bar on a terminal, one line per epoch elsewhere."""

from __future__ import annotations

import sys
import time

from .callbacks import Callback, ModelCheckpoint


def _fmt(logs: dict) -> str:
    return " - ".join(f"{k} {v:.4f}" for k, v in logs.items()
                      if k != "lr" and isinstance(v, float))


def _postfix(logs: dict) -> str:
    # short names keep the bar itself visible on an 80-column terminal
    return ", ".join(f"{k.replace('accuracy', 'acc')}={v:.4f}" for k, v in logs.items()
                     if k != "lr" and isinstance(v, float))


class Progress(Callback):
    """Shows training as it happens: the callback that ``fit`` puts second in its list.

    ``verbose``: False/0 shows nothing; True/1 a live bar per epoch when the
    output is a terminal, else one plain line per epoch; 2 always plain lines.
    The bar's loss and metrics refresh at most every ``refresh`` seconds, so
    displaying costs nothing measurable per batch; without a bar ``fit`` never
    calls it per batch. When training stops early it says why, and after Ctrl-C
    how to resume.
    """

    order = -1e9  # right after History: an epoch's line shows before checkpoints are written

    def __init__(self, verbose=True, epochs: int | None = None, steps: int | None = None,
                 stream=None, refresh: float = 0.2):
        self.stream = stream or sys.stdout
        self.epochs, self.steps, self.refresh = epochs, steps, refresh
        if not verbose:
            self.mode = None
        elif verbose == 2 or not getattr(self.stream, "isatty", lambda: False)():
            self.mode = "line"
        else:
            self.mode = "bar"
        self.bar = None
        self.next_refresh = 0.0
        if self.mode == "bar":  # only then is a per-batch call worth making
            self.on_batch_end = self._batch_end

    # the callback hooks
    def on_train_begin(self, logs=None) -> None:
        self.epochs, self.steps = self.state.epochs, self.state.steps

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.epoch_begin(epoch)

    def _batch_end(self, batch, logs) -> None:
        self.batch(self.state.running_logs)

    def on_epoch_end(self, epoch, logs) -> None:
        self.epoch_end(epoch, logs)

    def on_train_end(self, logs=None) -> None:
        self.close()
        if self.state.stop_training:
            self.message(stop_message(self.state))

    # the display
    @property
    def live(self) -> bool:
        """Whether ``batch`` needs to be called (a bar is showing)."""
        return self.mode == "bar"

    def epoch_begin(self, epoch: int) -> None:
        self.t0 = time.perf_counter()
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.steps, desc=f"Epoch {epoch}/{self.epochs}",
                            unit="batch", file=self.stream, leave=True, dynamic_ncols=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar:16}| {n_fmt}/{total_fmt} "
                                       "[{elapsed}<{remaining}{postfix}]")
            self.next_refresh = time.monotonic() + self.refresh

    def batch(self, running: dict) -> None:
        """One batch done; ``running`` maps names to running means (a callable may be given
        instead, computed only when the bar refreshes)."""
        self.bar.update(1)
        now = time.monotonic()
        if now >= self.next_refresh:
            self.next_refresh = now + self.refresh
            logs = running() if callable(running) else running
            self.bar.set_postfix_str(_postfix(logs), refresh=False)

    def epoch_end(self, epoch: int, logs: dict) -> None:
        seconds = time.perf_counter() - self.t0
        if self.mode == "bar" and self.bar is not None:
            self.bar.set_postfix_str(_postfix(logs), refresh=False)
            self.bar.close()
            self.bar = None
        elif self.mode == "line":
            print(f"Epoch {epoch}/{self.epochs} - {seconds:.1f}s - {_fmt(logs)}",
                  file=self.stream, flush=True)

    def message(self, text: str) -> None:
        if self.mode is not None:
            self.close()
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def stop_message(state) -> str:
    """Why training stopped and, after Ctrl-C or a broken epoch, where the last good
    checkpoint is and how to resume from it."""
    lines = [f"Training stopped: {state.stop_reason}."]
    if not (state.interrupted or state.abort_epoch):
        return lines[0]
    checkpoints = [c for c in state.callbacks if isinstance(c, ModelCheckpoint) and c.save_last]
    ckpt = next((c for c in checkpoints if c.last_epoch), None)
    if ckpt is not None:
        lines.append(f"The last checkpoint (epoch {ckpt.last_epoch}) is intact: {ckpt.last_path}")
        if state.interrupted:
            hint = ckpt.resume_hint or f"fit(..., resume_from={ckpt.last_path!r})"
            lines.append(f"Resume with: {hint}")
    elif state.interrupted and checkpoints:
        lines.append("No checkpoint was written yet: the first epoch had not finished.")
    elif state.interrupted:
        lines.append("No checkpoint was written (add gn.train.ModelCheckpoint(dir) to be "
                     "able to resume).")
    return "\n".join(lines)
