"""Where `meldpunt-team open` writes: one folder, the team member's alone, emptied again on failure.

The folder is new or empty: a new one is created, an empty one is taken over; either way it is
made 0700, every file in it 0600 and every folder 0700, whatever the umask says. If the run fails
in any way (an error, a full disk, Ctrl-C, SIGTERM), everything it wrote is removed again, and the
folder too if the run created it; an existing folder gets its old mode back.
"""

import contextlib
import os
import shutil
import stat
from pathlib import Path
from typing import BinaryIO

from .errors import OutputNotEmpty, UnusableOutput
from .names import create_in

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def check_output(folder: str | os.PathLike) -> Path:
    """The real path of `folder` if it can take the output; said before any passphrase is asked."""
    given = Path(folder)
    real = Path(os.path.realpath(given))
    if real.is_dir():
        if any(real.iterdir()):
            raise OutputNotEmpty(f"{given} already exists and is not empty; choose a new or empty folder.")
        return real
    if os.path.lexists(real):
        raise UnusableOutput(f"{given} is not a folder; choose a new or empty folder.")
    if os.path.lexists(given) or os.path.islink(real):
        raise UnusableOutput(f"{given} is a link to {real}, which does not exist; choose a new or empty folder.")
    if not real.parent.is_dir():
        raise UnusableOutput(f"{real.parent} does not exist; open makes the output folder, not its parents.")
    return real


class Workspace:
    """Use as `with Workspace(folder) as space:`; leaving the block by an exception undoes it all."""

    def __init__(self, folder: str | os.PathLike):
        self.root = check_output(folder)
        self._created = False
        self._old_mode: int | None = None
        self._made: list[Path] = []

    def __enter__(self) -> "Workspace":
        try:
            self.root.mkdir(mode=0o700)
            self._created = True
        except FileExistsError:
            self.root = check_output(self.root)  # it appeared since the first check: empty still?
            self._old_mode = stat.S_IMODE(self.root.stat().st_mode)
        os.chmod(self.root, 0o700)  # mkdir's mode passes through the umask
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.discard()

    def folder(self, parent: Path, name: str) -> Path:
        """The folder `name` in `parent`, made 0700 if it is not there yet."""
        path = parent / name
        if not path.is_dir():
            path.mkdir(mode=0o700)
            os.chmod(path, 0o700)
            self._remember(path)
        return path

    def new_file(self, parent: Path, name: str) -> tuple[Path, BinaryIO]:
        """A new file 0600: `name`, or `name (2)` and so on if that exists (crypto/names.py)."""
        path, handle = create_in(parent, name)
        self._remember(path)
        os.fchmod(handle.fileno(), 0o600)
        return path, handle

    def exact_file(self, parent: Path, name: str) -> BinaryIO:
        """A new file 0600 named exactly `name`; an existing one is an error, never replaced."""
        path = parent / name
        fd = os.open(path, _NEW_FILE, 0o600)
        self._remember(path)  # only now: the path may be someone else's file, which O_EXCL refused
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, "wb")

    def forget(self, path: Path) -> None:
        """Remove a file or folder this run wrote, now (a failed item's partial plaintext)."""
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def discard(self) -> None:
        """Remove everything this run wrote; the folder too if the run made it."""
        if self._created:
            shutil.rmtree(self.root, ignore_errors=True)
            return
        # The failure that brought us here is the one to report; tidy up as much as can be.
        for path in reversed(self._made):
            with contextlib.suppress(OSError):
                self.forget(path)
        if self._old_mode is not None:
            with contextlib.suppress(OSError):
                os.chmod(self.root, self._old_mode)

    def _remember(self, path: Path) -> None:
        if path.parent == self.root:  # deeper paths go with the folder they are in
            self._made.append(path)
