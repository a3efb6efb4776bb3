"""File names from reporters, made safe to write on the team's machine.

An attachment's name comes from whoever submitted it. `safe_name` keeps what is harmless and
replaces the rest, so a hostile name still yields a readable file; `create_in` then refuses to
write anywhere but inside the target folder and never replaces an existing file.
"""

import os
import re
import unicodedata
from pathlib import Path
from typing import BinaryIO

from .errors import UnsafeFileName
from .terminal import UNSAFE_CATEGORIES

MAX_NAME_BYTES = 200
FALLBACK = "attachment"
_FORBIDDEN = re.compile(r'[<>:"|?*\\/]')
_DEVICES = {"con", "prn", "aux", "nul", "conin$", "conout$", "clock$"} | {
    f"{port}{n}" for port in ("com", "lpt") for n in "0123456789¹²³"
}


def safe_name(name: str | None, fallback: str = FALLBACK) -> str:
    """A harmless single file name derived from `name`."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[\\/]", text)[-1]  # a path keeps only its last part
    # Control and format characters go, right-to-left overrides included ("gpj.exe" tricks), and
    # so do line and paragraph separators: the same set the terminal escapes (crypto/terminal.py).
    text = "".join(ch for ch in text if unicodedata.category(ch) not in UNSAFE_CATEGORIES)
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
    stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(" .")
    return f"{stem}.{ext}" if ext else stem


def check_plain(name: str) -> str:
    """Accept `name` only if it is already a safe single file name."""
    if not name or safe_name(name, fallback="") != name:
        raise UnsafeFileName(f"Refusing the unsafe file name {name!r}.")
    return name


def create_in(folder: Path, name: str) -> tuple[Path, BinaryIO]:
    """Create a new file named `name` (or `name (2)`, …) inside `folder`, mode 0600."""
    check_plain(name)
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, dot, ext = name, "", ""
    for attempt in range(1, 10_000):
        candidate = name if attempt == 1 else f"{stem} ({attempt}){dot}{ext}"
        path = folder / candidate
        try:
            # O_EXCL also fails on a dangling symlink, so nothing outside `folder` is ever written.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            continue
        return path, os.fdopen(fd, "wb")
    raise UnsafeFileName(f"Too many files named {name!r}.")
