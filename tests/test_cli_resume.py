"""``glassnet train --resume``: a run killed after its best epoch and resumed saves the same
model.safetensors and history.json as the run that was never stopped; --epochs at or below the
checkpoint's epoch; what Ctrl-C prints (during training, during a save, during start-up)."""

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glassnet.cli import main

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
# best validation loss at epoch 3 of 10 (adam lr 0.1 overshoots after it), so a kill after the
# best epoch leaves the checkpoint callback's best epoch and value to be restored on resume
KILL_RUN = ["train", "--model", "mlp", "--data", "moons", "--epochs", "10", "--lr", "0.1",
            "--batch-size", "4", "--no-plot"]
QUICK_RUN = ["train", "--model", "mlp", "--data", "moons", "--epochs", "10", "--lr", "0.05",
             "--no-plot", "--quiet"]  # best at epoch 5 of 10


def checkpoint_epoch(path):
    """The epoch a checkpoint file's header names (None while there is no file)."""
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
    except FileNotFoundError:
        return None
    return json.loads(header["__metadata__"]["glassnet"])["epoch"]


def glassnet(*argv, **kwargs):
    return subprocess.run([sys.executable, "-m", "glassnet", *map(str, argv)], env=ENV,
                          capture_output=True, text=True, check=False, timeout=120, **kwargs)


def best_epoch(folder):
    history = json.loads((Path(folder) / "history.json").read_text())
    losses = history["val_loss"]
    return history["epochs"][losses.index(min(losses))], history["epochs"][-1]


