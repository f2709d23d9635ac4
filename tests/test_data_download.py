"""Downloads of the standard data sets against a loopback HTTP server (never the network):
checksums, atomic renames, resumed transfers, mirrors in order, the offline message, the
cache, and the bad roots."""

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
from data_server import FileServer, free_port, md5, sha256

import glassnet as gn
from glassnet.data import download as dl

DATA = bytes(range(256)) * 300  # 76,800 bytes: several read chunks


@pytest.fixture(autouse=True)
def _no_real_cache(tmp_path, monkeypatch):
    # a test that forgot root= must not write into the user's cache
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path / "env-cache"))


@pytest.fixture
def server():
    with FileServer({"/a/f.bin": DATA, "/b/f.bin": DATA, "/c/f.bin": DATA}) as srv:
        yield srv


def resource(data=DATA, name="f.bin"):
    return dl.Resource(name, md5(data))


def ensure(srv_or_urls, folder, download=True, res=None):
    urls = srv_or_urls if isinstance(srv_or_urls, list) else [srv_or_urls.url("/a/")]
    return dl.ensure_resources("Set", [res or resource()], folder, urls, download)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_good_download(server, tmp_path):
    folder = tmp_path / "Set" / "raw"
    (path,) = ensure(server, folder)
    assert path == folder / "f.bin" and path.read_bytes() == DATA
    assert leftovers(folder) == ["f.bin"]  # no .part, no probe file
    assert server.requests == [("/a/f.bin", None)]


def test_checksum_mismatch_refused_and_removed(server, tmp_path):
    folder = tmp_path / "raw"
    server.fail("/a/f.bin", "corrupt")
    with pytest.raises(gn.data.DownloadError) as info:
        ensure(server, folder)
    msg = str(info.value)
    assert "checksum mismatch" in msg and f"expected {md5(DATA)}" in msg
    assert server.url("/a/f.bin") in msg
    assert leftovers(folder) == []  # the bad bytes are gone, under either name


def test_checksum_mismatch_takes_the_next_mirror(server, tmp_path):
    folder = tmp_path / "raw"
    server.fail("/a/f.bin", "corrupt")
    ensure([server.url("/a/"), server.url("/b/")], folder)
    assert (folder / "f.bin").read_bytes() == DATA
    assert [p for p, _ in server.requests] == ["/a/f.bin", "/b/f.bin"]


def test_404_and_500_take_the_next_mirror(server, tmp_path):
    folder = tmp_path / "raw"
    server.fail("/a/f.bin", "404")
    server.fail("/b/f.bin", "500")
    ensure([server.url(p) for p in ("/a/", "/b/", "/c/")], folder)
    assert (folder / "f.bin").read_bytes() == DATA
    assert [p for p, _ in server.requests] == ["/a/f.bin", "/b/f.bin", "/c/f.bin"]


def test_every_mirror_failing_lists_them(server, tmp_path):
    folder = tmp_path / "raw"
    server.fail("/a/f.bin", "404")
    server.fail("/b/f.bin", "500")
    with pytest.raises(gn.data.DownloadError) as info:
        ensure([server.url("/a/"), server.url("/b/")], folder)
    msg = str(info.value)
    assert f"{server.url('/a/f.bin')}: HTTP 404" in msg
    assert f"{server.url('/b/f.bin')}: HTTP 500" in msg
    assert info.value.attempts[0][0] == server.url("/a/f.bin")


def test_truncated_transfer_is_resumed(server, tmp_path):
    folder = tmp_path / "raw"
    server.fail("/a/f.bin", "truncate")
    ensure(server, folder)
    assert (folder / "f.bin").read_bytes() == DATA
    (first, _), (second, rng) = server.requests
    assert first == second == "/a/f.bin"
    assert rng == f"bytes={len(DATA) // 2}-"  # asked for the rest only
    assert server.sent == len(DATA)
    assert leftovers(folder) == ["f.bin"]


