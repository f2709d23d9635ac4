"""gn.distributed in one process: no MPI started, no mpi4py needed; the sampler against PyTorch's.

The tests under a real ``mpiexec -n 2`` are in test_distributed_mpi.py.
"""

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.distributed.training import _bounds

ROOT = Path(__file__).resolve().parent.parent
# a Python in which `import mpi4py` fails, as on a machine without the [distributed] extra
NO_MPI4PY = """
import sys
class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "mpi4py":
            raise ImportError("No module named 'mpi4py'")
sys.meta_path.insert(0, _Refuse())
"""


def python(code: str, env=None, without_mpi4py=False):
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("PMI_", "OMPI_", "MV2_", "PMIX_"))}
    clean.update(env or {})
    prefix = NO_MPI4PY if without_mpi4py else ""
    return subprocess.run([sys.executable, "-c", prefix + code], check=False,
                          capture_output=True, text=True, timeout=120, env=clean, cwd=ROOT)


def test_import_and_rank_questions_do_not_start_mpi():
    run = python("import sys, glassnet as gn\n"
                 "d = gn.distributed\n"
                 "print(d.rank(), d.world_size(), d.is_main(), d.launched(), d.is_initialized())\n"
                 "print('mpi4py' in sys.modules)")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", "1", "True", "False", "False", "False"]


def test_rank_comes_from_the_launchers_variables_without_mpi():
    code = ("import sys, glassnet as gn\n"
            "print(gn.distributed.rank(), gn.distributed.world_size(), gn.distributed.is_main(),"
            " 'mpi4py' in sys.modules)")
    for env, expected in (({"PMI_RANK": "3", "PMI_SIZE": "4"}, "3 4 False False"),
                          ({"OMPI_COMM_WORLD_RANK": "0", "OMPI_COMM_WORLD_SIZE": "2"},
                           "0 2 True False")):
        run = python(code, env)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == expected


def test_without_mpi4py_a_plain_script_runs_as_one_process():
    run = python("import numpy as np, glassnet as gn\n"
                 "d = gn.distributed\n"
                 "assert d.init() == 1 and not d.is_available()\n"
                 "X, y = gn.data.make_moons(40, seed=0)\n"
                 "net = gn.nn.Sequential(gn.nn.Linear(2, 4), gn.nn.Tanh(), gn.nn.Linear(4, 2))\n"
                 "model = d.DistributedDataParallel(net)\n"
                 "sampler = d.DistributedSampler(range(40), seed=1)\n"
                 "loader = gn.data.DataLoader(gn.data.TensorDataset(X, y), 8, sampler=sampler)\n"
                 "opt = gn.optim.SGD(model.parameters(), lr=0.1)\n"
                 "for xb, yb in loader:\n"
                 "    opt.zero_grad()\n"
                 "    gn.nn.functional.cross_entropy(model(xb), yb).backward()\n"
                 "    opt.step()\n"
                 "t = gn.tensor([2.0]); d.all_reduce(t); d.barrier()\n"
                 "h = gn.train.fit(net, (X, y), 'cross_entropy', opt, epochs=1, verbose=False)\n"
                 "print(len(h['loss']), t.item())", without_mpi4py=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["1", "2.0"]


def test_without_mpi4py_under_a_launcher_the_error_names_the_extra():
    env = {"PMI_RANK": "0", "PMI_SIZE": "2"}
    run = python("import glassnet as gn\ngn.distributed.init()", env, without_mpi4py=True)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert "pip install 'glassnet[distributed]'" in last and "mpi4py" in last
    cli = python("from glassnet.cli import main\nraise SystemExit(main(['train', '--model', "
                 "'mlp', '--data', 'moons', '--epochs', '1', '--no-plot', '--out', 'x']))", env,
                 without_mpi4py=True)
    assert cli.returncode == 1
    assert cli.stderr.strip().splitlines() == [(
        "glassnet train: error: gn.distributed needs mpi4py and an MPI library to run several "
        "processes: pip install 'glassnet[distributed]'")]


def test_collectives_and_ddp_in_a_world_of_one():
    d = gn.distributed
    t = gn.tensor([1.0, 2.0])
    assert d.all_reduce(t, op=d.ReduceOp.AVG) is t and t.tolist() == [1.0, 2.0]
    a = np.arange(3)
    assert d.broadcast(a, src=0) is a and a.tolist() == [0, 1, 2]
    assert [p.tolist() for p in d.all_gather([], t)] == [[1.0, 2.0]]
    assert d.all_gather_object([], "x") == ["x"]
    assert d.gather_object("x", ["old"]) == ["x"]
    with pytest.raises(ValueError, match=r"gather_object: dst must be a rank in 0..0, got 1"):
        d.gather_object("x", [], dst=1)
    with pytest.raises(TypeError, match="gather_object: object_gather_list must be a list on rank dst=0, got NoneType"):
        d.gather_object("x")
    with pytest.raises(TypeError, match="all_reduce: expected a Tensor or a NumPy array"):
        d.all_reduce([1.0])
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        d.init(timeout=0)
    net = gn.nn.Linear(3, 2)
    model = d.DistributedDataParallel(net)
    assert list(model.state_dict()) == ["module.weight", "module.bias"]  # PyTorch's keys
    x = gn.randn(4, 3)
    np.testing.assert_array_equal(model(x).data, net(x).data)


def test_sampler_matches_pytorch_without_shuffle(torch):
    from torch.utils.data import DistributedSampler as TorchSampler

    for n, replicas, drop_last in ((10, 3, False), (10, 3, True), (7, 4, False), (12, 4, True),
                                   (2, 4, False)):
        for rank in range(replicas):
            ours = gn.distributed.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                                     drop_last=drop_last)
            theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
            assert list(ours) == list(theirs), (n, replicas, rank, drop_last)
            assert len(ours) == len(theirs)


