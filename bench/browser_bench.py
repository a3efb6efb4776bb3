"""Envelope encryption in Chromium (our JavaScript encoder on libsodium.js) against Python's crypto/.

    .venv/bin/python bench/browser_bench.py [--mib 256]

Prints MiB/s for both, measured in this run; the goal for the browser is at least 100 MiB/s.
Asserts nothing.
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crypto import Meta, PrivateKey, Sealer  # noqa: E402  (after ROOT joins sys.path)
from tests.browser import chromium, live_server  # noqa: E402  (after ROOT joins sys.path)

MIB = 1024 * 1024


class NullSink:
    def write(self, data) -> int:
        return len(data)


def python_mib_s(mib: int, key: PrivateKey) -> float:
    block = bytes(range(256)) * 4096
    start = time.perf_counter()
    with Sealer(NullSink(), [key.public], Meta("attachment")) as sealer:
        for _ in range(mib):
            sealer.write(block)
    return mib / (time.perf_counter() - start)


def browser_mib_s(mib: int, key: PrivateKey) -> float:
    from app import create_app
    from app.domain.reports import initialise

    folder = Path(tempfile.mkdtemp())
    try:
        app = create_app(
            {
                "INSTANCE": folder,
                "MELDPUNT_TEAM_KEY": str(key.public),
                "SECRET_KEY": "b" * 40,
                "MELDPUNT_SECURE_COOKIES": False,
            }
        )
        initialise()
        with live_server(app) as base, chromium() as context:
            page = context.new_page()
            page.goto(base + "/report")
            page.wait_for_selector("form[data-enhanced=yes]")
            pow_seconds = page.evaluate(
                """async (bits) => {
                    // The anti-spam work at the default difficulty, for a few fresh challenges.
                    const {sodium} = globalThis.Meldpunt;
                    const times = [];
                    for (let round = 0; round < 5; round++) {
                        const input = new Uint8Array(24);
                        input.set(sodium.randombytes_buf(16));
                        const view = new DataView(input.buffer);
                        const start = performance.now();
                        for (let n = 0; ; n++) {
                            view.setUint32(16, n, true);
                            const d = sodium.crypto_generichash(32, input);
                            let zeros = 0;
                            for (const b of d) {
                                if (b === 0) { zeros += 8; continue; }
                                zeros += Math.clz32(b) - 24;
                                break;
                            }
                            if (zeros >= bits) break;
                        }
                        times.push((performance.now() - start) / 1000);
                    }
                    return times.reduce((a, b) => a + b) / times.length;
                }""",
                18,
            )
            print(f"  proof of work at 18 bits in Chromium: {pow_seconds:.2f} s on average over 5 challenges")
            # Encrypt `mib` MiB read as 1 MiB slices, as sealFile does, discarding the output.
            return page.evaluate(
                """async ([mib, key]) => {
                    const {sodium, envelope} = globalThis.Meldpunt;
                    const block = sodium.randombytes_buf(1024 * 1024);
                    const writer = new envelope.EnvelopeWriter([sodium.from_hex(key)], {kind: "attachment"});
                    const start = performance.now();
                    let bytes = 0;
                    for (let i = 0; i < mib; i++) for (const chunk of writer.write(block)) bytes += chunk.length;
                    for (const chunk of writer.finish()) bytes += chunk.length;
                    return mib / ((performance.now() - start) / 1000);
                }""",
                [mib, key.public.raw.hex()],
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    args = parser.parse_args()
    key = PrivateKey.generate()
    python = python_mib_s(args.mib, key)
    browser = browser_mib_s(args.mib, key)
    print(f"envelope encryption of {args.mib} MiB")
    print(f"  Chromium, JavaScript + libsodium.js (WebAssembly) {browser:8.1f} MiB/s (goal >= 100)")
    print(f"  Python crypto/ (PyNaCl), same machine, same run   {python:8.1f} MiB/s")
    print(f"  ratio browser / Python {browser / python:.2f}")


if __name__ == "__main__":
    main()
