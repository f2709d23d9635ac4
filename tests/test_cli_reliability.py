"""The glassnet command on hostile data and inputs: every mistake is one line on stderr that
names the file or argument, the value or its line and column, and what was expected; never a
traceback, a RuntimeWarning or a silent answer."""

import struct
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.cli import main


def run(capsys, *argv):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaked RuntimeWarning fails the test
        code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(code, err, *parts):
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


def write_idx(path, arr):
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    path.write_bytes(header + arr.astype(np.uint8).tobytes())


def mnist_folder(folder, bad_label=None, split="train"):
    rng = np.random.default_rng(0)
    folder.mkdir()
    for name, n in (("train", 24), ("t10k", 12)):
        write_idx(folder / f"{name}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        labels = rng.integers(0, 10, n)
        if name == split and bad_label is not None:
            labels[5] = bad_label
        write_idx(folder / f"{name}-labels-idx1-ubyte", labels)
    return folder


ROWS = "\n".join(f"{np.sin(i):.3f},{np.cos(i):.3f},{i % 2}" for i in range(20))


def train_args(tmp_path, data):
    return ["train", "--model", "mlp", "--data", data, "--epochs", "1", "--out", tmp_path / "run",
            "--no-plot", "--quiet"]


@pytest.mark.parametrize("label, split", [(10, "train"), (255, "train"), (12, "t10k")])
def test_idx_labels_outside_the_ten_digits(tmp_path, capsys, label, split):
    folder = mnist_folder(tmp_path / "m", label, split)
    code, _, err = run(capsys, *train_args(tmp_path, f"mnist:{folder}"))
    one_error_line(code, err, f"{split}-labels-idx1-ubyte", f"label {label} at index 5",
                   "expected the digit classes 0 to 9")
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_idx_labels_checked_by_evaluate_too(tmp_path, capsys):
    folder = mnist_folder(tmp_path / "m", 255, "t10k")
    model = gn.nn.Sequential(gn.nn.Flatten(), gn.nn.Linear(784, 10))
    gn.save(model, str(tmp_path / "m.safetensors"))
    code, _, err = run(capsys, "evaluate", tmp_path / "m.safetensors", "--data", f"mnist:{folder}")
    one_error_line(code, err, "t10k-labels-idx1-ubyte", "label 255")


def test_float_idx_labels_are_not_truncated(tmp_path):
    (tmp_path / "m").mkdir()
    write_idx(tmp_path / "m" / "train-images-idx3-ubyte", np.zeros((2, 28, 28)))
    header = struct.pack(">HBB", 0, 0x0D, 1) + struct.pack(">I", 2)
    (tmp_path / "m" / "train-labels-idx1-ubyte").write_bytes(
        header + np.array([1.0, 2.5], ">f4").tobytes())
    with pytest.raises(ValueError, match=r"holds label 2\.5 at index 1; expected whole-number"):
        gn.data.load_mnist(tmp_path / "m")


def test_csv_label_of_1e9_is_refused_by_its_line(tmp_path, capsys):
    (tmp_path / "big.csv").write_text("a,b,y\n" + ROWS + "\n1,2,1e9\n")
    code, _, err = run(capsys, *train_args(tmp_path, f"csv:{tmp_path / 'big.csv'}"))
    one_error_line(code, err, "big.csv", "line 22", "class label 1000000000 is out of range",
                   "labels 0 to 9999")


def test_csv_negative_label_names_its_line(tmp_path, capsys):
    (tmp_path / "neg.csv").write_text("a,b,y\n" + ROWS + "\n1,2,-3\n")
    code, _, err = run(capsys, *train_args(tmp_path, f"csv:{tmp_path / 'neg.csv'}"))
    one_error_line(code, err, "neg.csv", "line 22", "class label -3", "labels must be >= 0")


def test_one_column_csv(tmp_path, capsys):
    (tmp_path / "one.csv").write_text("y\n" + "\n".join(str(i % 2) for i in range(20)) + "\n")
    code, _, err = run(capsys, *train_args(tmp_path, f"csv:{tmp_path / 'one.csv'}"))
    line = one_error_line(code, err, "one.csv", "has a single column",
                          "expected one or more feature columns followed by the target")
    assert "in_features" not in line


@pytest.mark.parametrize("sep, name", [(";", "semicolons"), ("\t", "tabs")])
def test_csv_with_another_separator(tmp_path, capsys, sep, name):
    rows = "\n".join(sep.join((f"{i}", f"{i * 2}", f"{i % 2}")) for i in range(20))
    (tmp_path / "s.csv").write_text(sep.join("aby") + "\n" + rows + "\n")
    code, _, err = run(capsys, *train_args(tmp_path, f"csv:{tmp_path / 's.csv'}"))
    one_error_line(code, err, "s.csv", f"look separated by {name}", "comma-separated")


def test_csv_with_another_separator_and_no_header(tmp_path, capsys):
    rows = "\n".join(f"{i};{i * 2};{i % 2}" for i in range(20))
    (tmp_path / "s.csv").write_text(rows + "\n")
    code, _, err = run(capsys, *train_args(tmp_path, f"csv:{tmp_path / 's.csv'}"))
    one_error_line(code, err, "s.csv", "look separated by semicolons")


def test_non_utf8_csv_names_the_file_and_line(tmp_path, capsys):
    (tmp_path / "latin.csv").write_bytes(("a,b,y\n" + ROWS + "\n").encode()
                                         + "1,2,caf\xe9\n".encode("latin-1"))
    code, _, err = run(capsys, *train_args(tmp_path, f"csv:{tmp_path / 'latin.csv'}"))
    one_error_line(code, err, "latin.csv", "is not UTF-8 text", "byte 0xe9 on line 22",
                   "save the file as UTF-8")


def test_malformed_csv_names_the_file_and_line(tmp_path, capsys):
    (tmp_path / "q.csv").write_text("a,b,y\n1,2,0\n3,\"4\n5,6,1\n")
    code, _, err = run(capsys, *train_args(tmp_path, f"csv:{tmp_path / 'q.csv'}"))
    one_error_line(code, err, "q.csv", "line 4 cannot be read as CSV")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "1e39"])