def test_killed_after_the_best_epoch_and_resumed_equals_the_unbroken_run(tmp_path):
    full = glassnet(*KILL_RUN, "--out", tmp_path / "full")
    assert full.returncode == 0, full.stderr
    best, last = best_epoch(tmp_path / "full")
    assert best <= last - 3, f"the reference run's best epoch ({best}) leaves no time to kill it"
    assert f"Kept the weights of epoch {best} (best val_loss)" in full.stdout

    run = tmp_path / "killed"
    ckpt = run / "checkpoints" / "last.ckpt"
    child = subprocess.Popen([sys.executable, "-m", "glassnet", *KILL_RUN, "--out", str(run)],
                             env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while child.poll() is None and time.monotonic() < deadline:
            epoch = checkpoint_epoch(ckpt)
            if epoch is not None and epoch >= best:  # the best epoch's checkpoint is on disk
                child.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    done = checkpoint_epoch(ckpt)
    assert best <= done <= last

    resumed = glassnet(*KILL_RUN, "--out", run, "--resume", ckpt)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr == ""
    assert f"after epoch {done}" in resumed.stdout or done == last
    assert f"Kept the weights of epoch {best} (best val_loss)" in resumed.stdout
    assert (run / "model.safetensors").read_bytes() == (tmp_path / "full" /
                                                        "model.safetensors").read_bytes()
    assert (run / "history.json").read_bytes() == (tmp_path / "full" / "history.json").read_bytes()
    test_line = [ln for ln in full.stdout.splitlines() if ln.startswith("Test:")]
    assert test_line and test_line[0] in resumed.stdout


def test_ctrl_c_names_the_checkpoint_on_disk_and_the_command_once(tmp_path):
    """A real SIGINT to `python -m glassnet train` once epoch 2's checkpoint exists: wherever it
    lands, the message names the epoch last.ckpt holds, and the resume hint is the command."""
    run = tmp_path / "run"
    ckpt = run / "checkpoints" / "last.ckpt"
    child = subprocess.Popen([sys.executable, "-m", "glassnet", *KILL_RUN, "--out", str(run)],
                             env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while child.poll() is None and time.monotonic() < deadline:
            if (checkpoint_epoch(ckpt) or 0) >= 2:
                child.send_signal(signal.SIGINT)
                break
            time.sleep(0.002)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, err
    assert "Traceback" not in err
    epoch = checkpoint_epoch(ckpt)
    assert f"The last checkpoint (epoch {epoch}) is intact: {ckpt}" in err
    assert "resume_from" not in err
    hints = [ln for ln in err.splitlines() if ln.startswith("Resume with:")]
    assert len(hints) == 1 and hints[0].startswith("Resume with: glassnet train --model mlp")
    assert hints[0].endswith(f"--resume {ckpt}")
    assert not (run / "model.safetensors").exists()


def test_ctrl_c_during_a_checkpoint_save_is_held_until_the_file_is_written(tmp_path, capsys,
                                                                         monkeypatch):
    """Ctrl-C arriving while last.ckpt of epoch 2 is being written (after the file is in
    place): the message used to name epoch 1 while the file held epoch 2."""
    from glassnet.train import callbacks

    save = callbacks.ModelCheckpoint._save

    def save_then_ctrl_c(self, path, epoch):
        save(self, path, epoch)
        if epoch == 2 and path == self.last_path:
            os.kill(os.getpid(), signal.SIGINT)  # Python raises it at the next instruction

    monkeypatch.setattr(callbacks.ModelCheckpoint, "_save", save_then_ctrl_c)
    code = main([*QUICK_RUN[:-1], "--out", str(tmp_path)])  # not quiet: fit prints the message
    _, err = capsys.readouterr()
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    assert code == 130
    assert checkpoint_epoch(ckpt) == 2
    assert f"The last checkpoint (epoch 2) is intact: {ckpt}" in err
    assert "resume_from" not in err and err.count("Resume with:") == 1
    monkeypatch.undo()
    resume = err.split("Resume with: glassnet ")[1].split()
    assert main([*resume, "--no-plot"]) == 0
    assert "Resuming from" in capsys.readouterr().out


def test_ctrl_c_with_quiet_says_where_things_stand(tmp_path, capsys, monkeypatch):
    from glassnet import train

    def ctrl_c(self, batch, logs):
        if self.state.epoch == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(train.TerminateOnNaN, "on_batch_end", ctrl_c)
    assert main([*QUICK_RUN, "--out", str(tmp_path)]) == 130
    out, err = capsys.readouterr()
    assert out == ""
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    assert err.splitlines() == [
        "glassnet train: interrupted during epoch 3",
        f"The last checkpoint (epoch 2) is intact: {ckpt}",
        ("Resume with: glassnet train --model mlp --data moons --optimizer adam --batch-size 32 "
         f"--seed 0 --out {tmp_path} --epochs 10 --lr 0.05 --resume {ckpt}")]


def test_ctrl_c_during_the_first_epoch(tmp_path, capsys, monkeypatch):
    from glassnet import train

    def ctrl_c(self, batch, logs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train.TerminateOnNaN, "on_batch_end", ctrl_c)
    assert main([*QUICK_RUN[:-1], "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert "No checkpoint was written yet: the first epoch had not finished." in err
    assert "ModelCheckpoint" not in err and "Resume with" not in err


@pytest.mark.parametrize("command", [["-m", "glassnet"], ["glassnet"]])
def test_ctrl_c_while_importing_is_one_line(tmp_path, command):
    """SIGINT once the import of glassnet is under way (`-X importtime` reports each module as
    it is imported): one line and exit code 130, not a traceback."""
    if command == ["glassnet"]:
        script = shutil.which("glassnet", path=os.path.dirname(sys.executable))
        if script is None:
            pytest.skip("the glassnet console script is not installed beside this Python")
        argv = [sys.executable, "-X", "importtime", script]
    else:
        argv = [sys.executable, "-X", "importtime", *command]
    child = subprocess.Popen([*argv, "info", str(tmp_path / "none.safetensors")], env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in child.stderr:
            if "glassnet.autograd" in line or "glassnet.backend" in line:
                child.send_signal(signal.SIGINT)
                break
        rest = child.stderr.read()
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    lines = [ln for ln in rest.splitlines() if not ln.startswith("import time:")]
    assert "Traceback" not in rest
    assert child.returncode == 130
    assert lines in (["glassnet: interrupted"], ["glassnet info: interrupted"])


def test_importing_glassnet_as_a_library_keeps_keyboard_interrupt():
    script = ("import signal, glassnet; "
              "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)")
    r = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, text=True,
                       check=False, timeout=120)
    assert r.stdout.strip() == "True", r.stderr


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A quick run of 10 epochs (best at 5) and its files."""
    out = tmp_path_factory.mktemp("finished")
    assert main([*QUICK_RUN, "--out", str(out)]) == 0
    return out


def snapshot(folder):
    return {p: p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}


@pytest.mark.parametrize("epochs", ["3", "9"])
def test_resume_with_epochs_below_the_checkpoint_is_refused(finished_run, tmp_path, capsys,
                                                             epochs):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    before = snapshot(run)
    ckpt = run / "checkpoints" / "last.ckpt"
    code = main([*QUICK_RUN, "--out", str(run), "--resume", str(ckpt), "--epochs", epochs])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.strip() == (
        f"glassnet train: error: --resume '{ckpt}' has already trained 10 epochs, more than "
        f"--epochs {epochs}; --epochs is the total to reach, so give --epochs 11 or more to "
        f"train further")
    assert snapshot(run) == before


def test_resume_with_the_default_epochs_below_the_checkpoint_is_refused(tmp_path, capsys):
    import glassnet as gn

    ckpt = tmp_path / "far.ckpt"
    gn.io.save_checkpoint(ckpt, gn.nn.Linear(2, 2), epoch=50)
    code = main(["train", "--model", "mlp", "--data", "moons", "--out", str(tmp_path / "r"),
                 "--resume", str(ckpt)])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.strip() == (
        f"glassnet train: error: --resume '{ckpt}' has already trained 50 epochs, more than the "
        f"default of 40 epochs; --epochs is the total to reach, so give --epochs 51 or more to "
        f"train further")
    assert not (tmp_path / "r").exists()


def test_resume_at_the_checkpoints_epoch_finishes_the_run(finished_run, tmp_path, capsys):
    """Killed after the last epoch's checkpoint but before model.safetensors: resuming with
    the same --epochs trains nothing, says so, and writes the same files."""
    run = tmp_path / "run"
    shutil.copytree(finished_run / "checkpoints", run / "checkpoints")
    code = main([*QUICK_RUN[:-1], "--out", str(run), "--resume",
                 str(run / "checkpoints" / "last.ckpt")])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert "already holds all 10 epochs: nothing is left to train" in out
    assert "give --epochs 11 or more to train further" in out
    assert "Epoch " not in out and "Kept the weights of epoch 5 (best val_loss)" in out
    for name in ("model.safetensors", "history.json"):
        assert (run / name).read_bytes() == (finished_run / name).read_bytes()


def test_resume_into_another_folder_keeps_the_best_epoch_of_the_first(finished_run, tmp_path,
                                                                      capsys):
    """The best epoch (5) is in the first run's folder; nothing better comes after the resume,
    so the second folder has no best.ckpt of its own: the weights come from the first."""
    source = tmp_path / "first"
    shutil.copytree(finished_run / "checkpoints", source / "checkpoints")
    code = main([*QUICK_RUN, "--out", str(tmp_path / "second"), "--resume",
                 str(source / "checkpoints" / "last.ckpt")])
    capsys.readouterr()
    assert code == 0
    assert (tmp_path / "second" / "model.safetensors").read_bytes() == (
        finished_run / "model.safetensors").read_bytes()


def test_resume_keeps_the_last_weights_with_a_note_when_no_best_checkpoint_matches(
        finished_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished_run / "checkpoints", run / "checkpoints")
    os.replace(run / "checkpoints" / "last.ckpt", run / "checkpoints" / "saved.ckpt")
    os.remove(run / "checkpoints" / "best.ckpt")
    code = main([*QUICK_RUN, "--out", str(run), "--resume", str(run / "checkpoints" /
                                                                "saved.ckpt")])
    _, err = capsys.readouterr()
    assert code == 0
    assert err.startswith("glassnet train: note: no checkpoint of the best epoch (5) was found")
    assert "keeping the last epoch's weights" in err


def test_history_json_has_every_epoch(finished_run):
    history = json.loads((finished_run / "history.json").read_text())
    assert history["epochs"] == list(range(1, 11))
    assert len(history["val_loss"]) == 10 and "loss" in history and "lr" in history


def test_resume_from_a_file_that_is_not_a_checkpoint(finished_run, capsys):
    model = finished_run / "model.safetensors"
    code = main([*QUICK_RUN, "--out", str(finished_run / "z"), "--resume", str(model)])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.strip() == (f"glassnet train: error: --resume '{model}': '{model}' is not a "
                           "checkpoint written by glassnet train (expected "
                           "runs/NAME/checkpoints/last.ckpt)")
    assert not (finished_run / "z").exists()


def test_ctrl_c_while_writing_the_run_files_says_how_to_finish(finished_run, tmp_path, capsys,
                                                               monkeypatch):
    from glassnet import train

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "evaluate", ctrl_c)
    assert main([*QUICK_RUN, "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    assert err.startswith("glassnet train: interrupted while writing the run's files; the last "
                          "checkpoint (epoch 10) holds the finished training\n")
    assert "Traceback" not in err and not (tmp_path / "model.safetensors").exists()
    monkeypatch.undo()
    finish = err.split("Finish with: glassnet ")[1].split()
    assert finish[-2:] == ["--resume", str(ckpt)]
    assert main([*finish, "--quiet", "--no-plot"]) == 0
    capsys.readouterr()
    for name in ("model.safetensors", "history.json"):
        assert (tmp_path / name).read_bytes() == (finished_run / name).read_bytes()
