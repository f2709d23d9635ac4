"""Progress display for ``fit``: a tqdm bar on a terminal, one line per epoch elsewhere."""

from __future__ import annotations

import sys
import time


def _fmt(logs: dict) -> str:
    return " - ".join(f"{k} {v:.4f}" for k, v in logs.items()
                      if k != "lr" and isinstance(v, float))


def _postfix(logs: dict) -> str:
    # short names keep the bar itself visible on an 80-column terminal
    return ", ".join(f"{k.replace('accuracy', 'acc')}={v:.4f}" for k, v in logs.items()
                     if k != "lr" and isinstance(v, float))


class Progress:
    """Shows training as it happens.

    ``verbose``: False/0 shows nothing; True/1 a live bar per epoch when the
    output is a terminal, else one plain line per epoch; 2 always plain lines.
    The bar's loss and metrics refresh at most every ``refresh`` seconds, so
    displaying costs nothing measurable per batch.
    """

    def __init__(self, verbose, epochs: int, steps: int | None, stream=None, refresh: float = 0.2):
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
