"""A one-line progress bar on stderr, only for large files and only on a terminal."""

import sys
import time
from typing import TextIO

THRESHOLD_BYTES = 16 * 1024 * 1024
_MIB = 1024 * 1024


class Progress:
    def __init__(self, total: int | None, label: str, stream: TextIO | None = None):
        self._stream = stream or sys.stderr
        self._total = total
        self._label = label
        self._enabled = bool(total and total >= THRESHOLD_BYTES and self._stream.isatty())
        self._start = time.monotonic()
        self._shown = 0.0

    def __call__(self, done: int) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._shown < 0.1 and done < self._total:
            return
        self._shown = now
        fraction = min(done / self._total, 1.0)
        speed = done / _MIB / max(now - self._start, 1e-6)
        bar = "#" * int(fraction * 30)
        self._stream.write(f"\r{self._label} [{bar:<30}] {fraction:4.0%} {speed:7.1f} MiB/s")
        self._stream.flush()

    def finish(self) -> None:
        if self._enabled:
            self._stream.write("\n")
            self._stream.flush()


class CountingReader:
    """Wraps a reader and reports the bytes read so far to a `Progress`."""

    def __init__(self, reader, progress: Progress):
        self._reader = reader
        self._progress = progress
        self._count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._reader.read(size)
        self._count += len(data)
        self._progress(self._count)
        return data