def test_non_finite_csv_features_are_named_by_line_and_column(tmp_path, capsys, value):
    (tmp_path / "d.csv").write_text("a,b,y\n" + ROWS + f"\n1,{value},1\n")
    code, _, err = run(capsys, *train_args(tmp_path, f"csv:{tmp_path / 'd.csv'}"))
    line = one_error_line(code, err, "d.csv", "line 22, column 'b'", repr(value))
    assert "learning rate" not in line


def test_non_finite_csv_target_is_named_too(tmp_path, capsys):
    rows = "\n".join(f"{i},{i * 0.5}" for i in range(20))
    (tmp_path / "r.csv").write_text("x,target\n" + rows + "\n3,nan\n")
    code, _, err = run(capsys, *train_args(tmp_path, f"csv:{tmp_path / 'r.csv'}"))
    one_error_line(code, err, "r.csv", "line 22, column 'target'", "'nan' is not a finite number")


def test_csv_without_header_names_the_column_by_index(tmp_path, capsys):
    (tmp_path / "d.csv").write_text(ROWS + "\ninf,1,1\n")
    code, _, err = run(capsys, *train_args(tmp_path, f"csv:{tmp_path / 'd.csv'}"))
    one_error_line(code, err, "d.csv", "line 21, column 0", "'inf'")


def test_csv_folder_is_called_a_folder(tmp_path, capsys):
    (tmp_path / "dir.csv").mkdir()
    for folder in (tmp_path / "dir.csv", tmp_path):
        code, _, err = run(capsys, *train_args(tmp_path, f"csv:{folder}"))
        line = one_error_line(code, err, repr(str(folder)), "is a folder; expected a CSV file")
        assert "no such file" not in line


