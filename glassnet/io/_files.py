"""Atomic writes and safetensors files with a JSON header, with clear errors.

Every file glassnet writes goes to a temporary file in the same directory,
is flushed and fsync'ed, then renamed over the target with ``os.replace`` —
a rename within one file system is atomic, so a crash or an error mid-write
leaves either the old file or the new one, never half of each.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import struct
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import safetensors
import safetensors.numpy as stn

from ..tensor import Tensor

META_KEY = "glassnet"


def _write_and_sync(fh, data: bytes) -> None:
    fh.write(data)
    fh.flush()
    os.fsync(fh.fileno())


_STALE_AGE_S = 3600  # a temporary file untouched this long is an orphan, whoever made it
_ORPHAN_AGE_S = 2  # ... and one whose writer process is gone, once this old


def _writer_gone(name: str) -> bool:
    """Whether the process that made temporary file ``name`` (``.NAME.PID-xxxx.tmp``) has ended."""
    pid = name[:-4].rsplit(".", 1)[-1].split("-", 1)[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return False


def remove_stale_temporaries(path) -> list:
    """Delete the temporary files ``.NAME.*.tmp`` that a killed save of ``path`` left
    behind (those whose writer has ended, or untouched for an hour); returns their paths.
    A save in progress elsewhere keeps its file."""
    path = Path(os.fspath(path))
    directory = path.parent if str(path.parent) else Path(".")
    removed = []
    if not path.name:
        return removed
    try:
        candidates = list(directory.glob(f".{glob.escape(path.name)}.*.tmp"))
    except OSError:
        return removed
    now = time.time()
    for tmp in candidates:
        try:
            age = now - tmp.stat().st_mtime
            if age > _STALE_AGE_S or (age > _ORPHAN_AGE_S and _writer_gone(tmp.name)):
                tmp.unlink()
                removed.append(str(tmp))
        except OSError:
            pass  # gone already, or not ours to remove
    return removed


_HINTS = {errno.EFBIG: "is the disk full?", errno.ENOSPC: "is the disk full?",
          errno.EDQUOT: "is the disk quota used up?", errno.EACCES: "is the folder writable?",
          errno.EROFS: "the file system is read-only"}


def _naming_target(err: OSError, path) -> OSError:
    """``err`` as the same kind of error about ``path`` (not the temporary file)."""
    reason = err.strerror or str(err)
    hint = _HINTS.get(err.errno)
    if hint and hint not in reason:
        reason = f"{reason} ({hint})"
    return type(err)(err.errno, reason, str(path)) if err.errno else type(err)(
        f"{reason}: {str(path)!r}")


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix.

    Errors are about ``path``: ``OSError(errno, reason, path)``, never the temporary file.
    """
    if str(os.fspath(path)) == "":
        raise ValueError("cannot write to an empty path; expected a file name")
    path = Path(os.fspath(path))
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"folder {str(directory)!r} does not exist",
                                str(path))
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "it is a folder; expected a file name", str(path))
    remove_stale_temporaries(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.{os.getpid()}-",
                                   suffix=".tmp")
    except OSError as err:
        raise _naming_target(err, path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_and_sync(fh, data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(err, OSError):
            raise _naming_target(err, path) from None
        raise
    try:  # make the rename itself durable; not possible everywhere (e.g. Windows)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _contiguous(arr: np.ndarray) -> np.ndarray:
    # safetensors reads raw memory, so it must be C-contiguous (np.ascontiguousarray would
    # also turn a 0-d array into a 1-d one)
    return arr if arr.flags.c_contiguous else np.array(arr, order="C")


def as_array(value, name: str) -> np.ndarray:
    if isinstance(value, Tensor):
        arr = value._data
    elif isinstance(value, np.ndarray):
        arr = value
    elif hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        arr = value.detach().cpu().numpy()
    else:
        raise TypeError(f"save: {name!r} is a {type(value).__name__}; only tensors and arrays can be "
                        "saved as weights")
    if arr.dtype == object:
        raise TypeError(f"save: {name!r} has dtype object, which cannot be saved")
    return _contiguous(arr)


def is_file_object(f) -> bool:
    """Whether ``f`` is an open file (anything with read or write), not a path."""
    return not isinstance(f, (str, bytes, os.PathLike)) and (hasattr(f, "write") or
                                                             hasattr(f, "read"))


def file_name(f) -> str:
    """A name for ``f`` in messages: the path, or an open file's name."""
    if is_file_object(f):
        name = getattr(f, "name", None)
        return str(name) if isinstance(name, (str, os.PathLike)) else f"<{type(f).__name__}>"
    return str(os.fspath(f))


def write_safetensors(path, tensors: dict, meta: dict, where: str = "save") -> None:
    """Write arrays plus a JSON metadata record into one safetensors file, atomically (or
    into an open binary file, at its current position)."""
    try:
        data = stn.save(tensors, metadata={META_KEY: json.dumps(meta, allow_nan=True)})
    except (safetensors.SafetensorError, TypeError, ValueError) as err:
        raise ValueError(f"{where}: cannot serialise to {file_name(path)!r}: {err}") from None
    if is_file_object(path):
        if not hasattr(path, "write"):
            raise TypeError(f"{where}: {file_name(path)!r} is open for reading; expected a path "
                            "or a file opened for writing in binary mode ('wb')")
        try:
            path.write(data)
        except TypeError:
            raise TypeError(f"{where}: {file_name(path)!r} takes text; open the file in binary "
                            "mode ('wb') or use io.BytesIO") from None
        if hasattr(path, "flush"):
            path.flush()
        return
    if str(path) == "":
        raise ValueError(f"{where}: the path is empty; expected a file name such as "
                         "'model.safetensors'")
    try:
        atomic_write_bytes(path, data)
    except OSError as err:
        e = type(err)(f"{where}: cannot write {str(path)!r}: {err.strerror or err}")
        e.errno = err.errno
        raise e from None


def read_safetensors(path, where: str) -> tuple[dict, dict | None]:
    """``(arrays, glassnet_metadata_or_None)`` from a safetensors file (a path, or an open
    binary file read from its current position), with clear errors."""
    if is_file_object(path):
        if not hasattr(path, "read"):
            raise TypeError(f"{where}: {file_name(path)!r} is not readable; expected a path or "
                            "a file opened for reading in binary mode ('rb')")
        raw = path.read()
        if isinstance(raw, str):
            raise TypeError(f"{where}: {file_name(path)!r} gives text; open the file in binary "
                            "mode ('rb') or use io.BytesIO")
        return parse_safetensors(bytes(raw), file_name(path), where)
    if str(os.fspath(path)) == "":
        raise ValueError(f"{where}: the path is empty; expected a file name")
    p = Path(os.fspath(path))
    if not p.is_file():
        raise FileNotFoundError(f"{where}: no such file: {str(p)!r}")
    remove_stale_temporaries(p)
    return parse_safetensors(p.read_bytes(), str(p), where)


_PICKLE_HINT = ("it looks like a file written by torch.save (a pickle), which glassnet never "
                "opens (unpickling can run any code); save the state dict with "
                "safetensors.torch.save_file(model.state_dict(), path) and load that")


def parse_safetensors(raw: bytes, name: str, where: str) -> tuple[dict, dict | None]:
    """``(arrays, glassnet_metadata_or_None)`` from the bytes of a safetensors file."""
    bad = f"{where}: {name!r} is not a valid glassnet/safetensors file"
    try:
        return _parse(raw, bad)
    except ValueError:
        # torch.save's formats: a zip archive, or (before PyTorch 1.6) a bare pickle
        if raw[:4] == b"PK\x03\x04" or (raw[:1] == b"\x80" and raw[1:2] in b"\x02\x03\x04\x05"):
            raise ValueError(f"{bad}: {_PICKLE_HINT}") from None
        raise


def _parse(raw: bytes, bad: str) -> tuple[dict, dict | None]:
    if len(raw) < 8:
        raise ValueError(f"{bad}: only {len(raw)} bytes (truncated or empty)")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{bad}: the header says {n} bytes but the file has only {len(raw) - 8} "
                         "after the length field (truncated?)")
    header = _json(raw[8:8 + n], f"{bad}: the header")
    if not isinstance(header, dict):
        raise ValueError(f"{bad}: the header is not a JSON object")  # noqa: TRY004
    try:
        end = max((int(e["data_offsets"][1]) for k, e in header.items() if k != "__metadata__"),
                  default=0)
    except (TypeError, KeyError, IndexError, ValueError):
        raise ValueError(f"{bad}: a tensor entry in the header has no valid data_offsets") from None
    if 8 + n + end > len(raw):
        raise ValueError(f"{bad}: truncated — the tensors need {8 + n + end} bytes, the file has "
                         f"{len(raw)}")
    try:
        arrays = stn.load(raw)
    except (safetensors.SafetensorError, TypeError, ValueError) as err:
        raise ValueError(f"{bad}: {err}") from None
    meta = (header.get("__metadata__") or {}).get(META_KEY)
    if meta is None:
        return arrays, None
    meta = _json(meta, f"{bad}: its glassnet metadata")
    if not isinstance(meta, dict):
        raise ValueError(f"{bad}: its glassnet metadata is not a JSON object")  # noqa: TRY004
    return arrays, meta


MAX_DEPTH = 64  # nesting of the JSON records: real ones use a handful of levels


def _json(text, what: str):
    """Parsed JSON, refused with one clear line when it is not JSON or nests too deeply."""
    try:
        value = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{what} is not JSON ({err})") from None
    except RecursionError:
        value = None
        depth = MAX_DEPTH + 1
    else:
        depth = _depth(value)
    if depth > MAX_DEPTH:
        raise ValueError(f"{what} nests more than {MAX_DEPTH} levels deep (a damaged or hostile "
                         "file)")
    return value


def _depth(value) -> int:
    """How deeply lists and dicts nest in ``value`` (without recursion; stops past MAX_DEPTH)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = list(v.values())
        elif not isinstance(v, list):
            continue
        deepest = max(deepest, d)
        if d > MAX_DEPTH:
            return d
        stack.extend((x, d + 1) for x in v)
    return deepest


# ------------------------------------------------------------------------------------------
# JSON trees with arrays inside (optimizer and scheduler states, extras): arrays go to the
# safetensors part under a generated key, the rest stays JSON; markers make the trip exact.
def encode_tree(obj, key: str, arrays: dict, where: str = "save_checkpoint"):
    """``obj`` as JSON with its arrays moved into ``arrays`` under keys that start with ``key``
    (numbers, strings, None, lists, tuples, dicts, Counters, arrays, tensors); anything else
    is refused with a TypeError that names it."""
    if isinstance(obj, Tensor):
        arrays[key] = _contiguous(obj._data)
        return {"__tensor__": key, "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError(f"{where}: cannot save {key!r}: an array of dtype object (Python "
                            "objects) is not data glassnet can write safely")
        arrays[key] = _contiguous(obj)
        return {"__ndarray__": key}
    if isinstance(obj, np.generic):  # keep NumPy scalar types: float32 arithmetic must stay float32
        arrays[key] = np.asarray(obj)
        return {"__scalar__": key}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, tuple):
        return {"__tuple__": [encode_tree(v, f"{key}/{i}", arrays, where)
                              for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [encode_tree(v, f"{key}/{i}", arrays, where) for i, v in enumerate(obj)]
    if isinstance(obj, Counter):  # MultiStepLR's milestones: a missing key must still count 0
        return {"__counter__": [[encode_tree(k, f"{key}/k{i}", arrays, where), v]
                                for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: encode_tree(v, f"{key}/{k}", arrays, where) for k, v in obj.items()}
        return {"__dict__": [[encode_tree(k, f"{key}/k{i}", arrays, where),
                              encode_tree(v, f"{key}/{i}", arrays, where)]
                             for i, (k, v) in enumerate(obj.items())]}
    if hasattr(obj, "state_dict") and hasattr(obj, "parameters"):  # a model inside a container
        raise TypeError(f"{where}: cannot save {key!r}: it is a {type(obj).__name__} model inside "
                        "a container; save its state_dict() there, or the model on its own")
    raise TypeError(f"{where}: cannot save {key!r} of type {type(obj).__name__} (only "
                    "numbers, strings, lists, tuples, dicts, arrays and tensors)")


def decode_tree(obj, arrays: dict, where: str):
    if isinstance(obj, list):
        return [decode_tree(v, arrays, where) for v in obj]
    if not isinstance(obj, dict):
        return obj

    def get(key):
        if key not in arrays:
            raise ValueError(f"{where}: the file refers to tensor {key!r} which it does not contain")
        return arrays[key]

    if "__tensor__" in obj:
        return Tensor._make(get(obj["__tensor__"]), bool(obj.get("requires_grad")))
    if "__ndarray__" in obj:
        return get(obj["__ndarray__"])
    if "__scalar__" in obj:
        return get(obj["__scalar__"])[()]
    if "__tuple__" in obj:
        return tuple(decode_tree(v, arrays, where) for v in obj["__tuple__"])
    if "__counter__" in obj:
        return Counter({decode_tree(k, arrays, where): v for k, v in obj["__counter__"]})
    if "__dict__" in obj:
        return {decode_tree(k, arrays, where): decode_tree(v, arrays, where)
                for k, v in obj["__dict__"]}
    return {k: decode_tree(v, arrays, where) for k, v in obj.items()}
