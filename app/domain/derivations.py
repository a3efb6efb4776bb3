"""A cap on concurrent argon2id derivations (64 MiB or more each): a burst of sign-ins or
submissions waits briefly for a slot and is then refused with `Busy`, instead of exhausting memory."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import Busy

WAIT_SECONDS = 10


class DerivationLimit:
    def __init__(self, at_once: int, wait_seconds: float = WAIT_SECONDS):
        self._slots = threading.BoundedSemaphore(at_once)
        self._wait = wait_seconds

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self._wait):
            raise Busy()
        try:
            yield
        finally:
            self._slots.release()
