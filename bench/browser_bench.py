"""Envelope encryption and the reporter's derivation in Chromium, against Python's crypto/.

    .venv/bin/python bench/browser_bench.py [--mib 256] [--rounds 5]

Prints MiB/s for envelope encryption (the goal for the browser is at least 100 MiB/s); the
reporter derivation (argon2id at 64 MiB, then the lookup token and key pair) with the derive
bundle's `Meldpunt.identity.derive` and with `crypto.passphrase.derive` (argon2-cffi), each
repeated, min/median/max and the ratio of medians (the goal is at most 3x Python's); and what the
derive bundle (libsodium's sumo build and the word list) adds to a page, precompressed. All
measured in this run. Asserts nothing.
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crypto import Meta, PrivateKey, Sealer  # noqa: E402  (after ROOT joins sys.path)
from crypto.passphrase import derive, parse  # noqa: E402  (after ROOT joins sys.path)
from tests.browser import chromium, live_server  # noqa: E402  (after ROOT joins sys.path)

MIB = 1024 * 1024
VENDOR = ROOT / "static" / "vendor"
# A fixed passphrase and salt, so that both sides derive the same thing (and can be compared).
PASSPHRASE = "abacus abdomen abdominal abide abiding ability ablaze"  # noqa: S105  (fixed words, no secret)
SALT = bytes(range(16))


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


def python_derivations(rounds: int) -> tuple[list[float], str]:
    passphrase = parse(PASSPHRASE)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        identity = derive(passphrase, SALT)
        times.append(time.perf_counter() - start)
    return times, identity.key.public.raw.hex()


def browser_derivations(page, rounds: int) -> tuple[list[float], str]:
    """`Meldpunt.identity.derive` in the page, one call after another, as a sign-in makes it."""
    result = page.evaluate(
        """async ([text, salt, rounds]) => {
            const {identity} = globalThis.Meldpunt;
            const bytes = Uint8Array.from(salt);
            const times = [];
            let derived;
            for (let round = 0; round < rounds; round++) {
                const start = performance.now();
                derived = await identity.derive(identity.normalise(text), bytes);
                times.push((performance.now() - start) / 1000);
            }
            const hex = Array.from(derived.publicKey, (b) => b.toString(16).padStart(2, "0")).join("");
            return {times, publicKey: hex};
        }""",
        [PASSPHRASE, list(SALT), rounds],
    )
    return result["times"], result["publicKey"]


def spread(times: list[float]) -> str:
    return f"min {min(times):6.2f} s  median {statistics.median(times):6.2f} s  max {max(times):6.2f} s"


def bundle_weight() -> str:
    """What the derive bundle adds over the plain one, as a browser downloads it (br, gzip)."""
    lines = []
    for suffix, label in ((".br", "brotli"), (".gz", "gzip")):
        plain = (VENDOR / f"meldpunt.js{suffix}").stat().st_size
        deriving = (VENDOR / f"meldpunt-derive.js{suffix}").stat().st_size
        lines.append(
            f"  {label:6}  meldpunt.js {plain / 1024:7.1f} KiB, meldpunt-derive.js {deriving / 1024:7.1f} KiB: "
            f"+{(deriving - plain) / 1024:.1f} KiB on /report and /replies"
        )
    return "\n".join(lines)


def browser_mib_s(mib: int, key: PrivateKey, rounds: int = 5) -> float:
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
            derivations(page, rounds)
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


def derivations(page, rounds: int) -> None:
    """/report loads the derive bundle; both sides run here, one after the other, on this machine."""
    python, python_key = python_derivations(rounds)
    browser, browser_key = browser_derivations(page, rounds)
    assert browser_key == python_key, "the browser derived another key than Python"
    ratio = statistics.median(browser) / statistics.median(python)
    print(f"reporter derivation (argon2id 64 MiB, 3 passes, then token and key pair), {rounds} rounds each")
    print(f"  Chromium, libsodium.js sumo (WebAssembly)  {spread(browser)}")
    print(f"  Python, argon2-cffi                        {spread(python)}")
    print(f"  ratio of medians browser / Python {ratio:.2f} (goal <= 3)")
    print("extra weight of the derive bundle, precompressed")
    print(bundle_weight())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5, help="derivations on each side")
    args = parser.parse_args()
    key = PrivateKey.generate()
    python = python_mib_s(args.mib, key)
    browser = browser_mib_s(args.mib, key, args.rounds)
    print(f"envelope encryption of {args.mib} MiB")
    print(f"  Chromium, JavaScript + libsodium.js (WebAssembly) {browser:8.1f} MiB/s (goal >= 100)")
    print(f"  Python crypto/ (PyNaCl), same machine, same run   {python:8.1f} MiB/s")
    print(f"  ratio browser / Python {browser / python:.2f}")


if __name__ == "__main__":
    main()
