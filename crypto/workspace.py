"""Where `meldpunt-team open` writes: one folder, the team member's alone, emptied again on failure.

The folder is new or empty: a new one is created, an empty one is taken over. Either way it is made
0700 before anything else is checked or written, so from then on no one else can add to it, then
found empty; every folder in it is made by this run with mkdir (an entry it did not make is never
taken over) and every file created 0600 with O_EXCL, always relative to the descriptor of an open
folder and never through a link. If the run fails in any way (an error, a full disk, Ctrl-C,
SIGTERM), everything it wrote is removed again, and the folder too if the run created it; an
existing folder gets its old mode back.
"""

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import OutputNotEmpty, UnusableOutput
from .names import create_in, new_file

_FOLDER = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


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
    """Use as `with Workspace(folder) as space:`; leaving the block by an exception undoes it all,
    unless `commit()` was called.

    `settle`, if given, is called when the run can no longer be undone by an interruption: at
    `commit()`, and when `discard()` begins, so that a signal arriving then cannot cut it short.
    """

    def __init__(self, folder: str | os.PathLike, settle: Callable[[], None] | None = None):
        self.root = check_output(folder)
        self._settle = settle
        self._fd: int | None = None
        self._created = False
        self._committed = False
        self._old_mode: int | None = None
        self._made: list[str] = []  # what this run made in the root; deeper entries go with theirs
        self._folders: set[Path] = set()
        self._next: dict[tuple[Path, str], int] = {}  # the next number to try for a name in a folder

    def __enter__(self) -> "Workspace":
        try:
            self._take()
        except BaseException:
            self.discard()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and not self._committed:
            self.discard()
        else:
            self._close()

    def _take(self) -> None:
        try:
            os.mkdir(self.root, 0o700)
            self._created = True
        except FileExistsError:
            pass
        try:
            self._fd = os.open(self.root, _FOLDER)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            # A link or a file where the folder was checked a moment ago.
            raise UnusableOutput(f"{self.root} changed since it was checked; choose a new or empty folder.") from None
        if not self._created:
            self._old_mode = stat.S_IMODE(os.fstat(self._fd).st_mode)
        os.fchmod(self._fd, 0o700)  # first of all (mkdir's mode passes through the umask)
        if not self._created and os.listdir(self._fd):
            raise OutputNotEmpty(f"{self.root} is not empty any more; choose a new or empty folder.")

    def commit(self) -> None:
        """The run is complete: what it wrote stays, and an interruption from now on is only noted."""
        if self._settle is not None:
            self._settle()
        self._committed = True

    def folder(self, parent: Path, name: str) -> Path:
        """The folder `name` in `parent`, made 0700 by this run (at its first call)."""
        path = parent / name
        if path in self._folders:
            return path
        with self._directory(parent) as fd:
            os.mkdir(name, 0o700, dir_fd=fd)  # FileExistsError if anything is there: never taken over
            self._note(path)
            made = os.open(name, _FOLDER, dir_fd=fd)
            try:
                os.fchmod(made, 0o700)  # mkdir's mode passes through the umask
            finally:
                os.close(made)
        self._folders.add(path)
        return path

    def new_file(self, parent: Path, name: str) -> tuple[Path, BinaryIO]:
        """A new file 0600 in a folder of this run: `name`, or `name (2)` and so on if that exists.

        The next number to try is kept per folder and name, so a thousand files of the same name
        cost a thousand creations, not half a million attempts.
        """
        key = (parent, name)
        with self._directory(parent) as fd:
            made, number, handle = create_in(fd, name, self._next.get(key, 1))
        self._next[key] = number + 1
        path = parent / made
        self._note(path)
        return path, handle

    def exact_file(self, parent: Path, name: str) -> BinaryIO:
        """A new file 0600 named exactly `name`; an existing one is an error, never replaced."""
        with self._directory(parent) as fd:
            handle = os.fdopen(new_file(name, dir_fd=fd), "wb")
        self._note(parent / name)  # only now: the name may be someone else's file, which O_EXCL refused
        return handle

    def forget(self, path: Path) -> None:
        """Remove a file or folder this run wrote, now (a failed item's partial plaintext)."""
        with self._directory(path.parent) as fd, contextlib.suppress(FileNotFoundError):
            _remove(fd, path.name)
        if path.parent == self.root and path.name in self._made:
            self._made.remove(path.name)
        self._folders = {folder for folder in self._folders if folder != path and path not in folder.parents}

    def discard(self) -> None:
        """Remove everything this run wrote; the folder too if the run made it.

        It runs to its end: an interruption that slips in before `settle` took effect starts it over.
        """
        for _ in range(3):
            try:
                if self._settle is not None:
                    self._settle()
                self._undo()
                return
            except BaseException:  # noqa: BLE001, S112  (a signal's KeyboardInterrupt: tidy up all the same)
                continue

    def _undo(self) -> None:
        if self._fd is None:
            if self._created:
                with contextlib.suppress(OSError):
                    os.rmdir(self.root)
            return
        names = list(self._made)
        if self._created:  # all in it is this run's, whatever a signal kept from being noted
            with contextlib.suppress(OSError):
                names = os.listdir(self._fd)
        for name in names:
            with contextlib.suppress(OSError):
                _remove(self._fd, name)
        self._made.clear()
        if self._old_mode is not None:
            with contextlib.suppress(OSError):
                os.fchmod(self._fd, self._old_mode)
        self._close()
        if self._created:
            with contextlib.suppress(OSError):
                os.rmdir(self.root)

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    @contextlib.contextmanager
    def _directory(self, path: Path) -> Iterator[int]:
        """An open descriptor of `path`, a folder of this run, each step opened without following a link."""
        if self._fd is None:
            raise ValueError("the workspace is not open")
        fd = self._fd
        try:
            for part in path.relative_to(self.root).parts:
                inner = os.open(part, _FOLDER, dir_fd=fd)
                if fd != self._fd:
                    os.close(fd)
                fd = inner
            yield fd
        finally:
            if fd != self._fd:
                os.close(fd)

    def _note(self, path: Path) -> None:
        if path.parent == self.root:  # deeper paths go with the folder they are in
            self._made.append(path.name)


def _remove(fd: int, name: str) -> None:
    """Remove the file, link or folder `name` in the open folder `fd`, without following links."""
    if stat.S_ISDIR(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
        shutil.rmtree(name, ignore_errors=True, dir_fd=fd)  # as much as can be: best effort, like `rm -rf`
    else:
        os.unlink(name, dir_fd=fd)
