"""Examples run as plain scripts from anywhere, without installing glassnet."""

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_learning_rates_example_runs_outside_the_checkout(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = tmp_path / "lr.png"
    r = subprocess.run([sys.executable, str(EXAMPLES / "learning_rates.py"), str(out)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert "(good):" in r.stdout and "(too high):" in r.stdout
