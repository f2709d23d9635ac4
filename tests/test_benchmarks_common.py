"""The benchmark harness (benchmarks/common.py) runs and reports; no timings are checked."""

import os
import subprocess
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)

import common


def test_compare_interleaves_and_reports(torch, capsys):
    calls = []
    res = common.compare("toy", lambda: calls.append("gn"), lambda: calls.append("torch"),
                         samples_per_step=8, goal=1.0, repeats=3, block_time=0.002)
    assert len(res.gn_times) == len(res.torch_times) == 3
    assert len(res.gn_faults) == 3
    assert res.ratio == pytest.approx(res.torch_step / res.gn_step)
    assert res.best_ratio == pytest.approx(min(res.torch_times) / min(res.gn_times))
    assert res.gn_rate == pytest.approx(8 / res.gn_step)
    # both frameworks ran, in alternation after the warm-up
    assert {"gn", "torch"} <= set(calls)
    common.print_report([res], "title")
    out = capsys.readouterr().out
    assert "toy" in out and "gn/torch" in out and "threads: numpy BLAS" in out


def test_setup_warns_about_slow_blas_env(torch, monkeypatch, capsys):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    threads = torch.get_num_threads()
    try:
        args = common.setup("test", argv=["--quick", "--threads", "1"])
        assert args.threads == 1 and torch.get_num_threads() == 1
        blas = common.numpy_blas_threads()
        assert blas in (None, 1)
    finally:
        common.set_threads(threads)
    assert "OPENBLAS_CORETYPE=Haswell" in capsys.readouterr().err


def test_memory_child_measures_growth_in_a_fresh_process(tmp_path):
    script = tmp_path / "mem.py"
    script.write_text(
        f"import sys; sys.path.insert(0, {BENCH!r})\n"
        "import numpy as np\n"
        "from common import memory_child\n"
        "keep = []\n"
        "def build():\n"
        "    def step():\n"
        "        if not keep:\n"
        "            keep.append(np.ones(8 << 20 >> 3))  # 8 MiB held from the first step on\n"
        "    return step\n"
        "memory_child({'a': build})\n"
        "print('not a child')\n")
    out = subprocess.run([sys.executable, str(script), "--memory-child", "a", "3", "1"],
                         capture_output=True, text=True, check=True).stdout
    import json

    m = json.loads(out.strip().splitlines()[-1])
    # the 8 MiB and little else: not the parent's (pytest's) resident set, which
    # ru_maxrss would carry over into the child
    assert 7 << 20 < m["peak_delta"] < 64 << 20
    assert m["minflt_first"] > 0
    assert np.isfinite(m["minflt_per_step"])


def test_one_training_step_body_runs_on_both_frameworks(torch):
    results = {}
    for name in ("gn", "torch"):
        fw = common.framework(name)
        assert fw.__name__ == ("torch" if name == "torch" else "glassnet")
        fw.manual_seed(0)
        model = fw.nn.Linear(3, 2, dtype=fw.float64)
        with fw.no_grad():
            model.weight.copy_(fw.from_numpy(np.ones((2, 3))))
            model.bias.copy_(fw.from_numpy(np.zeros(2)))
        x = fw.from_numpy(np.arange(6.0).reshape(2, 3))
        y = fw.from_numpy(np.array([0, 1]))
        step = common.training_step(model, fw.optim.SGD(model.parameters(), lr=0.1),
                                    fw.nn.CrossEntropyLoss(), x, y)
        step()
        step()
        results[name] = model.weight.detach().numpy().copy()
    np.testing.assert_allclose(results["gn"], results["torch"], rtol=1e-12)
    assert not np.allclose(results["gn"], 1.0)  # the steps changed the weights


def test_compare_processes_alternates_two_worker_processes(tmp_path, monkeypatch, capsys):
    script = tmp_path / "work.py"
    script.write_text(
        f"import os, sys; sys.path.insert(0, {BENCH!r})\n"
        "from common import step_worker\n"
        "threads = os.environ['OPENBLAS_NUM_THREADS']\n"
        "def build():\n"
        "    def step():\n"
        "        sum(range(1000))\n"
        "    return step\n"
        "step_worker({'a': build, 'b': build, 'threads': lambda: float(threads)})\n"
        "print('not a worker')\n")
    monkeypatch.setattr(common._options, "repeats", 3)
    monkeypatch.setattr(common._options, "block_time", 0.01)
    worker = common.Worker(str(script), 2)
    try:
        assert worker.ask(call="threads")["t"] == 2.0  # the thread count set at start
    finally:
        worker.close()
    r1 = common.compare_processes("toy", str(script), ("a", "b"), 1)
    r2 = common.compare_processes("toy", str(script), ("a", "b"), 2)
    assert len(r1.gn_times) == len(r1.torch_times) == 3 and r1.threads == 1
    assert all(t > 0 for t in r1.gn_times + r1.torch_times)
    common.print_scaling([("toy", r1, r2)])
    out = capsys.readouterr().out
    assert "toy" in out and "16 cores" in out


def test_serial_fraction_and_amdahl():
    assert common.serial_fraction(10.0, 5.0) == 0.0      # perfect scaling
    assert common.serial_fraction(10.0, 10.0) == 1.0     # none
    assert common.serial_fraction(10.0, 7.5) == pytest.approx(0.5)
    assert common.serial_fraction(10.0, 4.0) == 0.0      # clipped
    assert common.amdahl(0.5, 2) == pytest.approx(4 / 3)
    assert common.amdahl(0.0, 16) == pytest.approx(16)
