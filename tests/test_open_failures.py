"""`meldpunt-team open` at every point where it can fail, as the team runs it: a child process.

After each failure no file anywhere under the test's folder (hidden ones included) may hold a
byte of plaintext, and the output is absent, or empty as it was before (crypto/workspace.py).
"""

import io
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from crypto import CryptoError, Meta, PrivateKey, report, seal_bytes
from crypto.bundle import BundleWriter
from crypto.keyfile import TeamKey
from crypto.unpack import MAX_TEXT_BYTES, unpack
from crypto.workspace import Workspace

from .bundles import DAY
from .conftest import TEAM_PASSPHRASE, VECTORS

pytestmark = pytest.mark.slow  # every test runs the CLI with a 256 MiB argon2id key

MARKER = b"PLAINTEXT-MARKER-4b1d"
FIELDS = {"title": f"Title {MARKER.decode()}", "description": f"Described {MARKER.decode()}", "exploited": "no"}
MIB = 1024 * 1024


def make_bundle(path: Path, team: PrivateKey, attachment: int = 1000, message: int = 100, messages: int = 1) -> Path:
    """A bundle whose every item holds MARKER: a report, an attachment, and `messages` messages of
    about `message` bytes each."""
    both = [team.public]
    with path.open("wb") as target, BundleWriter(target, "MP-7KQ2-X9FD", "received", DAY) as bundle:
        first = bundle.add("report", io.BytesIO(seal_bytes(report.encode(FIELDS), both, Meta("report"))), DAY)
        body = (MARKER + b" ") * (attachment // (len(MARKER) + 1) + 1)
        bundle.add("attachment", io.BytesIO(seal_bytes(body, both, Meta("attachment", name="poc.bin"))), DAY, first)
        text = (MARKER + b"\n") * (message // (len(MARKER) + 1))
        for _ in range(messages):
            bundle.add("message", io.BytesIO(seal_bytes(text or MARKER, both, Meta("message"))), DAY)
    return path


def open_cli(
    bundle, output, key_dir, cwd=None, preexec_fn=None, passphrase=None, program=None
) -> subprocess.CompletedProcess:
    command = program or [sys.executable, "-m", "crypto.cli"]
    secret = passphrase or key_dir / "passphrase"
    args = ["open", bundle, "--key", key_dir / "team.key", "--passphrase-file", secret, "-o", output]
    return subprocess.run(
        [*command, *map(str, args)],
        capture_output=True,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        preexec_fn=preexec_fn,  # the umask and file size limit are the child's own
        timeout=120,
    )


def assert_refused(result, fragment: str, code: int = 1) -> None:
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert fragment.lower() in stderr.lower(), stderr


def assert_no_plaintext(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            assert MARKER not in path.read_bytes(), f"plaintext left in {path}"


def assert_private(folder: Path) -> None:
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


@pytest.fixture
def bundle(tmp_path, team_file_key):
    return make_bundle(tmp_path / "b.zip", team_file_key)


# --- where the output goes ----------------------------------------------------------------


def test_dot_in_an_empty_folder_works_with_the_entry_point(tmp_path, bundle, key_dir):
    program = Path(sys.executable).parent / "meldpunt-team"
    if not program.exists():
        pytest.skip("the meldpunt-team entry point is not installed in this environment")
    work = tmp_path / "work"
    work.mkdir(mode=0o755)
    result = open_cli(bundle, ".", key_dir, cwd=work, program=[str(program)])
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == str(work / "report.md")
    assert sorted(p.name for p in work.iterdir()) == ["attachments", "report.md"]
    assert_private(work)  # an existing empty folder is made 0700 too


def test_dot_in_a_folder_with_files_is_refused(tmp_path, bundle, key_dir):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    assert_refused(open_cli(bundle, ".", key_dir, cwd=work), "already exists and is not empty")
    assert [p.name for p in work.iterdir()] == ["notes.txt"]
    assert_no_plaintext(tmp_path)


def test_a_link_to_an_empty_folder_writes_into_the_real_folder(tmp_path, bundle, key_dir):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    result = open_cli(bundle, tmp_path / "link", key_dir)
    assert result.returncode == 0, result.stderr.decode()
    assert (tmp_path / "link").is_symlink()
    assert (tmp_path / "real" / "report.md").is_file()
    assert_private(tmp_path / "real")
    assert not list(tmp_path.glob(".*"))
    with pytest.raises(AssertionError, match="plaintext left"):  # the scan the failure tests rely on finds it
        assert_no_plaintext(tmp_path)


def test_a_dangling_link_is_refused(tmp_path, bundle, key_dir):
    (tmp_path / "link").symlink_to(tmp_path / "missing")
    assert_refused(open_cli(bundle, tmp_path / "link", key_dir), "which does not exist")
    assert not (tmp_path / "missing").exists()
    assert_no_plaintext(tmp_path)


def test_a_missing_parent_is_refused(tmp_path, bundle, key_dir):
    assert_refused(open_cli(bundle, tmp_path / "no" / "such" / "out", key_dir), "does not exist")
    assert not (tmp_path / "no").exists()
    assert_no_plaintext(tmp_path)


def test_a_file_as_output_is_refused(tmp_path, bundle, key_dir):
    (tmp_path / "out").write_text("keep")
    assert_refused(open_cli(bundle, tmp_path / "out", key_dir), "is not a folder")
    assert (tmp_path / "out").read_text() == "keep"
    assert_no_plaintext(tmp_path)


def test_a_folder_with_files_is_refused(tmp_path, bundle, key_dir):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".hidden").write_text("keep")
    assert_refused(open_cli(bundle, tmp_path / "out", key_dir), "already exists and is not empty")
    assert [p.name for p in (tmp_path / "out").iterdir()] == [".hidden"]
    assert_no_plaintext(tmp_path)


@pytest.mark.parametrize("umask", [0o000, 0o777])
def test_modes_whatever_the_umask(tmp_path, bundle, key_dir, umask):
    result = open_cli(bundle, tmp_path / "out", key_dir, preexec_fn=lambda: os.umask(umask))
    assert result.returncode == 0, result.stderr.decode()
    assert_private(tmp_path / "out")


# --- what is opened -----------------------------------------------------------------------


def test_a_wrong_passphrase_writes_nothing(tmp_path, bundle, key_dir):
    (tmp_path / "wrong").write_text(TEAM_PASSPHRASE + "!\n")
    result = open_cli(bundle, tmp_path / "out", key_dir, passphrase=tmp_path / "wrong")
    assert_refused(result, "passphrase does not open")
    assert not (tmp_path / "out").exists()
    assert_no_plaintext(tmp_path)


def test_not_a_zip_writes_nothing(tmp_path, key_dir):
    (tmp_path / "b.zip").write_bytes(b"<html>session expired</html>")
    assert_refused(open_cli(tmp_path / "b.zip", tmp_path / "out", key_dir), "not a readable")
    assert not (tmp_path / "out").exists()


def test_a_bad_manifest_writes_nothing(tmp_path, bundle, key_dir):
    with zipfile.ZipFile(bundle) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as archive:
        for info, data in members:
            if info.filename == "manifest.json":
                data = data.replace(b'"version": 1', b'"version": true')
            archive.writestr(info, data)
    assert_refused(open_cli(tmp_path / "bad.zip", tmp_path / "out", key_dir), "version")
    assert not (tmp_path / "out").exists()
    assert_no_plaintext(tmp_path)


def test_one_item_of_each_bad_kind_among_good_ones(tmp_path, team_file_key, key_dir):
    both, stranger = [team_file_key.public], PrivateKey.generate()
    with (tmp_path / "b.zip").open("wb") as target, BundleWriter(target, "MP-1", "received", DAY) as writer:

        def add(kind, body, meta, parent=None):
            return writer.add(kind, io.BytesIO(seal_bytes(body, both, meta)), DAY, parent)

        first = add("report", b"[not, json", Meta("report"))
        add("attachment", MARKER, Meta("attachment", name="kept.txt"), first)  # its report failed
        add("message", MARKER * (MAX_TEXT_BYTES // len(MARKER) + 1), Meta("message"))  # over-long
        writer.add("message", io.BytesIO(seal_bytes(b"x", [stranger.public], Meta("message"))), DAY)
        add("message", b"a reply in disguise", Meta("reply"))
        damaged = bytearray(seal_bytes(MARKER, both, Meta("message")))
        damaged[30] ^= 1  # inside the recipient stanza
        writer.add("message", io.BytesIO(bytes(damaged)), DAY)
        add("message", MARKER, Meta("message"))  # its hash is made wrong below
        good = add("message", b"Good message " + MARKER, Meta("message"))
        add("attachment", MARKER, Meta("attachment", name="also-kept.txt"), good)
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as archive:
        for info, data in members:
            if info.filename == "manifest.json":
                manifest = json.loads(data)
                manifest["items"][6]["sha256"] = "0" * 64
                data = json.dumps(manifest).encode()
            archive.writestr(info, data)
    result = open_cli(tmp_path / "b.zip", tmp_path / "out", key_dir)
    stderr = result.stderr.decode()
    assert result.returncode == 3, stderr
    assert "Traceback" not in stderr
    assert "opened with 6 failures" in stderr
    for number in ["0001.mpe (report", *(f"000{n}.mpe (message" for n in range(3, 8))]:
        assert number in stderr
    assert "not valid JSON" in stderr
    assert "too long for a message" in stderr
    assert "not encrypted to this key" in stderr
    assert "is a reply, not a message" in stderr
    assert "header has been changed" in stderr
    assert "does not match its hash" in stderr
    text = (tmp_path / "out" / "report.md").read_text()
    assert "## Could not be opened" in text
    assert "Good message" in text
    assert sorted(p.name for p in (tmp_path / "out" / "attachments").iterdir()) == ["also-kept.txt", "kept.txt"]
    assert text.count(MARKER.decode()) == 1  # the good message; the over-long one is not written


@pytest.fixture(scope="module")
def vector_key(tmp_path_factory) -> Path:
    """A key file around the bundle vectors' team key, for the CLI."""
    case = json.loads((VECTORS / "bundle" / "vectors.json").read_text())[0]
    folder = tmp_path_factory.mktemp("vector-key")
    TeamKey(bytes.fromhex(case["secret_key"])).save(folder / "team.key", TEAM_PASSPHRASE)
    (folder / "passphrase").write_text(TEAM_PASSPHRASE + "\n")
    return folder


def test_a_collection_opens_one_folder_per_report(tmp_path, vector_key):
    result = open_cli(VECTORS / "bundle" / "collection-ok.zip", tmp_path / "out", vector_key)
    assert result.returncode == 0, result.stderr.decode()
    folder = tmp_path / "out"
    assert result.stdout.decode().split() == [
        str(folder / ref / "report.md") for ref in ("MP-7KQ2-X9FD", "MP-ABCD-2345")
    ]
    assert_private(folder)


def test_a_collection_with_a_bad_bundle_opens_the_others(tmp_path, vector_key):
    result = open_cli(VECTORS / "bundle" / "collection-wrong-reference.zip", tmp_path / "out", vector_key)
    assert result.returncode == 3, result.stderr.decode()
    assert "MP-WXYZ-6789.zip: It holds the bundle of MP-ABCD-2345" in result.stderr.decode()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["MP-7KQ2-X9FD", "failures.md"]


def test_a_collection_with_a_stray_member_writes_nothing(tmp_path, vector_key):
    result = open_cli(VECTORS / "bundle" / "collection-stray-member.zip", tmp_path / "out", vector_key)
    assert_refused(result, "not a bundle, 'notes.txt'")
    assert not (tmp_path / "out").exists()


# --- the machine fails ------------------------------------------------------------------


def _file_size_limit(limit: int):
    def limit_writes() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_writes


# Writing report.md: texts shorter than MAX_TEXT_BYTES each, longer than the limit together.
@pytest.mark.parametrize(
    ("attachment", "messages"),
    [(4 * MIB, 1), (100, 3)],
    ids=["mid-attachment", "writing-report-md"],
)
def test_file_size_limit(tmp_path, team_file_key, key_dir, attachment, messages):
    message = 100 if messages == 1 else MAX_TEXT_BYTES * 3 // 4
    bundle = make_bundle(tmp_path / "b.zip", team_file_key, attachment=attachment, message=message, messages=messages)
    result = open_cli(bundle, tmp_path / "out", key_dir, preexec_fn=_file_size_limit(MIB))
    assert_refused(result, "File too large")
    assert "nothing decrypted was kept" in result.stderr.decode()
    assert not (tmp_path / "out").exists()
    assert_no_plaintext(tmp_path)


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir(mode=0o750)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0750", "tmpfs", mount], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a small tmpfs is not permitted here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", mount], check=True)


@pytest.mark.parametrize(
    ("attachment", "messages"),
    [(4 * MIB, 1), (100, 4)],
    ids=["mid-attachment", "writing-report-md"],
)
@pytest.mark.parametrize("existing", [False, True], ids=["new-folder", "empty-folder"])
def test_disk_full(tmp_path, team_file_key, key_dir, small_disk, attachment, messages, existing):
    message = 100 if messages == 1 else MAX_TEXT_BYTES * 3 // 4
    bundle = make_bundle(tmp_path / "b.zip", team_file_key, attachment=attachment, message=message, messages=messages)
    out = small_disk if existing else small_disk / "out"
    result = open_cli(bundle, out, key_dir)
    assert_refused(result, "No space left on device")
    if existing:
        assert list(out.iterdir()) == []
        assert stat.S_IMODE(out.stat().st_mode) == 0o750  # as it was
    else:
        assert not out.exists()
    assert_no_plaintext(tmp_path)


@pytest.mark.parametrize(
    ("number", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_a_signal_mid_decrypt_removes_everything(tmp_path, team_file_key, key_dir, number, code):
    bundle = make_bundle(tmp_path / "b.zip", team_file_key, attachment=64 * MIB)
    out = tmp_path / "out"
    args = ["open", bundle, "--key", key_dir / "team.key", "--passphrase-file", key_dir / "passphrase", "-o", out]
    child = subprocess.Popen(
        [sys.executable, "-m", "crypto.cli", *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not (out / "attachments").is_dir() or not any((out / "attachments").iterdir()):
        assert child.poll() is None, child.stderr.read().decode()
        assert time.monotonic() < deadline, "no attachment appeared"
        time.sleep(0.001)
    child.send_signal(number)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == code, stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert not out.exists()
    assert_no_plaintext(tmp_path)


# --- nothing opened, and a collection's failures ----------------------------------------------


@pytest.mark.parametrize("existing", [False, True], ids=["new-folder", "empty-folder"])
@pytest.mark.parametrize("source", ["nothing-opened.zip", "collection-nothing-opened.zip"])
def test_when_nothing_opens_nothing_is_kept(tmp_path, vector_key, source, existing):
    """Every item (or every bundle) failed: exit 1, the reasons listed, and no folder full of nothing."""
    out = tmp_path / "out"
    if existing:
        out.mkdir(mode=0o750)
        out.chmod(0o750)
    result = open_cli(VECTORS / "bundle" / source, out, vector_key)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    first, *listed = stderr.splitlines()
    assert first.startswith("meldpunt-team: None of the "), first
    assert first.endswith("; nothing decrypted was kept."), first
    assert listed
    assert all(line.startswith("  ") for line in listed)
    assert "not encrypted to this key" in stderr
    assert result.stdout == b""
    if existing:
        assert list(out.iterdir()) == []
        assert stat.S_IMODE(out.stat().st_mode) == 0o750
    else:
        assert not out.exists()


def test_a_collections_failures_are_said_where_they_are(tmp_path, vector_key):
    result = open_cli(VECTORS / "bundle" / "collection-wrong-reference.zip", tmp_path / "out", vector_key)
    stderr = result.stderr.decode()
    assert result.returncode == 3, stderr
    assert f"listed here and in {tmp_path / 'out' / 'failures.md'};" in stderr
    assert "report.md" not in stderr
    page = (tmp_path / "out" / "failures.md").read_text()
    assert "- `MP-WXYZ-6789.zip`: `It holds the bundle of MP-ABCD-2345, not of MP-WXYZ-6789.`" in page
    assert_private(tmp_path / "out")


def test_a_bundle_with_a_broken_layout_in_a_collection_fails_alone(tmp_path, vector_key):
    """The collection's own zip is sound; one bundle in it has overlapping members."""
    result = open_cli(VECTORS / "bundle" / "collection-bundle-overlapping.zip", tmp_path / "out", vector_key)
    stderr = result.stderr.decode()
    assert result.returncode == 3, stderr
    assert "MP-WXYZ-6789.zip: The bundle's files overlap or lie outside it" in stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["MP-7KQ2-X9FD", "failures.md"]


@pytest.mark.parametrize("source", ["member-before-start.zip", "collection-member-outside.zip"])
def test_offsets_outside_the_zip_are_the_bundles_fault(tmp_path, vector_key, source):
    """zipfile sought to a negative offset (OSError): the CLI blamed the machine ("Opening stopped")."""
    result = open_cli(VECTORS / "bundle" / source, tmp_path / "out", vector_key)
    assert_refused(result, "overlap or lie outside it")
    assert "Opening stopped" not in result.stderr.decode()
    assert not (tmp_path / "out").exists()


# --- memory -------------------------------------------------------------------------------

# VmHWM, the peak resident set of this process image: ru_maxrss would include the test process's
# own peak (argon2 at 256 MiB), carried into the child across fork and exec.
PEAK = """
import sys
from crypto import PrivateKey
from crypto.unpack import unpack
opened = unpack(sys.argv[1], PrivateKey(bytes.fromhex(sys.argv[2])), sys.argv[3])
assert not opened.failures, opened.failures
with open("/proc/self/status") as status:
    print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc/self/status")
def test_memory_stays_bounded_with_many_long_hostile_texts(tmp_path):
    """Texts of the longest size open takes, made of what report.md shows four characters for:
    whole-page rendering with a Python object per character took 1.27 GB for one such text of
    16 MiB, and every further text added to it. A child process without argon2 measures `open`."""
    team = PrivateKey.generate()
    both = [team.public]
    fields = {"title": "x", "description": "\x85" * (MAX_TEXT_BYTES // 2 - 64), "steps": "\x1b"}
    with (tmp_path / "b.zip").open("wb") as target, BundleWriter(target, "MP-1", "received", DAY) as bundle:
        bundle.add("report", io.BytesIO(seal_bytes(report.encode(fields), both, Meta("report"))), DAY)
        nul = seal_bytes(b"\0" * MAX_TEXT_BYTES, both, Meta("message"))
        for _ in range(8):
            bundle.add("message", io.BytesIO(nul), DAY)
    result = subprocess.run(
        [sys.executable, "-c", PEAK, tmp_path / "b.zip", team.secret_bytes().hex(), tmp_path / "out"],
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode()
    peak_mib = int(result.stdout) / 1024  # VmHWM is in kB
    assert peak_mib < 200, peak_mib
    page = (tmp_path / "out" / "report.md").read_bytes()
    assert page.count(b"\\x00") == 8 * MAX_TEXT_BYTES


# --- the output folder: links and races -----------------------------------------------------


def _two_folders(tmp_path: Path) -> tuple[Path, Path]:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    out.chmod(0o777)  # world-writable: another local user can plant a link in it
    elsewhere.mkdir()
    return out, elsewhere


def test_a_link_planted_before_the_folder_is_made_private_is_refused(tmp_path, monkeypatch):
    """The folder is made 0700 before it is found empty: an `attachments` link that another user
    planted in it until then is seen, and nothing is written through it."""
    team = PrivateKey.generate()
    bundle = make_bundle(tmp_path / "b.zip", team)
    out, elsewhere = _two_folders(tmp_path)
    real_chmod, real_fchmod = os.chmod, os.fchmod

    def plant() -> None:
        if not os.path.lexists(out / "attachments"):
            (out / "attachments").symlink_to(elsewhere)

    def chmod(path, mode, *args, **kwargs):
        if Path(path) == out:
            plant()
        return real_chmod(path, mode, *args, **kwargs)

    def fchmod(fd, mode):
        if os.path.samestat(os.fstat(fd), os.stat(out)):
            plant()
        return real_fchmod(fd, mode)

    monkeypatch.setattr(os, "chmod", chmod)
    monkeypatch.setattr(os, "fchmod", fchmod)
    with pytest.raises(CryptoError):
        unpack(bundle, team, out)
    monkeypatch.undo()
    assert list(elsewhere.iterdir()) == []
    assert [path.name for path in out.iterdir()] == ["attachments"]  # the planted link, left alone
    assert stat.S_IMODE(out.stat().st_mode) == 0o777


def test_an_entry_the_run_did_not_make_is_never_taken_over(tmp_path, monkeypatch):
    """`attachments` appearing in the output folder after the checks (a link) is not written into:
    every folder is made by mkdir, never found and used."""
    team = PrivateKey.generate()
    bundle = make_bundle(tmp_path / "b.zip", team)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    real_folder = Workspace.folder

    def folder(space, parent, name):
        if name == "attachments" and not os.path.lexists(parent / name):
            (parent / name).symlink_to(elsewhere)
        return real_folder(space, parent, name)

    monkeypatch.setattr(Workspace, "folder", folder)
    with pytest.raises(OSError, match="File exists"):
        unpack(bundle, team, out)
    assert list(elsewhere.iterdir()) == []
    assert not out.exists()


# --- signals at the edges of the run --------------------------------------------------------

# Runs the CLI's main() in a child after `patch`, which makes a signal arrive at a chosen moment.
SIGNALLED = """
import os, shutil, signal, sys
import crypto.cli
{patch}
sys.exit(crypto.cli.main(sys.argv[1:]))
"""


def _signalled(patch: str, bundle: Path, out: Path, key_dir: Path, preexec_fn=None) -> subprocess.CompletedProcess:
    args = ["open", bundle, "--key", key_dir / "team.key", "--passphrase-file", key_dir / "passphrase", "-o", out]
    return subprocess.run(
        [sys.executable, "-c", SIGNALLED.format(patch=patch), *map(str, args)],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        preexec_fn=preexec_fn,
        timeout=120,
    )


def test_a_signal_after_the_run_is_complete_is_no_failure(tmp_path, bundle, key_dir):
    """SIGTERM right after unpack returned: the output is complete and stays, so the run succeeded
    (it used to say "Terminated." with exit 143 and keep everything)."""
    patch = """
real = crypto.cli.unpack
def unpack(*args, **kwargs):
    opened = real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGTERM)
    return opened
crypto.cli.unpack = unpack
"""
    result = _signalled(patch, bundle, tmp_path / "out", key_dir)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == str(tmp_path / "out" / "report.md")
    assert (tmp_path / "out" / "report.md").is_file()


def test_a_signal_during_the_cleanup_does_not_cut_it_short(tmp_path, team_file_key, key_dir):
    """The disk fills in the second attachment; while the first is being removed, SIGTERM arrives."""
    bundle = tmp_path / "b.zip"
    both = [team_file_key.public]
    with bundle.open("wb") as target, BundleWriter(target, "MP-1", "received", DAY) as writer:
        first = writer.add("report", io.BytesIO(seal_bytes(report.encode(FIELDS), both, Meta("report"))), DAY)
        kept = seal_bytes(MARKER * 100, both, Meta("attachment", name="first.bin"))
        writer.add("attachment", io.BytesIO(kept), DAY, first)
        big = seal_bytes(MARKER * (4 * MIB // len(MARKER)), both, Meta("attachment", name="big.bin"))
        writer.add("attachment", io.BytesIO(big), DAY, first)
    patch = """
real = shutil.rmtree
def rmtree(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    return real(*args, **kwargs)
shutil.rmtree = rmtree
"""
    result = _signalled(patch, bundle, tmp_path / "out", key_dir, preexec_fn=_file_size_limit(MIB))
    assert result.returncode in (1, 143), result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()
    assert not (tmp_path / "out").exists()
    assert_no_plaintext(tmp_path)
