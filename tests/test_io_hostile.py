"""Damaged and hostile model files, checkpoints that are all-or-nothing, and save errors
that name the file: each gives one clear line, costs no more than the file holds, and
changes nothing it cannot finish."""

import errno
import os
import time

import numpy as np
import pytest

import glassnet as gn
from glassnet.io import _files

nn = gn.nn


def _rewrite(src, dst, change):
    """Copy a glassnet file with its JSON record changed by ``change(meta)``."""
    arrays, meta = _files.read_safetensors(src, "test")
    change(meta)
    _files.write_safetensors(dst, arrays, meta)
    return dst


def _small(tmp_path):
    path = tmp_path / "m.safetensors"
    gn.save(nn.Sequential(nn.Linear(3, 2), nn.ReLU()), path)
    return path


# ------------------------------------------------------------------ hostile model files
def test_declared_layers_larger_than_the_stored_tensors_are_refused_fast(tmp_path):
    src = _small(tmp_path)

    def huge(meta):
        meta["arch"]["children"][0][1]["args"].update(in_features=15000, out_features=15000)

    bad = _rewrite(src, tmp_path / "huge.safetensors", huge)
    assert os.path.getsize(bad) < 2000
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"^load: cannot rebuild the model saved in .*huge\.safetensors.*"
                                         r"Linear\(in_features=15000, out_features=15000.*declares more "
                                         r"values than the file's tensors hold"):
        gn.load(bad)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("case, change, message", [
    ("deep arch", lambda m: m.__setitem__("arch", _nest(140)), r"nests more than 64 levels deep"),
    ("zeros 1e12", lambda m: m["arch"]["children"][0][1]["args"].__setitem__(
        "bias", {"__zeros__": [1e12], "dtype": "float32"}),
     r"argument 'bias' of Linear: a __zeros__ argument's shape must be non-negative integers"),
    ("zeros int 10^12", lambda m: m["arch"]["children"][0][1]["args"].__setitem__(
        "bias", {"__zeros__": [10**12], "dtype": "float32"}),
     r"argument 'bias' of Linear declares a tensor larger than the file's tensors"),
    ("zeros bad dtype", lambda m: m["arch"]["children"][0][1]["args"].__setitem__(
        "bias", {"__zeros__": [2], "dtype": "object"}), r"must name a numeric dtype, got 'object'"),
    ("args list", lambda m: m["arch"]["children"][0][1].__setitem__("args", [1, 2]),
     r"the args of Linear must be a dict of argument name → value, got \[1, 2\]"),
    ("children not pairs", lambda m: m["arch"].__setitem__("children", [5]),
     r"the children of Sequential must be a list of \[name, layer\] pairs"),
    ("class not a name", lambda m: m["arch"].__setitem__("class", 5), r"not an architecture config"),
    ("keys 5", lambda m: m.__setitem__("keys", 5), r"its record's 'keys' must be a list of tensor names, got 5"),
])
def test_hostile_records_give_one_clear_line(tmp_path, case, change, message):
    bad = _rewrite(_small(tmp_path), tmp_path / "bad.safetensors", change)
    with pytest.raises(ValueError, match=message) as info:
        gn.load(bad)
    assert "\n" not in str(info.value) and str(info.value).startswith("load: ")


def _nest(depth):
    v = {"class": "ReLU", "args": {}}
    for _ in range(depth):
        v = {"class": "Sequential", "children": [["0", v]]}
    return v


def test_deeply_nested_header_is_refused(tmp_path):
    import json
    import struct

    header = json.dumps({"__metadata__": {"x": "y"}, "a": {"dtype": "F32", "shape": [1],
                                                         "data_offsets": [0, 4]}})
    deep = "[" * 100000 + "]" * 100000
    header = header[:-1] + f', "deep": {deep}}}'
    raw = header.encode()
    path = tmp_path / "deep.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 4)
    with pytest.raises(ValueError, match=r"^load: .* the header nests more than 64 levels deep"):
        gn.load(path)