def test_interrupted_download_resumes_in_a_later_call(server, tmp_path, monkeypatch):
    folder = tmp_path / "raw"
    monkeypatch.setattr(dl, "MAX_RESUMES", 0)  # give up at once: the next call resumes
    server.fail("/a/f.bin", "truncate")
    with pytest.raises(gn.data.DownloadError, match="interrupted"):
        ensure(server, folder)
    assert leftovers(folder) == ["f.bin.part"]
    assert (folder / "f.bin.part").read_bytes() == DATA[:len(DATA) // 2]
    ensure(server, folder)
    assert (folder / "f.bin").read_bytes() == DATA
    assert server.requests[-1] == ("/a/f.bin", f"bytes={len(DATA) // 2}-")
    assert server.sent == len(DATA)  # nothing sent twice
    assert leftovers(folder) == ["f.bin"]


def test_resume_when_the_server_ignores_range(server, tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "f.bin.part").write_bytes(DATA[:1000])
    server.fail("/a/f.bin", "norange")  # 200 with the whole file: written from the start
    ensure(server, folder)
    assert (folder / "f.bin").read_bytes() == DATA


def test_stale_part_longer_than_the_file_starts_over(server, tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "f.bin.part").write_bytes(DATA + b"extra")  # the server answers 416
    ensure(server, folder)
    assert (folder / "f.bin").read_bytes() == DATA
    assert [r for _, r in server.requests] == [f"bytes={len(DATA) + 5}-", None]


def test_stale_part_of_other_bytes_is_downloaded_again(server, tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "f.bin.part").write_bytes(b"\0" * 500)  # not a prefix of the file
    ensure(server, folder)
    assert (folder / "f.bin").read_bytes() == DATA
    assert [r for _, r in server.requests] == ["bytes=500-", None]


def test_offline_message(tmp_path):
    folder = tmp_path / "Set" / "raw"
    urls = [f"http://127.0.0.1:{free_port()}/m1/", f"http://127.0.0.1:{free_port()}/m2/"]
    res = [dl.Resource("one.gz", md5(b"1")), dl.Resource("two.gz", md5(b"2"), sha256(b"2"))]
    with pytest.raises(gn.data.DownloadError) as info:
        dl.ensure_resources("Set", res, folder, urls, download=True)
    msg = str(info.value)
    for url in urls:
        assert f"{url}one.gz: connection refused" in msg
    assert str(folder) in msg and "by hand" in msg
    assert f"one.gz  (MD5 {md5(b'1')})" in msg
    assert f"two.gz  (MD5 {md5(b'2')}, SHA-256 {sha256(b'2')})" in msg
    assert isinstance(info.value, OSError)


def test_missing_files_without_download(tmp_path):
    folder = tmp_path / "raw"
    with pytest.raises(FileNotFoundError) as info:
        dl.ensure_resources("Set", [resource()], folder, ["http://127.0.0.1:1/x/"], False)
    msg = str(info.value)
    assert "download=True" in msg and str(folder) in msg and f"f.bin  (MD5 {md5(DATA)})" in msg
    assert not folder.exists()  # nothing created without download=True


def test_second_call_uses_the_cache(server, tmp_path):
    folder = tmp_path / "raw"
    ensure(server, folder)
    assert server.count() == 1
    ensure(server, folder)
    assert server.count() == 1
    server.stop()  # no network at all: still fine
    ensure([f"http://127.0.0.1:{free_port()}/"], folder)
    ensure([], folder, download=False)


def test_corrupted_cached_file_is_downloaded_again(server, tmp_path):
    folder = tmp_path / "raw"
    ensure(server, folder)
    (folder / "f.bin").write_bytes(DATA[:-1] + b"?")
    with pytest.raises(ValueError, match="corrupted.*MD5.*download=True"):
        ensure(server, folder, download=False)
    with pytest.warns(UserWarning, match="corrupted.*downloading it again"):
        ensure(server, folder)
    assert (folder / "f.bin").read_bytes() == DATA
    assert server.count() == 2


def test_sha256_is_checked_too(server, tmp_path):
    folder = tmp_path / "raw"
    with pytest.raises(gn.data.DownloadError, match="SHA-256 is .*expected 0{64}"):
        ensure(server, folder, res=dl.Resource("f.bin", md5(DATA), "0" * 64))
    ensure(server, folder, res=dl.Resource("f.bin", None, sha256(DATA)))
    assert (folder / "f.bin").read_bytes() == DATA


def test_root_is_a_file(tmp_path):
    root = tmp_path / "afile"
    root.write_text("x")
    for download in (False, True):
        with pytest.raises(NotADirectoryError, match="root .*afile.* is a file, not a folder"):
            dl.ensure_resources("Set", [resource()], root / "Set" / "raw", [], download, root=root)
    with pytest.raises(NotADirectoryError, match="is a file"):
        gn.data.MNIST(root=root)


def test_root_from_the_environment_is_a_file(tmp_path, monkeypatch):
    f = tmp_path / "afile"
    f.write_text("x")
    monkeypatch.setenv(dl.ENV_VAR, str(f))
    with pytest.raises(NotADirectoryError, match=r"afile' \(from \$GLASSNET_DATA\) is a file"):
        gn.data.MNIST(download=True)


def test_root_not_writable(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(dl.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError, match="cannot write to .*Permission denied.*writable"):
        dl.ensure_resources("Set", [resource()], tmp_path / "raw", ["http://127.0.0.1:1/"], True)


def _drop_root_file_powers():
    # prctl(PR_CAPBSET_DROP, cap): at exec, root keeps only the bounding set
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_root_not_writable_for_real(tmp_path):
    # a read-only folder, refused by the operating system itself; as root (CI's
    # containers) the download runs in a child process without the capabilities
    # that let root write anywhere (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH)
    if not hasattr(os, "geteuid"):
        pytest.skip("POSIX file permissions")
    if os.geteuid() != 0:
        root = tmp_path / "ro"
        root.mkdir()
        root.chmod(0o500)
        try:
            with pytest.raises(PermissionError, match="cannot write to"):
                gn.data.MNIST(root=root, download=True)
        finally:
            root.chmod(0o700)
        return
    base = tempfile.mkdtemp(prefix="glassnet-ro-")
    try:
        root = os.path.join(base, "ro")
        os.mkdir(root, 0o555)
        os.chmod(root, 0o555)
        code = ("import glassnet as gn\n"
                "try:\n"
                f"    gn.data.MNIST(root={root!r}, download=True)\n"
                "except PermissionError as e:\n"
                "    print('PermissionError', e)\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=base, preexec_fn=_drop_root_file_powers, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("PermissionError") and "cannot write to" in out.stdout
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_unknown_data_set_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown data set 'imagenet'; the known ones are "
                                         "mnist, fashion-mnist, cifar10, tiny-shakespeare"):
        gn.data.load_dataset("imagenet")
    assert gn.data.standard.dataset_class("CIFAR-10") is gn.data.CIFAR10
    assert gn.data.standard.dataset_class("fashion_mnist") is gn.data.FashionMNIST


def test_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path / "d"))
    assert gn.data.data_home() == tmp_path / "d"
    monkeypatch.delenv(dl.ENV_VAR)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert gn.data.data_home() == tmp_path / ".cache" / "glassnet"


@pytest.mark.parametrize("entry, msg", [
    (("../f.bin", md5(b"")), "plain name"),
    (("a/f.bin", md5(b"")), "plain name"),
    (("f.bin", None), "no checksum"),
    (("f.bin", "abc"), "MD5 must be 32 hex digits"),
    (("f.bin", None, "x" * 64), "SHA-256 must be 64 hex digits"),
    ("f.bin", "a resource is"),
])
def test_bad_resources(entry, msg):
    with pytest.raises(ValueError, match=msg):
        dl.as_resource(entry)
