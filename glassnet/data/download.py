"""Downloads of the standard data sets: a cache folder, pinned checksums, resumable transfers.

Each data set names its files and their checksums (``resources``) and the
base URLs they are served from (``mirrors``). ``ensure_resources`` makes
sure every file is in the data set's folder and matches its checksum:

- a file already there is checked (MD5, and SHA-256 when pinned); a corrupted
  one is removed and downloaded again;
- a download goes to ``NAME.part`` and is renamed to ``NAME`` only once its
  checksum matches, so the folder never holds half a file under the real name;
- an interrupted transfer (a dropped connection, Ctrl-C) leaves ``NAME.part``
  behind and the next attempt asks for the rest with an HTTP ``Range`` header;
- mirrors are tried in order; when every one fails, the error lists the URLs
  tried with what went wrong, and the exact file names and the folder where
  the files can be placed by hand.

The cache folder is ``$GLASSNET_DATA`` when set, else ``~/.cache/glassnet``.
Only the standard library's ``urllib`` talks to the network.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "GLASSNET_DATA"
TIMEOUT = 30.0  # seconds without a byte before a mirror counts as failed
CHUNK = 1 << 16
MAX_RESUMES = 5  # per mirror: an interrupted transfer that made progress is continued this often
USER_AGENT = "glassnet (data set download)"


class DownloadError(OSError):
    """No mirror delivered a file (offline, HTTP errors, checksum mismatches).

    The message names each URL tried and why it failed, and where to put the
    files by hand. ``attempts`` holds ``(url, reason)`` pairs.
    """

    def __init__(self, message: str, attempts=()):
        super().__init__(message)
        self.attempts = list(attempts)

    def __str__(self):
        return self.args[0]


@dataclass(frozen=True)
class Resource:
    """One file of a data set: its exact name and pinned checksums (hex digests)."""

    filename: str
    md5: str | None = None
    sha256: str | None = None

    def describe(self) -> str:
        sums = [f"MD5 {self.md5}" if self.md5 else "", f"SHA-256 {self.sha256}" if self.sha256 else ""]
        return f"{self.filename}  ({', '.join(s for s in sums if s)})"


def as_resource(entry) -> Resource:
    """A ``Resource`` from ``(filename, md5)``, ``(filename, md5, sha256)`` or a ``Resource``."""
    if isinstance(entry, Resource):
        r = entry
    elif isinstance(entry, (tuple, list)) and 2 <= len(entry) <= 3:
        r = Resource(*entry)
    else:
        raise ValueError(f"a resource is (filename, md5) or (filename, md5, sha256), got {entry!r}")
    name = r.filename
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name \
            or "\\" in name or "\0" in name:
        raise ValueError(f"a resource's file name must be a plain name without folders, "
                         f"got {name!r}")
    if not r.md5 and not r.sha256:
        raise ValueError(f"resource {name!r} has no checksum; pin its MD5 or SHA-256")
    for algo, digest, size in (("MD5", r.md5, 32), ("SHA-256", r.sha256, 64)):
        if digest is not None and (not isinstance(digest, str) or len(digest) != size
                                   or any(c not in "0123456789abcdefABCDEF" for c in digest)):
            raise ValueError(f"resource {name!r}: {algo} must be {size} hex digits, got {digest!r}")
    return r


def data_home() -> Path:
    """The cache folder of the standard data sets: ``$GLASSNET_DATA``, else ``~/.cache/glassnet``."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(os.path.expanduser(env))
    return Path.home() / ".cache" / "glassnet"


def resolve_root(root) -> Path:
    """``root`` as a path (``~`` expanded); None means ``data_home()``."""
    if root is None:
        return data_home()
    try:
        return Path(os.path.expanduser(os.fspath(root)))
    except TypeError:
        raise TypeError(f"root must be a folder path (str or os.PathLike) or None, got "
                        f"{type(root).__name__}") from None


def file_digests(path, algorithms=("md5", "sha256")) -> dict:
    """Hex digests of a file, read once in chunks: ``{'md5': ..., 'sha256': ...}``."""
    hashes = {a: hashlib.new(a, usedforsecurity=False) if a == "md5" else hashlib.new(a)
              for a in algorithms}
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            for h in hashes.values():
                h.update(block)
    return {a: h.hexdigest() for a, h in hashes.items()}