def test_sampler_covers_every_sample_once_per_epoch_and_reshuffles():
    n, replicas = 30, 3
    samplers = [gn.distributed.DistributedSampler(range(n), replicas, r, seed=4)
                for r in range(replicas)]
    orders = []
    for epoch in range(3):
        for s in samplers:
            s.set_epoch(epoch)
        shares = [list(s) for s in samplers]
        assert sorted(i for share in shares for i in share) == list(range(n))
        orders.append(shares[0])
    assert orders[0] != orders[1] != orders[2]
    again = gn.distributed.DistributedSampler(range(n), replicas, 0, seed=4)
    again.set_epoch(1)
    assert list(again) == orders[1]  # the same seed and epoch: the same order on any rank
    padded = [list(gn.distributed.DistributedSampler(range(10), 3, r, seed=0)) for r in range(3)]
    assert {i for p in padded for i in p} == set(range(10)) and all(len(p) == 4 for p in padded)


def test_sampler_and_dataloader_errors():
    d = gn.distributed
    with pytest.raises(ValueError, match=r"invalid rank 2, rank should be in the interval \[0, 1\]"):
        d.DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas must be a positive integer"):
        d.DistributedSampler(range(4), num_replicas=0, rank=0)
    sampler = d.DistributedSampler(range(9), num_replicas=2, rank=1, shuffle=False)
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        gn.data.DataLoader(gn.data.TensorDataset(np.arange(9)), 2, shuffle=True, sampler=sampler)
    loader = gn.data.DataLoader(gn.data.TensorDataset(np.arange(9)), 2, sampler=sampler)
    assert len(loader) == 3
    assert [b[0].tolist() for b in loader] == [[1, 3], [5, 7], [0]]


def test_batch_split_gives_rank_0_the_larger_share():
    for n in range(12):
        for size in (1, 2, 3, 5):
            parts = [_bounds(r, size, n) for r in range(size)]
            assert parts[0][0] == 0 and parts[-1][1] == n
            assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))
            sizes = [hi - lo for lo, hi in parts]
            assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def test_sync_batchnorm_is_also_at_gn_nn_as_in_pytorch():
    assert gn.nn.SyncBatchNorm is gn.distributed.SyncBatchNorm
    with pytest.raises(AttributeError, match="no attribute 'NoSuchLayer'"):
        _ = gn.nn.NoSuchLayer


def _zero_run(make_opt, steps=3):
    gn.manual_seed(0)
    net = gn.nn.Sequential(gn.nn.Linear(5, 7), gn.nn.Tanh(), gn.nn.Linear(7, 3))
    opt = make_opt(net)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        opt.zero_grad()
        x = gn.tensor(rng.normal(size=(8, 5)).astype(np.float32))
        gn.nn.functional.cross_entropy(net(x), gn.tensor(rng.integers(0, 3, 8))).backward()
        opt.step()
    return net, opt


