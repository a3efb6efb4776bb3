"""File names from reporters, made safe to write on the team's machine.

An attachment's name comes from whoever submitted it. `safe_name` keeps what is harmless and
replaces the rest, so a hostile name still yields a readable file; `create_in` then refuses to
write anywhere but inside the target folder and never replaces an existing file.
"""

import os
import re
import unicodedata
from typing import BinaryIO

from .errors import UnsafeFileName
from .terminal import is_unsafe

MAX_NAME_BYTES = 200
MAX_NUMBER = 100_000  # `name (99999).ext` at most: more than a bundle's items
FALLBACK = "attachment"
# O_EXCL also fails on a dangling symlink, and O_NOFOLLOW on any symlink: nothing outside the
# folder is ever written, and nothing that is there is replaced.
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_FORBIDDEN = re.compile(r'[<>:"|?*\\/]')
_DEVICES = {"con", "prn", "aux", "nul", "conin$", "conout$", "clock$"} | {
    f"{port}{n}" for port in ("com", "lpt") for n in "0123456789¹²³"
}


def safe_name(name: str | None, fallback: str = FALLBACK) -> str:
    """A harmless single file name derived from `name`, in NFC; `safe_name` of it is itself."""
    text = re.split(r"[\\/]", name or "")[-1]  # a path keeps only its last part
    # Control and format characters go, right-to-left overrides included ("gpj.exe" tricks), and
    # so do line and paragraph separators: the same set the terminal escapes (crypto/terminal.py).
    # Only then NFC: what is left may compose anew ("e", ZERO WIDTH SPACE, U+0301 becomes "é").
    text = unicodedata.normalize("NFC", "".join(char for char in text if not is_unsafe(char)))
    text = _FORBIDDEN.sub("_", text).strip(" .")
    if text.startswith("-"):
        text = "_" + text[1:]  # never mistaken for a command-line option
    if text.split(".")[0].strip().lower() in _DEVICES:
        text = "_" + text
    text = _shorten(text)
    return text or fallback


def _shorten(text: str) -> str:
    if len(text.encode("utf-8")) <= MAX_NAME_BYTES:
        return text
    stem, dot, ext = text.rpartition(".")
    if not dot or len(ext.encode("utf-8")) > 16:
        stem, ext = text, ""
    budget = MAX_NAME_BYTES - len(ext.encode("utf-8")) - (1 if ext else 0)
    stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
    # A cut can leave a sequence that NFC writes otherwise; normalised, it must still fit.
    while True:
        stem = unicodedata.normalize("NFC", stem).rstrip(" .")
        if len(stem.encode("utf-8")) <= budget:
            break
        stem = stem[:-1]
    return f"{stem}.{ext}" if ext else stem


def check_plain(name: str) -> str:
    """Accept `name` only if it is already a safe single file name."""
    if not name or safe_name(name, fallback="") != name:
        raise UnsafeFileName(f"Refusing the unsafe file name {name!r}.")
    return name


def numbered(name: str, number: int) -> str:
    """`name` itself for 1, else `name (number)` before its extension: `poc (2).py`."""
    if number == 1:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, dot, ext = name, "", ""
    return f"{stem} ({number}){dot}{ext}"


def new_file(path: str | os.PathLike, dir_fd: int | None = None) -> int:
    """A new file, mode 0600 whatever the umask, opened for writing: never through a link, never
    replacing anything (FileExistsError). `path` is relative to `dir_fd` when that is given."""
    fd = os.open(path, NEW_FILE, 0o600, dir_fd=dir_fd)
    try:
        os.fchmod(fd, 0o600)  # the umask may have taken bits away; exactly 0600 it is
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_in(folder: str | os.PathLike | int, name: str, first: int = 1) -> tuple[str, int, BinaryIO]:
    """Create a new file `name` (or `name (2)`, …, from number `first`) in `folder`, a path or an
    open folder's descriptor, mode 0600. Returns the name it got, its number and the open file."""
    check_plain(name)
    for number in range(first, MAX_NUMBER):
        candidate = numbered(name, number)
        try:
            if isinstance(folder, int):
                fd = new_file(candidate, dir_fd=folder)
            else:
                fd = new_file(os.path.join(folder, candidate))
        except FileExistsError:
            continue
        return candidate, number, os.fdopen(fd, "wb")
    raise UnsafeFileName(f"Too many files named {name!r}.")