def checksum_problem(path, resource: Resource) -> str | None:
    """None when ``path`` matches every pinned checksum of ``resource``, else what differs."""
    wanted = {a: d.lower() for a, d in (("md5", resource.md5), ("sha256", resource.sha256)) if d}
    got = file_digests(path, tuple(wanted))
    for algo, digest in wanted.items():
        if got[algo] != digest:
            label = "MD5" if algo == "md5" else "SHA-256"
            return f"{label} is {got[algo]}, expected {digest}"
    return None


def _url(mirror: str, filename: str) -> str:
    """A mirror is a base URL: the file is ``mirror/filename``."""
    return mirror.rstrip("/") + "/" + filename


def _reason(err: BaseException) -> str:
    """What went wrong with one URL, in a few words."""
    import urllib.error
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}".rstrip()
    if isinstance(err, urllib.error.URLError):
        inner = err.reason
        if isinstance(inner, ConnectionRefusedError):
            return "connection refused (nothing answers there)"
        if isinstance(inner, socket.gaierror):
            return f"host name not resolved (offline?): {inner}"
        if isinstance(inner, (TimeoutError, socket.timeout)):
            return "timed out"
        return str(inner)
    if isinstance(err, (TimeoutError, socket.timeout)):
        return "timed out"
    return f"{type(err).__name__}: {err}"


class _Interrupted(Exception):
    """The transfer stopped before its end; the bytes so far stay in the .part file."""


def _progress_bar(total, initial, desc, progress):
    from tqdm.auto import tqdm

    # progress=None: a bar on a terminal only, so logs and tests stay quiet
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
                desc=desc, leave=False, disable=None if progress is None else not progress,
                file=sys.stderr)


def _transfer(url: str, part: Path, desc: str, progress, timeout: float) -> None:
    """Fetch ``url`` into ``part``, continuing what ``part`` already holds when the server allows.

    Raises urllib's errors for a failed request and ``_Interrupted`` for a transfer that
    ended early and could not be continued."""
    import http.client  # the network modules load on the first download, not with glassnet
    import urllib.error
    import urllib.request

    resumes = 0
    restarted = False
    while True:
        start = part.stat().st_size if part.exists() else 0
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if start:
            headers["Range"] = f"bytes={start}-"
        try:
            resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                          timeout=timeout)
        except urllib.error.HTTPError as err:
            if err.code == 416 and start and not restarted:  # the part is no prefix it can serve
                err.close()
                part.unlink()
                restarted = True
                continue
            raise
        with resp:
            status = getattr(resp, "status", None) or 200
            if start and status == 206:
                first = _range_start(resp.headers.get("Content-Range", ""))
                if first != start:  # not the piece asked for: start over
                    resp.close()
                    part.unlink()
                    continue
                mode = "ab"
            else:
                start, mode = 0, "wb"  # the server sent the whole file
            length = resp.headers.get("Content-Length")
            length = int(length) if length and length.isdigit() else None
            received = 0
            failure = None
            with open(part, mode) as fh, _progress_bar(
                    None if length is None else start + length, start, desc, progress) as bar:
                try:
                    while True:
                        block = resp.read(CHUNK)
                        if not block:
                            break
                        fh.write(block)
                        received += len(block)
                        bar.update(len(block))
                except (http.client.HTTPException, OSError) as err:
                    failure = err
                fh.flush()
                os.fsync(fh.fileno())
        if failure is None and (length is None or received >= length):
            return
        done = start + received
        why = _reason(failure) if failure is not None else \
            f"connection closed after {received} of {length} bytes"
        if received > 0 and resumes < MAX_RESUMES:
            resumes += 1
            continue
        raise _Interrupted(f"transfer interrupted ({why}); {done} bytes kept in {part.name} "
                           "to resume from")


def _range_start(content_range: str) -> int | None:
    # "bytes 100-199/200"
    unit, _, rest = content_range.strip().partition(" ")
    first = rest.partition("-")[0]
    return int(first) if unit == "bytes" and first.isdigit() else None