@pytest.mark.parametrize("cls, options", [(gn.optim.Adam, {"lr": 0.01, "weight_decay": 0.1}),
                                          (gn.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
                                          (gn.optim.RMSprop, {"lr": 0.01})])
def test_zero_redundancy_optimizer_in_a_world_of_one_is_the_plain_optimizer(cls, options):
    Zero = gn.distributed.optim.ZeroRedundancyOptimizer
    plain_net, plain = _zero_run(lambda net: cls(net.parameters(), **options))
    net, opt = _zero_run(lambda net: Zero(net.parameters(), cls, **options))
    for p, q in zip(plain_net.parameters(), net.parameters()):
        np.testing.assert_array_equal(p._data, q._data)  # element-wise: the same numbers
    with pytest.raises(RuntimeError, match=r"consolidate_state_dict\(to=RANK\)"):
        opt.state_dict()
    opt.consolidate_state_dict(to=0)
    state, expected = opt.state_dict(), plain.state_dict()
    assert state["param_groups"] == expected["param_groups"]
    assert state["state"].keys() == expected["state"].keys()
    for i, st in expected["state"].items():
        for name, value in st.items():
            np.testing.assert_array_equal(state["state"][i][name], value)
    # a plain optimizer's state (of one more step) loads into a fresh one, and both go on alike
    plain_net, plain = _zero_run(lambda net: cls(net.parameters(), **options), steps=4)
    fresh_net, fresh = _zero_run(lambda net: Zero(net.parameters(), cls, **options), steps=0)
    fresh_net.load_state_dict(plain_net.state_dict())
    fresh.load_state_dict(plain.state_dict())
    for group in fresh.param_groups:
        group["lr"] = 0.5 * group["lr"]  # reaches the shard's optimizer at the next step
    for group in plain.param_groups:
        group["lr"] = 0.5 * group["lr"]
    for o, model in ((fresh, fresh_net), (plain, plain_net)):
        for p in model.parameters():
            p.grad = gn.ones(*p.shape)
        o.step()
    for p, q in zip(plain_net.parameters(), fresh_net.parameters()):
        np.testing.assert_array_equal(p._data, q._data)
    fresh.consolidate_state_dict()
    for i, st in plain.state_dict()["state"].items():
        for name, value in st.items():
            np.testing.assert_array_equal(fresh.state_dict()["state"][i][name], value)


def test_zero_redundancy_optimizer_errors():
    Zero = gn.distributed.optim.ZeroRedundancyOptimizer
    net = gn.nn.Linear(3, 2)
    with pytest.raises(TypeError, match="optimizer_class must be an optimizer class"):
        Zero(net.parameters(), "adam")
    with pytest.raises(TypeError, match="LBFGS cannot be sharded"):
        Zero(net.parameters(), gn.optim.LBFGS)
    with pytest.raises(ValueError, match="overlap_with_ddp"):
        Zero(net.parameters(), gn.optim.SGD, overlap_with_ddp=True, lr=0.1)
    mixed = [net.weight, gn.nn.Parameter(np.zeros(2, np.float64))]
    with pytest.raises(TypeError, match=r"one dtype, got \['float32', 'float64'\]"):
        Zero(mixed, gn.optim.SGD, lr=0.1)
    with pytest.raises(ValueError, match="invalid learning rate"):
        Zero(net.parameters(), gn.optim.SGD, lr=-1)
    opt = Zero(net.parameters(), gn.optim.SGD, lr=0.1)
    with pytest.raises(ValueError, match=r"to must be a rank in 0\.\.0, got 1"):
        opt.consolidate_state_dict(to=1)
    with pytest.raises(NotImplementedError, match="add_param_group"):
        opt.add_param_group({"params": [gn.nn.Parameter(np.zeros(2, np.float32))]})


def test_fit_checkpoints_a_zero_redundancy_optimizer_as_its_optimizer_class(tmp_path):
    """In a world of one: the checkpoint holds Adam's whole state and says Adam, so a plain
    Adam resumes from it, and it from a plain Adam's; another class is refused, unchanged."""
    Zero = gn.distributed.optim.ZeroRedundancyOptimizer
    X, y = gn.data.make_moons(40, noise=0.2, seed=0)

    def run(epochs, zero, folder=None, resume_from=None):
        gn.manual_seed(3)
        model = gn.nn.Sequential(gn.nn.Linear(2, 6), gn.nn.Tanh(), gn.nn.Linear(6, 2))
        opt = Zero(model.parameters(), gn.optim.Adam, lr=0.05) if zero else \
            gn.optim.Adam(model.parameters(), lr=0.05)
        callbacks = [gn.train.ModelCheckpoint(tmp_path / folder)] if folder else []
        gn.train.fit(model, (X, y), "cross_entropy", opt, epochs=epochs, batch_size=8,
                     verbose=False, callbacks=callbacks, resume_from=resume_from)
        return model, opt

    unbroken = run(4, zero=False)[0]
    run(2, zero=True, folder="zero")
    run(2, zero=False, folder="plain")
    for zero, ckpt in ((False, "zero"), (True, "plain"), (True, "zero")):
        resumed = run(4, zero, resume_from=tmp_path / ckpt / "last.ckpt")[0]
        for p, q in zip(unbroken.parameters(), resumed.parameters()):
            np.testing.assert_array_equal(q._data, p._data, err_msg=ckpt)

    model, opt = run(0, zero=True)
    sgd_path = tmp_path / "sgd.ckpt"
    gn.io.save_checkpoint(sgd_path, model, gn.optim.SGD(model.parameters(), lr=0.1))
    before = [p._data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"optimizer of class SGD, not Adam \(the "
                                         r"optimizer_class of this ZeroRedundancyOptimizer\)"):
        gn.io.load_checkpoint(sgd_path, model, opt)
    with pytest.raises(ValueError, match="optimizer of class Adam, not SGD"):
        gn.io.load_checkpoint(tmp_path / "zero" / "last.ckpt", model,
                              gn.optim.SGD(model.parameters(), lr=0.1))
    for p, b in zip(model.parameters(), before):  # nothing loaded
        np.testing.assert_array_equal(p._data, b)
