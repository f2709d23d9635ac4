"""gn.distributed under a real ``mpiexec -n 2`` (MPICH's, from the environment's bin/).

Each test starts ``mpiexec -n 2 python -m test_distributed_mpi CASE OUT`` with a timeout;
the ranks run the CASE function of this same file and write what they computed to OUT,
and the test compares it with one process computing the same thing here. Every
process has one BLAS thread. Outside CI a machine without mpiexec skips these tests;
in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

import glassnet as gn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
LAUNCH_TIMEOUT = 60  # seconds for one mpiexec run (they take about 2 s)
STEPS, GLOBAL_BATCH = 4, 12


# ============================================================== what the ranks run
class Tied(gn.nn.Module):
    """A net that uses one layer twice, so a weight receives two gradient contributions."""

    def __init__(self):
        super().__init__()
        self.inp, self.mid, self.out = gn.nn.Linear(6, 8), gn.nn.Linear(8, 8), gn.nn.Linear(8, 3)

    def forward(self, x):
        h = gn.tanh(self.inp(x))
        h = gn.tanh(self.mid(h))
        h = gn.tanh(self.mid(h))
        return self.out(h)


def train_steps(kind: str, rank: int, size: int, overlap: bool = False) -> np.ndarray:
    """STEPS optimizer steps of a float64 net on a global batch of GLOBAL_BATCH, this rank's
    part of each; the weights after them, flattened."""
    d = gn.distributed
    previous = gn.get_default_dtype()
    gn.set_default_dtype(gn.float64)
    try:
        gn.manual_seed(100 + rank)  # every rank starts elsewhere: DDP must copy rank 0's
        net = Tied()
        model = d.DistributedDataParallel(net, bucket_cap_mb=0.0005, overlap=overlap)
        if kind == "sgd":
            opt = gn.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        else:
            opt = gn.optim.Adam(net.parameters(), lr=0.01)
        rng = np.random.default_rng(5)
        lo, hi = rank * GLOBAL_BATCH // size, (rank + 1) * GLOBAL_BATCH // size
        for _ in range(STEPS):
            X = rng.normal(size=(GLOBAL_BATCH, 6))
            y = rng.integers(0, 3, GLOBAL_BATCH)
            opt.zero_grad()
            loss = gn.nn.functional.cross_entropy(model(gn.tensor(X[lo:hi])), gn.tensor(y[lo:hi]))
            loss.backward()
            opt.step()
        return np.concatenate([p._data.ravel() for p in net.parameters()])
    finally:
        gn.set_default_dtype(previous)


def train_zero(kind: str, rank: int, size: int, steps=range(STEPS), start=None,
               bucket_view=False):
    """The optimizer steps ``steps`` (of STEPS + 2 batches) of the float64 Tied net with
    ZeroRedundancyOptimizer (a plain optimizer in a world of one); ``start``: (weights, the
    optimizer's whole state) to begin from, loaded after the optimizer was made. Returns the
    weights and, on rank 0, the whole state after them."""
    d = gn.distributed
    previous = gn.get_default_dtype()
    gn.set_default_dtype(gn.float64)
    try:
        gn.manual_seed(100 + rank)
        net = Tied()
        model = d.DistributedDataParallel(net, bucket_cap_mb=0.0005)
        cls, options = {"adam": (gn.optim.Adam, {"lr": 0.01, "amsgrad": True}),
                        "sgd": (gn.optim.SGD, {"lr": 0.1, "momentum": 0.9,
                                               "weight_decay": 1e-3})}[kind]
        groups = [{"params": net.inp.parameters(), "lr": 0.02}, {"params": net.mid.parameters()},
                  {"params": net.out.parameters()}]  # shard 0 ends inside mid.weight
        opt = d.optim.ZeroRedundancyOptimizer(groups, cls, parameters_as_bucket_view=bucket_view,
                                              **options) if size > 1 else cls(groups, **options)
        if start is not None:  # new arrays for the parameters, and the optimizer's state
            weights, offset = {}, 0
            for name, p in net.named_parameters():
                weights[name] = start[0][offset:offset + p._data.size].reshape(p.shape)
                offset += p._data.size
            net.load_state_dict(weights)
            opt.load_state_dict(start[1])
        base_lr = [g["lr"] for g in groups[:1]] + [options["lr"]] * 2
        rng = np.random.default_rng(5)
        lo, hi = rank * GLOBAL_BATCH // size, (rank + 1) * GLOBAL_BATCH // size
        for step in range(STEPS + 2):
            X = rng.normal(size=(GLOBAL_BATCH, 6))
            y = rng.integers(0, 3, GLOBAL_BATCH)
            if step not in steps:
                continue
            for g, lr in zip(opt.param_groups, base_lr):  # as a scheduler does: halved
                g["lr"] = lr * 0.5 ** (step // 2)               # every 2 steps
            opt.zero_grad()
            loss = gn.nn.functional.cross_entropy(model(gn.tensor(X[lo:hi])), gn.tensor(y[lo:hi]))
            loss.backward()
            opt.step()
        if size > 1:
            opt.consolidate_state_dict(to=0)
        state = opt.state_dict() if rank == 0 else None
        return np.concatenate([p._data.ravel() for p in net.parameters()]), state
    finally:
        gn.set_default_dtype(previous)


def train_sync_bn(rank: int, size: int) -> np.ndarray:
    """STEPS SGD steps of a float64 CNN whose BatchNorm layers are SyncBatchNorm, each rank on
    its half of the batch; the weights and running statistics after them."""
    d = gn.distributed
    previous = gn.get_default_dtype()
    gn.set_default_dtype(gn.float64)
    try:
        gn.manual_seed(200)
        nn = gn.nn
        net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                            nn.Linear(48, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 3))
        net = d.SyncBatchNorm.convert_sync_batchnorm(net)
        model = d.DistributedDataParallel(net)
        opt = gn.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        rng = np.random.default_rng(9)
        lo, hi = rank * GLOBAL_BATCH // size, (rank + 1) * GLOBAL_BATCH // size
        for _ in range(STEPS):
            X = rng.normal(size=(GLOBAL_BATCH, 1, 6, 6))
            y = rng.integers(0, 3, GLOBAL_BATCH)
            opt.zero_grad()
            loss = gn.nn.functional.cross_entropy(model(gn.tensor(X[lo:hi])), gn.tensor(y[lo:hi]))
            loss.backward()
            opt.step()
        return np.concatenate([v._data.ravel().astype(np.float64)
                               for v in net.state_dict().values()])
    finally:
        gn.set_default_dtype(previous)


def moons(n=101):
    X, y = gn.data.make_moons(n, noise=0.2, seed=0)
    return X.astype(np.float64), y


def fit_run(epochs: int, rank: int, ckpt_dir=None, resume_from=None, report=None, zero=False):
    """fit on 81 moons in batches of 10 (the last holds one sample: one rank's share is
    empty), validated on 20, shuffled by the global generator, with Adam (sharded by
    ZeroRedundancyOptimizer with ``zero``); (history, weights)."""
    previous = gn.get_default_dtype()
    gn.set_default_dtype(gn.float64)
    try:
        gn.manual_seed(7 + rank)  # rank 1's weights and shuffles must not matter
        X, y = moons()
        model = gn.nn.Sequential(gn.nn.Linear(2, 8), gn.nn.Tanh(), gn.nn.Linear(8, 2))
        opt = gn.distributed.optim.ZeroRedundancyOptimizer(
            model.parameters(), gn.optim.Adam, lr=0.05) if zero else \
            gn.optim.Adam(model.parameters(), lr=0.05)
        callbacks = [gn.train.ModelCheckpoint(ckpt_dir)] if ckpt_dir else []
        history = gn.train.fit(model, (X[:81], y[:81]), "cross_entropy", opt, epochs=epochs,
                               batch_size=10, val_data=(X[81:], y[81:]), verbose=2,
                               callbacks=callbacks, resume_from=resume_from, report=report)
        return history.to_dict(), np.concatenate([p._data.ravel() for p in model.parameters()])
    finally:
        gn.set_default_dtype(previous)


def case_ddp(out: Path) -> None:
    """DDP after SGD and Adam steps; SyncBatchNorm; the collectives; the sampler; BatchNorm's
    buffers."""
    d = gn.distributed
    d.init()
    rank, size = d.rank(), d.world_size()
    result = {"rank": rank, "size": size}
    weights = {k: train_steps(k, rank, size) for k in ("sgd", "adam")}
    weights["adam_overlap"] = train_steps("adam", rank, size, overlap=True)
    weights["sync_bn"] = train_sync_bn(rank, size)
    np.savez(out / f"ddp-{rank}.npz", **weights)

    t = gn.tensor([float(rank), 10.0])
    d.all_reduce(t)
    a = np.array([rank + 1.0, -rank])
    d.all_reduce(a, op=d.ReduceOp.MAX)
    m = np.array([rank + 1.0])
    d.all_reduce(m, op=d.ReduceOp.AVG)
    b = gn.tensor([rank, rank + 5])
    d.broadcast(b, src=1)
    parts = []
    d.all_gather(parts, gn.tensor([rank, 2 * rank]))
    filled = [np.zeros(2), np.zeros(2)]
    d.all_gather(filled, np.array([rank, 3.0]))
    result.update(sum=t.tolist(), max=a.tolist(), avg=m.tolist(), bcast=b.tolist(),
                  gather=[p.tolist() for p in parts], gather_arrays=[f.tolist() for f in filled],
                  objects=d.all_gather_object([], {"rank": rank}),
                  gathered_at_1=d.gather_object({"rank": rank}, [] if rank == 1 else None, dst=1))

    sampler = d.DistributedSampler(range(20), shuffle=True, seed=3)
    epochs = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        loader = gn.data.DataLoader(gn.data.TensorDataset(np.arange(20)), batch_size=4,
                                    sampler=sampler)
        epochs.append([int(v) for xb in loader for v in xb[0]._data])
    result["sampler"] = d.all_gather_object([], epochs)

    gn.manual_seed(rank)
    bn_net = gn.nn.Sequential(gn.nn.Linear(3, 4), gn.nn.BatchNorm1d(4))
    bn = d.DistributedDataParallel(bn_net)
    for step in range(3):  # own batches, then one batch that all ranks share
        x = gn.randn(8, 3) * (rank + 1) if step < 2 else gn.tensor(np.linspace(-1, 1, 24,
                                                                               dtype=np.float32))
        bn(x.reshape(8, 3)).sum().backward()
    # each rank updates its own statistics, but from rank 0's, which it took at the forward
    result["running_mean"] = bn_net[1].running_mean.tolist()
    (out / f"ddp-{rank}.json").write_text(json.dumps(result))


def case_zero(out: Path) -> None:
    """ZeroRedundancyOptimizer: STEPS steps from the start, then 2 more from the whole state
    that rank 0 consolidated (loaded on both ranks), for SGD and Adam."""
    d = gn.distributed
    rank, size = d.rank(), d.world_size()
    results = {}
    for kind in ("sgd", "adam"):
        weights, state = train_zero(kind, rank, size)
        start = d.broadcast_object_list([weights, state], src=0)
        results[kind] = weights
        results[kind + "_resumed"] = train_zero(kind, rank, size, range(STEPS, STEPS + 2),
                                                start=start)[0]
        if rank == 0:
            (out / f"zero-{kind}-state.pkl").write_bytes(pickle.dumps(state))
    results["adam_view"] = train_zero("adam", rank, size, bucket_view=True)[0]
    results["adam_view_resumed"] = train_zero("adam", rank, size, range(STEPS, STEPS + 2),
                                              start=start, bucket_view=True)[0]
    np.savez(out / f"zero-{rank}.npz", **results)
    try:
        d.optim.ZeroRedundancyOptimizer(Tied().parameters(), gn.optim.Adam).state_dict()
    except RuntimeError as e:
        (out / f"zero-{rank}-error.txt").write_text(str(e))


def case_fit(out: Path) -> None:
    """fit on 2 ranks: fresh for 2 epochs (checkpoints, report), resumed from a checkpoint
    that one process wrote, then two epochs more than that."""
    rank = gn.distributed.rank()
    history, weights = fit_run(2, rank, ckpt_dir=out / "two", report=out / "report")
    resumed, resumed_weights = fit_run(4, rank, resume_from=out / "one" / "last.ckpt")
    # a DataLoader over a DistributedSampler is one rank's share already: used as it is
    X, y = moons()
    data = gn.data.TensorDataset(X.astype(np.float32), y)
    sampler = gn.distributed.DistributedSampler(data, seed=1)
    model = gn.nn.Sequential(gn.nn.Linear(2, 4), gn.nn.Tanh(), gn.nn.Linear(4, 2))
    shared = gn.train.fit(model, gn.data.DataLoader(data, 8, sampler=sampler), "cross_entropy",
                          gn.optim.SGD(model.parameters(), lr=0.1), epochs=2, verbose=False)
    (out / f"sampler-{rank}.json").write_text(json.dumps(
        {"loss": shared["loss"], "epoch": sampler.epoch,
         "weights": [p._data.ravel().tolist() for p in model.parameters()]}))
    if rank == 0:
        np.savez(out / "fit-0.npz", weights=weights, resumed=resumed_weights)
        (out / "fit-0.json").write_text(json.dumps({"history": history, "resumed": resumed}))
    else:
        np.savez(out / "fit-1.npz", weights=weights, resumed=resumed_weights)


def case_fit_zero(out: Path) -> None:
    """fit on 2 ranks with ZeroRedundancyOptimizer(Adam): fresh for 2 epochs (checkpoints),
    then on to 4 epochs from its own checkpoint and from one process's plain Adam's."""
    rank = gn.distributed.rank()
    history, weights = fit_run(2, rank, ckpt_dir=out / "zero", zero=True)
    _, from_zero = fit_run(4, rank, resume_from=out / "zero" / "last.ckpt", zero=True)
    _, from_plain = fit_run(4, rank, resume_from=out / "one" / "last.ckpt", zero=True)
    np.savez(out / f"fit-zero-{rank}.npz", weights=weights, from_zero=from_zero,
             from_plain=from_plain, loss=history["loss"])


def case_raise(out: Path) -> None:
    """Rank 1 raises in the middle of training; rank 0 is then waiting in an all-reduce."""

    class Boom(gn.train.Callback):
        def on_batch_end(self, batch, logs):
            if gn.distributed.rank() == 1 and batch == 3:
                raise RuntimeError("rank 1 fails on purpose")

    X, y = moons()
    model = gn.nn.Sequential(gn.nn.Linear(2, 4), gn.nn.Linear(4, 2))
    gn.train.fit(model, (X, y), "cross_entropy", gn.optim.SGD(model.parameters(), lr=0.1),
                 epochs=50, verbose=False, callbacks=[Boom()])


def case_hang(out: Path) -> None:
    """Rank 1 stops answering; rank 0 must give up after the timeout (2 s here)."""
    d = gn.distributed
    d.init(timeout=2)
    if d.rank() == 1:
        time.sleep(LAUNCH_TIMEOUT)
    d.all_reduce(np.ones(3))


# ============================================================== the tests
def _mpiexec() -> str | None:
    """The mpiexec of the environment this Python runs in (MPICH's wheel puts it in bin/)."""
    here = Path(sysconfig.get_path("scripts")) / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
ENV.pop("GLASSNET_DISTRIBUTED_TIMEOUT", None)
_checked = {}


def mpirun(*args, n=2, timeout=LAUNCH_TIMEOUT, env=None):
    """Run ``mpiexec -n N python -m test_distributed_mpi ARGS``; (returncode, stdout, stderr,
    seconds)."""
    import pytest

    exe = _mpiexec()
    if "ok" not in _checked:
        probe = None if exe is None else subprocess.run(
            [exe, "-n", "2", sys.executable, "-c",
             "from mpi4py import MPI; assert MPI.COMM_WORLD.Get_size() == 2"],
            check=False, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT, env=ENV)
        _checked["ok"] = probe is not None and probe.returncode == 0
        _checked["why"] = ("no mpiexec found (pip install -e '.[test]' brings MPICH's)"
                           if probe is None else probe.stderr[-500:])
    if not _checked["ok"]:
        message = f"mpiexec -n 2 cannot run: {_checked['why']}"
        if IN_CI:
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    start = time.monotonic()
    run = subprocess.run([exe, "-n", str(n), sys.executable, "-m", "test_distributed_mpi",
                          *map(str, args)], check=False, capture_output=True, text=True,
                         timeout=timeout, env={**ENV, **(env or {})}, cwd=ROOT)
    return run.returncode, run.stdout, run.stderr, time.monotonic() - start


def test_ddp_equals_one_process_and_collectives(tmp_path):
    rc, _, err, _ = mpirun("ddp", tmp_path)
    assert rc == 0, err[-3000:]
    ranks = [np.load(tmp_path / f"ddp-{r}.npz") for r in (0, 1)]
    for kind in ("sgd", "adam"):
        alone = train_steps(kind, 0, 1)
        for r in (0, 1):
            np.testing.assert_allclose(ranks[r][kind], alone, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ranks[0]["adam_overlap"], ranks[0]["adam"], rtol=0, atol=1e-12)
    alone = train_sync_bn(0, 1)  # one process: plain batch norm over the whole batch
    for r in (0, 1):  # weights and running statistics
        np.testing.assert_allclose(ranks[r]["sync_bn"], alone, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(ranks[0]["adam"], ranks[1]["adam"])

    res = [json.loads((tmp_path / f"ddp-{r}.json").read_text()) for r in (0, 1)]
    for r in res:
        assert r["size"] == 2
        assert r["sum"] == [1.0, 20.0]
        assert r["max"] == [2.0, 0.0]
        assert r["avg"] == [1.5]
        assert r["bcast"] == [1, 6]
        assert r["gather"] == [[0, 0], [1, 2]]
        assert r["gather_arrays"] == [[0.0, 3.0], [1.0, 3.0]]
        assert r["objects"] == [{"rank": 0}, {"rank": 1}]
    assert res[1]["gathered_at_1"] == [{"rank": 0}, {"rank": 1}]  # on dst alone
    assert res[0]["gathered_at_1"] is None
    assert res[0]["running_mean"] == res[1]["running_mean"]  # rank 0's buffers at each forward

    shares = res[0]["sampler"]  # [rank][epoch] -> indices
    for epoch in range(2):
        seen = shares[0][epoch] + shares[1][epoch]
        assert sorted(seen) == list(range(20))  # every sample exactly once per epoch
        assert len(shares[0][epoch]) == len(shares[1][epoch]) == 10
    assert shares[0][0] != shares[0][1]  # set_epoch: a new order


def test_zero_redundancy_optimizer_equals_one_process(tmp_path):
    rc, _, err, _ = mpirun("zero", tmp_path)
    assert rc == 0, err[-3000:]
    ranks = [np.load(tmp_path / f"zero-{r}.npz") for r in (0, 1)]
    for kind in ("sgd", "adam"):
        alone, alone_state = train_zero(kind, 0, 1)
        resumed = train_zero(kind, 0, 1, range(STEPS + 2))[0]  # one unbroken run
        views = ("", "_view") if kind == "adam" else ("",)  # parameters_as_bucket_view
        for r, view in itertools.product((0, 1), views):
            np.testing.assert_allclose(ranks[r][kind + view], alone, rtol=0, atol=1e-10)
            np.testing.assert_allclose(ranks[r][kind + view + "_resumed"], resumed, rtol=0,
                                       atol=1e-10)
        np.testing.assert_array_equal(ranks[0][kind], ranks[1][kind])
        state = pickle.loads((tmp_path / f"zero-{kind}-state.pkl").read_bytes())
        assert state["param_groups"] == alone_state["param_groups"]
        assert state["state"].keys() == alone_state["state"].keys()
        for i, st in alone_state["state"].items():
            assert st.keys() == state["state"][i].keys()
            for name, value in st.items():
                np.testing.assert_allclose(state["state"][i][name], value, rtol=0, atol=1e-10,
                                           err_msg=f"{kind} parameter {i} {name}")
    for r in (0, 1):
        assert "consolidate_state_dict" in (tmp_path / f"zero-{r}-error.txt").read_text()


def test_fit_on_two_ranks_equals_one_process_and_resumes_across_counts(tmp_path):
    (tmp_path / "one").mkdir()
    fit_run(2, 0, ckpt_dir=tmp_path / "one")  # the checkpoint the 2-rank run resumes from
    rc, out, err, _ = mpirun("fit", tmp_path)
    assert rc == 0, err[-3000:]
    assert out.count("Epoch 1/2") == 1 and out.count("Epoch 4/4") == 1, out  # rank 0 only

    alone, alone_weights = fit_run(2, 0)
    got = json.loads((tmp_path / "fit-0.json").read_text())
    for key, values in alone.items():
        np.testing.assert_allclose(got["history"][key], values, rtol=0, atol=1e-10, err_msg=key)
    ranks = [np.load(tmp_path / f"fit-{r}.npz") for r in (0, 1)]
    np.testing.assert_allclose(ranks[0]["weights"], alone_weights, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(ranks[0]["weights"], ranks[1]["weights"])
    assert (tmp_path / "report" / "report.html").exists()
    shared = [json.loads((tmp_path / f"sampler-{r}.json").read_text()) for r in (0, 1)]
    assert shared[0] == shared[1] and shared[0]["epoch"] == 2  # same steps; set_epoch by fit

    # 1 process → 2 processes, and 2 processes → 1 process, both equal to an unbroken run
    unbroken, unbroken_weights = fit_run(4, 0)
    for key, values in unbroken.items():
        np.testing.assert_allclose(got["resumed"][key], values, rtol=0, atol=1e-10, err_msg=key)
    np.testing.assert_allclose(ranks[0]["resumed"], unbroken_weights, rtol=0, atol=1e-10)
    history, weights = fit_run(4, 0, resume_from=tmp_path / "two" / "last.ckpt")
    for key, values in unbroken.items():
        np.testing.assert_allclose(history[key], values, rtol=0, atol=1e-10, err_msg=key)
    np.testing.assert_allclose(weights, unbroken_weights, rtol=0, atol=1e-10)


def test_fit_with_zero_redundancy_optimizer_checkpoints_and_resumes_across_counts(tmp_path):
    (tmp_path / "one").mkdir()
    fit_run(2, 0, ckpt_dir=tmp_path / "one")  # plain Adam in one process
    rc, _, err, _ = mpirun("fit_zero", tmp_path)
    assert rc == 0, err[-3000:]
    alone, alone_weights = fit_run(2, 0)
    unbroken_weights = fit_run(4, 0)[1]
    for r in (0, 1):
        got = np.load(tmp_path / f"fit-zero-{r}.npz")
        np.testing.assert_allclose(got["loss"], alone["loss"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(got["weights"], alone_weights, rtol=0, atol=1e-10)
        # 2 processes → 2 processes, 1 process's plain Adam → 2 processes' ZeRO
        np.testing.assert_allclose(got["from_zero"], unbroken_weights, rtol=0, atol=1e-10)
        np.testing.assert_allclose(got["from_plain"], unbroken_weights, rtol=0, atol=1e-10)
    assert (tmp_path / "zero" / "best.ckpt").exists()
    # 2 processes' ZeRO → 1 process's plain Adam: the checkpoint holds Adam's whole state
    weights = fit_run(4, 0, resume_from=tmp_path / "zero" / "last.ckpt")[1]
    np.testing.assert_allclose(weights, unbroken_weights, rtol=0, atol=1e-10)


def test_cli_train_under_mpiexec(tmp_path):
    import glassnet.cli

    rc, out, err, _ = mpirun("cli", "--model", "mlp", "--data", "moons", "--epochs", "2",
                             "--out", tmp_path / "two", "--no-plot")
    assert rc == 0, err[-3000:]
    assert out.count("Epoch 2/2") == 1 and out.count("Test:") == 1, out
    assert glassnet.cli.main(["train", "--model", "mlp", "--data", "moons", "--epochs", "2",
                              "--out", str(tmp_path / "one"), "--no-plot", "--quiet"]) == 0
    one = json.loads((tmp_path / "one" / "history.json").read_text())
    two = json.loads((tmp_path / "two" / "history.json").read_text())
    for key, values in one.items():
        np.testing.assert_allclose(two[key], values, rtol=1e-5, atol=1e-6, err_msg=key)  # float32
    assert (tmp_path / "two" / "checkpoints" / "last.ckpt").exists()


def test_a_rank_that_raises_ends_the_job_non_zero(tmp_path):
    rc, _, err, seconds = mpirun("raise", tmp_path, timeout=30)
    assert rc != 0
    assert "rank 1 fails on purpose" in err
    assert "rank 1 of 2 failed" in err
    assert seconds < 30


def test_a_rank_that_hangs_ends_the_job_after_the_timeout(tmp_path):
    rc, _, err, seconds = mpirun("hang", tmp_path, timeout=30)
    assert rc != 0
    assert "rank 0 waited" in err and "one of them has died or hangs" in err, err[-2000:]
    assert seconds < 20


if __name__ == "__main__":
    case, where = sys.argv[1], sys.argv[2:]
    if case == "cli":
        from glassnet.cli import main

        sys.exit(main(["train", *where]))
    globals()[f"case_{case}"](Path(where[0]))
