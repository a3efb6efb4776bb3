"""A machine-wide cap on concurrent argon2id derivations (64 MiB and a core each, for about 0.2 s).

Every process that uses the same folder shares its slots: `at_once` lock files in that folder,
each slot an exclusive `flock` on one file. The kernel drops a lock when its process dies, so a
worker killed in the middle of a derivation (kill -9, the OOM killer) cannot leak a slot, and
nothing has to be cleaned up after a crash. A request that finds no free slot within a short wait
gets `Busy` (a 503 with Retry-After) before it has stored anything: waiting longer would only hold
one of gunicorn's few threads while the machine is saturated anyway (docs/deployment.md).
"""

import fcntl
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import Busy

# About five derivations' time: a slot that is taken now frees up several times within it, and a
# burst beyond that is refused after one second instead of tying up a thread.
WAIT_SECONDS = 1.0
# Between two rounds over the slot files: a tenth of a derivation, so a freed slot is found soon
# while a waiting thread costs next to no CPU. Jittered so waiting threads do not poll in step.
POLL_SECONDS = 0.02


def cores() -> int:
    """The cores this process may run on (a CPU affinity mask or cpuset counts, unlike cpu_count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class SharedSemaphore:
    """A semaphore of `count` slots for every process that uses the same `folder`.

    Each attempt opens the slot file anew: `flock` locks belong to an open file description, so
    two threads of one process exclude each other only through descriptors of their own. The
    descriptors a thread holds are kept per thread, so `release` takes no argument.
    """

    def __init__(self, folder: Path, count: int):
        if count < 1:
            raise ValueError("a semaphore needs at least one slot")
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._files = [folder / f"derivation-slot-{n}" for n in range(count)]
        self._held = threading.local()

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            descriptor = self._try_any()
            if descriptor is not None:
                self._stack().append(descriptor)
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, POLL_SECONDS * (0.5 + secrets.randbelow(100) / 100)))

    def release(self) -> None:
        stack = self._stack()
        if not stack:
            raise RuntimeError("release() without a slot held by this thread")
        descriptor = stack.pop()
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)

    def _try_any(self) -> int | None:
        start = secrets.randbelow(len(self._files))  # spread the first tries over the slots
        for path in self._files[start:] + self._files[:start]:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return descriptor
            except BlockingIOError:
                os.close(descriptor)
            except BaseException:
                os.close(descriptor)
                raise
        return None

    def _stack(self) -> list[int]:
        if not hasattr(self._held, "stack"):
            self._held.stack = []
        return self._held.stack


class DerivationLimit:
    def __init__(self, folder: Path, at_once: int, wait_seconds: float = WAIT_SECONDS):
        self._slots = SharedSemaphore(folder, at_once)
        self._wait = wait_seconds

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self._wait):
            raise Busy()
        try:
            yield
        finally:
            self._slots.release()
