"""gn.explain() records the thread that opened it, as grad mode is per thread.

Another thread's ops, backward passes, optimizer steps and module calls never
reach it, and two threads may record their own explanations at once. The
threads are stepped in turn with semaphores and barriers, so the ops of both
really run while the recording is open (no sleeps, no luck)."""

import threading

import numpy as np

import glassnet as gn
from glassnet import autograd, nn
from glassnet import functional as F

WAIT = 30  # seconds; a wait that times out fails the test instead of hanging it


class Trainer(threading.Thread):
    """Trains an MLP in its own thread, one step (forward, backward, SGD step) each time
    ``step()`` asks for one; records what it saw of the explain machinery."""

    def __init__(self):
        super().__init__(daemon=True)
        self.ask, self.done = threading.Semaphore(0), threading.Semaphore(0)
        self.steps, self.error, self.recorders = 0, None, set()
        rng = np.random.default_rng(1)
        self.x = gn.tensor(rng.standard_normal((16, 8)).astype(np.float32))
        self.y = gn.tensor(rng.integers(0, 3, 16))
        self.model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))
        self.opt = gn.optim.SGD(self.model.parameters(), lr=0.1)
        self.stop = False

    def run(self):
        try:
            while True:
                assert self.ask.acquire(timeout=WAIT), "nobody asked for a step"
                if self.stop:
                    return
                self.recorders.add(autograd.current_recorder())
                self.opt.zero_grad()
                F.cross_entropy(self.model(self.x), self.y).backward()
                self.opt.step()
                self.steps += 1
                self.done.release()
        except BaseException as e:  # noqa: BLE001 - reported by the test thread
            self.error = e
            self.done.release()

    def step(self):
        """Run one training step in the trainer's thread, and wait for it."""
        self.ask.release()
        assert self.done.acquire(timeout=WAIT), "the trainer's step did not finish"
        assert self.error is None, self.error

    def close(self):
        self.stop = True
        self.ask.release()
        self.join(WAIT)
        assert not self.is_alive()
        assert self.error is None, self.error


def neuron(between=lambda: None):
    """The chapter's neuron, 2-3-1 style: a small layer, σ, binary cross-entropy, backward and an
    SGD step, recorded; ``between()`` runs after each stage, while the recording is open."""
    gn.manual_seed(3)
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
    x = gn.tensor([[0.5, -0.2]], dtype=gn.float32)
    y = gn.tensor([[1.0]], dtype=gn.float32)
    opt = gn.optim.SGD(model.parameters(), lr=0.5)
    cm = gn.explain()
    with cm as ex:
        between()
        h = model[1](model[0](x))
        between()
        out = model[3](model[2](h))
        between()
        loss = F.binary_cross_entropy(out, y)
        between()
        loss.backward()
        between()
        opt.step()
        between()
    return ex, cm.recorder, model


def sums(n, between=lambda: None):
    """A different small computation: a named sum of squares of ``n`` numbers and its gradient."""
    v = gn.tensor(np.arange(1.0, n + 1), dtype=gn.float64, requires_grad=True)
    v.name = "v"
    with gn.explain() as ex:
        between()
        s = (v * v).sum()
        between()
        s.backward()
        between()
    return ex


def test_another_threads_training_stays_out_of_an_explanation():
    alone, _, _ = neuron()
    assert autograd._recording == 0
    trainer = Trainer()
    trainer.start()
    try:
        trainer.step()  # the trainer is up before the recording opens
        ex, rec, model = neuron(between=trainer.step)
    finally:
        trainer.close()
    assert trainer.steps == 7  # six of them while the recording was open
    assert trainer.recorders == {None}  # the trainer's thread never saw a recorder
    # line for line what it is without the other thread
    assert str(ex).splitlines() == str(alone).splitlines()
    assert ex.to_markdown() == alone.to_markdown()
    assert [s.title for s in ex.steps] == [s.title for s in alone.steps]
    # the module calls watched for naming are this thread's only
    mine = {id(m) for m in model.modules()}
    assert rec.model_names.calls and all(id(m) in mine for m, _, _ in rec.model_names.calls)
    assert autograd._recording == 0 and autograd.current_recorder() is None


def test_a_thread_started_inside_a_recording_records_nothing():
    seen, out = [], []

    def work():
        seen.append(autograd.current_recorder())
        t = gn.tensor([1.0, 2.0], requires_grad=True)
        (t * t).sum().backward()
        out.append(t.grad.data.tolist())

    with gn.explain() as ex:
        worker = threading.Thread(target=work)
        worker.start()
        worker.join(WAIT)
        assert autograd.current_recorder() is not None
    assert seen == [None] and out == [[2.0, 4.0]]
    assert len(ex.steps) == 0


def test_two_threads_record_their_own_explanations_at_once():
    solo_a, _, _ = neuron()
    solo_b = sums(5)
    # every stage of each thread waits for the other's stage: both recordings are open
    # together and their ops alternate
    turn = threading.Barrier(2, timeout=WAIT)
    got, errors = {}, []

    def in_thread(key, work):
        try:
            got[key] = work()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
            turn.abort()

    def b():
        ex = sums(5, between=turn.wait)
        for _ in range(3):  # the neuron has more stages: keep meeting them
            turn.wait()
        return ex

    threads = [threading.Thread(target=in_thread, args=("a", lambda: neuron(between=turn.wait)[0])),
               threading.Thread(target=in_thread, args=("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert not errors, errors
    assert str(got["a"]).splitlines() == str(solo_a).splitlines()
    assert str(got["b"]).splitlines() == str(solo_b).splitlines()
    assert "v_1" in str(got["b"]) and "v_1" not in str(got["a"])
    assert autograd._recording == 0


def test_nested_recording_in_one_thread():
    p = gn.tensor([1.0, 2.0], dtype=gn.float64)
    p.name = "p"
    with gn.explain() as outer:
        p * 2
        with gn.explain() as inner:
            p + 1
            assert autograd._recording == 1  # one thread records, whatever the depth
        p - 3
    assert [s.op for s in outer.steps] == ["Mul", "Sub"]
    assert [s.op for s in inner.steps] == ["Add"]
    assert autograd._recording == 0 and autograd.current_recorder() is None


def test_set_recorder_is_per_thread():
    class Watch:
        def __init__(self):
            self.ops = []

        def on_forward(self, fn, inputs, result, params):
            self.ops.append(type(fn).__name__)

    mine, theirs = Watch(), Watch()
    ready, go = threading.Barrier(2, timeout=WAIT), threading.Barrier(2, timeout=WAIT)

    def other():
        prev = autograd.set_recorder(theirs)
        try:
            ready.wait()  # both installed
            gn.tensor([1.0]) * 2
            go.wait()
        finally:
            autograd.set_recorder(prev)

    prev = autograd.set_recorder(mine)
    try:
        worker = threading.Thread(target=other)
        worker.start()
        ready.wait()
        assert autograd._recording == 2
        gn.tensor([1.0]) + 2
        go.wait()
        worker.join(WAIT)
        assert autograd.current_recorder() is mine  # this thread reads its own
    finally:
        autograd.set_recorder(prev)
    assert mine.ops == ["AddFunction"] and theirs.ops == ["MulFunction"]
    assert autograd._recording == 0