def download_file(resource, folder, mirrors, progress=None, timeout: float | None = None) -> Path:
    """Download one file into ``folder`` from the first mirror that serves it with the right
    checksum; returns its path. Raises ``DownloadError`` listing every URL tried.

    The bytes arrive in ``folder/NAME.part`` (continued from where an earlier attempt
    stopped) and are renamed to ``folder/NAME`` after the checksum matches."""
    import http.client
    import urllib.error

    r = as_resource(resource)
    folder = Path(folder)
    final, part = folder / r.filename, folder / (r.filename + ".part")
    attempts = []
    timeout = TIMEOUT if timeout is None else timeout
    for mirror in mirrors:
        url = _url(mirror, r.filename)
        for _ in range(2):  # a second pass only when a resumed file turned out wrong
            resumed = part.exists() and part.stat().st_size > 0
            try:
                _transfer(url, part, r.filename, progress, timeout)
            except _Interrupted as err:
                attempts.append((url, str(err)))
                break
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
                attempts.append((url, _reason(err)))
                break
            problem = checksum_problem(part, r)
            if problem is None:
                os.replace(part, final)
                return final
            part.unlink()
            attempts.append((url, f"checksum mismatch ({problem}); the file was removed"))
            if not resumed:
                break
    raise DownloadError(f"could not download {r.filename}", attempts)


def _check_folder(folder: Path, root: Path, name: str, writable: bool) -> None:
    """A clear error when ``root`` (or a folder on the way to ``folder``) is a file, or when
    ``folder`` cannot be written to and ``writable`` is asked for."""
    hint = f" (from ${ENV_VAR})" if os.environ.get(ENV_VAR, "").strip() and \
        root == data_home() else ""
    for p in [folder, *folder.parents]:
        if p.exists():
            if not p.is_dir():
                what = "root" if p == root else "path"
                raise NotADirectoryError(f"{name}: the {what} {str(p)!r}{hint} is a file, not a "
                                         f"folder; pass root=<a folder> for the data sets")
            break
    if not writable:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise PermissionError(f"{name}: cannot write to {str(folder)!r}{hint} "
                              f"({err.strerror or err}); pass a writable root= or set "
                              f"{ENV_VAR} to a writable folder") from None


def _file_list(resources) -> str:
    return "\n".join(f"  {r.describe()}" for r in resources)


def ensure_resources(name: str, resources, folder, mirrors, download: bool, root=None,
                     progress=None) -> list[Path]:
    """Make sure every file of data set ``name`` is in ``folder`` with its pinned checksum.

    With ``download=False`` a missing file is a ``FileNotFoundError`` and a corrupted one a
    ``ValueError`` (both say how to fix it); with ``download=True`` they are downloaded
    (again). Returns the files' paths in the order of ``resources``."""
    folder = Path(folder)
    root = folder if root is None else Path(root)
    resources = [as_resource(r) for r in resources]
    mirrors = list(mirrors)
    _check_folder(folder, root, name, writable=False)
    todo = []
    for r in resources:
        path = folder / r.filename
        if path.is_dir():
            raise IsADirectoryError(f"{name}: {str(path)!r} is a folder; expected the file "
                                    f"{r.filename} there")
        if not path.exists():
            todo.append(r)
            continue
        problem = checksum_problem(path, r)
        if problem is None:
            continue
        if not download:
            raise ValueError(f"{name}: {str(path)!r} is corrupted ({problem}); pass "
                             f"download=True to download it again, or replace it by hand")
        warnings.warn(f"{name}: {str(path)!r} is corrupted ({problem}); downloading it again",
                      stacklevel=3)
        path.unlink()
        todo.append(r)
    if todo and not download:
        sources = ", ".join(mirrors) if mirrors else "no mirror is configured"
        raise FileNotFoundError(
            f"{name}: {len(todo)} of its files {'is' if len(todo) == 1 else 'are'} not in "
            f"{folder}. Pass download=True to download {'it' if len(todo) == 1 else 'them'} "
            f"(from {sources}), or place {'it' if len(todo) == 1 else 'them'} there by hand, "
            f"with exactly these names (each is checked against its checksum):\n"
            + _file_list(todo))
    if todo:
        _check_folder(folder, root, name, writable=True)
    for i, r in enumerate(todo):
        try:
            download_file(r, folder, mirrors, progress=progress)
        except DownloadError as err:
            tried = "\n".join(f"  {url}: {why}" for url, why in err.attempts) or \
                "  (no mirror is configured)"
            left = todo[i:]
            raise DownloadError(
                f"{name}: could not download {r.filename}; tried:\n{tried}\n"
                f"Offline, or behind a proxy? Download the files another way and place them "
                f"by hand in {folder} with exactly these names (each is checked against its "
                f"checksum):\n" + _file_list(left), err.attempts) from None
    return [folder / r.filename for r in resources]
