"""Envelope speed against raw secretstream, and memory for a 1 GiB stream.

    .venv/bin/python bench/crypto_bench.py [--mib 256] [--rss-gib 1]

Prints figures, asserts nothing: goals are a ratio of at least 0.8 against raw PyNaCl secretstream
in the same run, and a flat peak RSS under 64 MiB while sealing and opening 1 GiB.
"""

import argparse
import io
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crypto import Meta, Opener, PrivateKey, Sealer, primitives, spec

MIB = 1024 * 1024
BLOCK = os.urandom(MIB)


class NullSink:
    def write(self, data) -> int:
        return len(data)


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def raw_push(mib: int) -> None:
    pusher = primitives.StreamPusher(bytes(32))
    chunk = BLOCK[: spec.CHUNK_BYTES]
    for _ in range(mib * MIB // spec.CHUNK_BYTES):
        pusher.push(chunk)


def raw_sealed(mib: int) -> tuple[bytes, list[bytes]]:
    pusher = primitives.StreamPusher(bytes(32))
    chunk = BLOCK[: spec.CHUNK_BYTES]
    return pusher.header, [pusher.push(chunk) for _ in range(mib * MIB // spec.CHUNK_BYTES)]


def raw_pull(header: bytes, chunks: list[bytes]) -> None:
    puller = primitives.StreamPuller(bytes(32), header)
    for chunk in chunks:
        puller.pull(chunk)


def seal_stream(mib: int, sink, key: PrivateKey) -> None:
    with Sealer(sink, [key.public], Meta("attachment")) as sealer:
        for _ in range(mib):
            sealer.write(BLOCK)


def open_stream(reader, key: PrivateKey) -> int:
    return sum(len(piece) for piece in Opener(reader, key))


def raw_pull_time(mib: int, runs: int) -> float:
    header, chunks = raw_sealed(mib)  # freed on return, before the envelope runs
    return best_of(runs, lambda: raw_pull(header, chunks))


def speed(mib: int, runs: int) -> None:
    key = PrivateKey.generate()
    raw_push_s = best_of(runs, lambda: raw_push(mib))
    raw_pull_s = raw_pull_time(mib, runs)
    seal_s = best_of(runs, lambda: seal_stream(mib, NullSink(), key))
    buffer = io.BytesIO()
    seal_stream(mib, buffer, key)
    envelope = buffer.getvalue()
    del buffer

    def open_once():
        assert open_stream(io.BytesIO(envelope), key) == mib * MIB

    open_s = best_of(runs, open_once)
    print(f"stream of {mib} MiB, best of {runs} runs")
    print(f"  raw secretstream push     {mib / raw_push_s:8.1f} MiB/s")
    print(f"  raw secretstream pull     {mib / raw_pull_s:8.1f} MiB/s")
    print(f"  meldpunt seal (streaming) {mib / seal_s:8.1f} MiB/s   ratio {raw_push_s / seal_s:.2f} (goal >= 0.80)")
    print(f"  meldpunt open (streaming) {mib / open_s:8.1f} MiB/s   ratio {raw_pull_s / open_s:.2f} (goal >= 0.80)")


def peak_rss_kib() -> int:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def rss_child(gib: int) -> None:
    """Seal `gib` GiB into a pipe while opening it from the other end, in one process."""
    key = PrivateKey.generate()
    baseline = peak_rss_kib()
    read_fd, write_fd = os.pipe()

    def produce():
        with os.fdopen(write_fd, "wb") as sink:
            seal_stream(gib * 1024, sink, key)

    producer = threading.Thread(target=produce)
    producer.start()
    with os.fdopen(read_fd, "rb") as reader:
        total = open_stream(reader, key)
    producer.join()
    assert total == gib * 1024 * MIB
    peak = peak_rss_kib()
    print(f"{baseline / 1024:.1f} {peak / 1024:.1f}")


def rss(gib: int) -> None:
    result = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(gib)], capture_output=True, text=True, check=True
    )
    baseline, peak = map(float, result.stdout.split())
    print(f"seal + open of {gib} GiB through a pipe, in a fresh process")
    growth = peak - baseline
    print(f"  peak RSS {peak:6.1f} MiB   (after imports {baseline:.1f} MiB, growth {growth:.1f} MiB; goal < 64 MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rss-gib", type=int, default=1)
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    speed(args.mib, args.runs)
    rss(args.rss_gib)


if __name__ == "__main__":
    main()