def test_load_csv_reads_nonfinite_values_without_warnings_by_default(tmp_path):
    (tmp_path / "d.csv").write_text("a,b\nnan,1e39\n-inf,2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, _ = gn.data.load_csv(tmp_path / "d.csv", target_column=None)
    assert np.isnan(X[0, 0]) and X[0, 1] == np.inf and X[1, 0] == -np.inf


@pytest.fixture(scope="module")
def moons_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("moons")
    assert main(["train", "--model", "mlp", "--data", "moons", "--epochs", "2", "--out", str(out),
                 "--quiet", "--no-plot"]) == 0
    return out / "model.safetensors"


@pytest.mark.parametrize("text, parts", [
    ("nan,nan", ["INPUT 'nan,nan'", "value 1 is 'nan'", "expected finite numbers"]),
    ("0.5,nan", ["value 2 is 'nan'"]),
    ("inf,1", ["value 1 is 'inf'"]),
    ("-inf,1", ["value 1 is '-inf'"]),
    ("1e39,1", ["value 1 (1e39) is too large for float32"]),
    ("1,-1e39", ["value 2 (-1e39) is too large for float32"]),
    ("3e38,3e38", ["output for sample 0", "is nan", "too large for this model"]),
    ("1,,2", ["nor a comma-separated list of numbers", "value 2 is ''"]),
])
def test_predict_refuses_non_finite_inputs(moons_model, capsys, text, parts):
    code, out, err = run(capsys, "predict", moons_model, text)
    one_error_line(code, err, *parts)
    assert out == ""


def test_predict_takes_negative_numbers(moons_model, capsys):
    code, out, err = run(capsys, "predict", moons_model, "-0.8,0.3", "--probabilities")
    assert code == 0 and err == "" and out.startswith("0  (p=")


@pytest.mark.parametrize("array, parts", [
    (np.array([[1.0, np.nan], [2.0, 3.0]]), ["index [0, 1] is nan", "not a finite number"]),
    (np.array([[1.0, 2.0], [np.inf, 3.0]], np.float32), ["index [1, 0] is inf"]),
    (np.array([[1.0, 2.0], [3.0, 1e300]]), ["index [1, 1] is 1e+300", "too large for float32"]),
])
def test_predict_refuses_non_finite_npy(moons_model, tmp_path, capsys, array, parts):
    np.save(tmp_path / "x.npy", array)
    code, _, err = run(capsys, "predict", moons_model, tmp_path / "x.npy")
    one_error_line(code, err, "x.npy", *parts)


def test_predict_refuses_non_finite_csv(moons_model, tmp_path, capsys):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n3,nan\n")
    code, _, err = run(capsys, "predict", moons_model, tmp_path / "x.csv")
    one_error_line(code, err, "x.csv", "line 3, column 'b'", "'nan' is not a finite number")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n3,1e39\n")
    code, _, err = run(capsys, "predict", moons_model, tmp_path / "x.csv")
    one_error_line(code, err, "x.csv", "line 3, column 'b'", "too large for float32")


def test_predict_accepts_float64_npy_within_range(moons_model, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.array([[-1.0, 0.5], [2.0, -0.2]]))
    code, out, err = run(capsys, "predict", moons_model, tmp_path / "x.npy")
    assert code == 0 and err == "" and out.split() == ["0", "1"]


@pytest.mark.parametrize("text, parts", [
    ("a,b,y\n1,2,0\n3,nan,1\n", ["line 3, column 'b'", "'nan' is not a finite number"]),
    ("y\n0\n1\n0\n", ["has a single column"]),
    ("a;b;y\n1;2;0\n3;4;1\n", ["look separated by semicolons"]),
])
def test_playground_data_file_errors(tmp_path, capsys, text, parts):
    (tmp_path / "d.csv").write_text(text)
    code, _, err = run(capsys, "playground", "--data", tmp_path / "d.csv")
    one_error_line(code, err, "d.csv", *parts)