def test_an_integer_or_bool_weight_file_does_not_load_into_a_float_model(tmp_path):
    model = nn.Linear(3, 2)
    before = model.weight._data.copy()
    for dtype in (np.int32, np.bool_):
        gn.save({"weight": np.ones((2, 3), dtype), "bias": np.zeros(2, np.float32)}, tmp_path / "i")
        with pytest.raises(ValueError, match=rf"dtype mismatches: weight: file {np.dtype(dtype)} vs "
                                             r"model float32"):
            gn.load(tmp_path / "i", model=model)
        np.testing.assert_array_equal(model.weight._data, before)
    gn.save({"weight": np.ones((2, 3), np.float64), "bias": np.zeros(2)}, tmp_path / "f")
    gn.load(tmp_path / "f", model=model)  # another float precision: the file's is kept
    assert model.weight.dtype == np.float64


# ------------------------------------------------------------- all-or-nothing checkpoints
def _trained(seed=0):
    gn.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = gn.optim.Adam(model.parameters(), lr=0.01)
    sched = gn.optim.lr_scheduler.StepLR(opt, step_size=2)
    x, y = gn.randn(16, 4), gn.randint(0, 3, (16,))
    for _ in range(3):
        opt.zero_grad()
        gn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        sched.step()
    return model, opt, sched


def _snapshot(model, opt, sched):
    return ({k: v._data.copy() for k, v in model.state_dict().items()},
            repr(opt.state_dict()), repr(sched.state_dict()), repr(gn.backend.get_rng_state()))


@pytest.mark.parametrize("entry, change, message", [
    ("optimizer", lambda m: m["optimizer"].__setitem__("param_groups", "junk"),
     r"the optimizer state in .* does not fit this Adam: 'param_groups' must be a list of dicts"),
    ("optimizer", lambda m: m["optimizer"]["param_groups"][0].__setitem__("lr", "fast"),
     r"the optimizer state in .* does not fit this Adam: 'lr' of parameter group 0 must be a number"),
    ("optimizer", lambda m: m["optimizer"].__setitem__("state", {"__dict__": 7}),
     r"the optimizer state in .* is damaged"),
    ("scheduler", lambda m: m["scheduler"].__setitem__("last_epoch", "x"),
     r"the scheduler state in .* does not fit this StepLR: state\['last_epoch'\] must be a number"),
    ("scheduler", lambda m: m["scheduler"].pop("gamma"),
     (r"the scheduler state in .* does not fit this StepLR: state does not fit this scheduler "
      r"\(missing: \['gamma'\]")),
    ("rng", lambda m: m.__setitem__("rng", "state"), r"the random state in .* is damaged: expected a dict"),
    ("rng", lambda m: m["rng"].__setitem__("bit_generator", "MT19937"),
     r"the random state in .* is damaged: it is for the generator 'MT19937'"),
    ("rng", lambda m: m["rng"].__setitem__("state", 5), r"the random state in .* is damaged"),
    ("epoch", lambda m: m.__setitem__("epoch", "five"), r"its epoch must be a non-negative integer"),
])
def test_a_damaged_checkpoint_entry_changes_nothing(tmp_path, entry, change, message):
    model, opt, sched = _trained()
    gn.io.save_checkpoint(tmp_path / "c.ckpt", model, opt, sched, epoch=3)
    bad = _rewrite(tmp_path / "c.ckpt", tmp_path / "bad.ckpt", change)
    model2, opt2, sched2 = _trained(seed=1)
    gn.manual_seed(5)
    before = _snapshot(model2, opt2, sched2)
    with pytest.raises(ValueError, match=message) as info:
        gn.io.load_checkpoint(bad, model2, opt2, sched2)
    assert str(info.value).startswith("load_checkpoint: ") and "\n" not in str(info.value)
    after = _snapshot(model2, opt2, sched2)
    for k in before[0]:
        np.testing.assert_array_equal(after[0][k], before[0][k])
    assert after[1:] == before[1:]


