"""The README's snippets run as written.

Every ```python block runs in a fresh interpreter in an empty folder, and
every `glassnet explain` / `glassnet exercise` line of the bash blocks runs
through the command-line entry point (the training commands are exercised by
tests/test_cli.py with fewer epochs).
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# the snippets import the glassnet of this checkout, installed or not
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
TEXT = README.read_text(encoding="utf-8")
PY_BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)


def _bash_commands(prefixes):
    cmds = []
    for block in re.findall(r"```bash\n(.*?)```", TEXT, flags=re.DOTALL):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split(" #")[0].split(">")[0].strip()
            if line.startswith(prefixes):
                cmds.append(line)
    return cmds


EXPLAIN_CMDS = _bash_commands(("glassnet explain", "glassnet exercise"))


def test_readme_has_snippets():
    assert len(PY_BLOCKS) >= 6
    assert len(EXPLAIN_CMDS) >= 5


@pytest.mark.parametrize("i", range(len(PY_BLOCKS)))
def test_python_snippet_runs(i, tmp_path):
    code = PY_BLOCKS[i]
    if "import torch" in code:
        pytest.importorskip("torch")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, check=False,
                       text=True, timeout=300, env=ENV)
    assert r.returncode == 0, f"README python block {i} failed:\n{code}\n{r.stderr[-3000:]}"


@pytest.mark.parametrize("cmd", EXPLAIN_CMDS)
def test_explain_command_runs(cmd, tmp_path):
    args = shlex.split(cmd)[1:]
    if args[:2] == ["explain", "model"]:  # a model saved by `glassnet train`, trained here briefly
        r = subprocess.run([sys.executable, "-m", "glassnet", "train", "--model", "mlp", "--data", "moons",
                            "--epochs", "1", "--out", str(Path(args[2]).parent)], cwd=tmp_path, check=False,
                           capture_output=True, text=True, timeout=300, env=ENV)
        assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run([sys.executable, "-m", "glassnet", *args], cwd=tmp_path, check=False,
                       capture_output=True, text=True, timeout=120, env=ENV)
    assert r.returncode == 0, f"{cmd}\n{r.stderr[-2000:]}"
    assert r.stdout.strip()