def test_an_optimizer_state_of_the_wrong_shape_changes_nothing(tmp_path):
    model, opt, sched = _trained()
    gn.io.save_checkpoint(tmp_path / "c.ckpt", model, opt, sched, epoch=3)
    model2 = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt2 = gn.optim.Adam(model2.parameters(), lr=0.01)
    before = {k: v._data.copy() for k, v in model2.state_dict().items()}
    arrays, meta = _files.read_safetensors(tmp_path / "c.ckpt", "test")
    key = next(k for k in arrays if k.startswith("optimizer/") and arrays[k].ndim == 2)
    arrays[key] = np.zeros((1, 1), arrays[key].dtype)
    _files.write_safetensors(tmp_path / "bad.ckpt", arrays, meta)
    with pytest.raises(ValueError, match=r"does not fit this Adam: state 'exp_avg\w*' has shape \(1, 1\)"):
        gn.io.load_checkpoint(tmp_path / "bad.ckpt", model2, opt2)
    for k, v in model2.state_dict().items():
        np.testing.assert_array_equal(v._data, before[k])
    assert not opt2.state


# ------------------------------------------------------------------------ save errors
def test_stale_temporaries_are_removed_by_a_later_save_or_load(tmp_path):
    target = tmp_path / "model.safetensors"
    model = nn.Linear(2, 2)
    dead = tmp_path / ".model.safetensors.999999999-abc.tmp"  # its writer no longer runs
    old = tmp_path / ".model.safetensors.k3j2x.tmp"  # untouched for two hours
    live = tmp_path / f".model.safetensors.{os.getpid()}-zz.tmp"  # a save in progress
    other = tmp_path / ".other.safetensors.999999999-abc.tmp"  # another target's
    for f in (dead, old, live, other):
        f.write_bytes(b"x" * 100)
    past = time.time() - 7200
    os.utime(old, (past, past))
    os.utime(dead, (time.time() - 10,) * 2)
    gn.save(model, target)
    assert not dead.exists() and not old.exists()
    assert live.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [live.name, other.name, "model.safetensors"])
    dead.write_bytes(b"x")
    os.utime(dead, (time.time() - 10,) * 2)
    gn.load(target)
    assert not dead.exists()


def test_save_errors_name_the_target(tmp_path, monkeypatch):
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"^save: the path is empty; expected a file name"):
        gn.save(model, "")
    with pytest.raises(IsADirectoryError, match=rf"^save: cannot write {str(tmp_path)!r}: it is a folder"):
        gn.save(model, tmp_path)
    with pytest.raises(FileNotFoundError, match=r"^save: cannot write .*nope.*m\.st': folder .* does not exist$"):
        gn.save(model, tmp_path / "nope" / "m.st")

    real_write = _files._write_and_sync

    def full(fh, data):
        raise OSError(errno.EFBIG, "File too large")

    monkeypatch.setattr(_files, "_write_and_sync", full)
    with pytest.raises(OSError, match=r"^save: cannot write '.*m\.safetensors': File too large "
                                      r"\(is the disk full\?\)$") as info:
        gn.save(model, tmp_path / "m.safetensors")
    assert info.value.errno == errno.EFBIG
    model2 = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(OSError, match=r"^save_checkpoint: cannot write '.*c\.ckpt': File too large"):
        gn.io.save_checkpoint(tmp_path / "c.ckpt", model2, epoch=1)
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary left behind
    monkeypatch.setattr(_files, "_write_and_sync", real_write)

    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(PermissionError, match=r"^save: cannot write '.*locked/m\.st': "
                                                      r"Permission denied \(is the folder writable\?\)$"):
                gn.save(model, locked / "m.st")
        finally:
            locked.chmod(0o700)
