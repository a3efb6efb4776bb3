"""PostgreSQL and Redis for the tests and benches: started from Debian's binaries, in a folder of
their own, on loopback only, with no system service and nothing left behind.

    python -m tests.services start DIR   # prints the two variables to export
    python -m tests.services stop DIR

`.ci/run` uses it for the suite's second run; tests that need to stop and start a server
(tests/test_shared_state.py) use `Postgres` and `Redis` directly. Run as root (as CI does), the
PostgreSQL cluster belongs to the `postgres` account, as initdb refuses to run as root.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DATABASE = "meldpunt"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path | None:
    """Debian's server binaries (postgresql-NN): the newest installed, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    return Path(found[-1]).parent if found else None


def redis_server() -> str | None:
    return shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Postgres:
    folder: Path
    port: int = 0

    @property
    def data(self) -> Path:
        return self.folder / "pgdata"

    @property
    def url(self) -> str:
        return f"postgresql://{self._user()}@127.0.0.1:{self.port}/{DATABASE}"

    def _user(self) -> str:
        return "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def start(self) -> "Postgres":
        binaries = postgres_bin()
        if binaries is None:
            raise RuntimeError("PostgreSQL's server is not installed (Debian: apt-get install postgresql)")
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        if not self.data.exists():
            subprocess.run(
                _as_owner([str(binaries / "initdb"), "-D", str(self.data), "-A", "trust", "-E", "UTF8", "--no-sync"]),
                check=True,
                capture_output=True,
            )
        self.port = self.port or free_port()
        # Test settings: no durability (the cluster is thrown away), enough connections for two
        # servers' workers and the tests, the socket in our folder, loopback only.
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        subprocess.run(
            _as_owner(
                [str(binaries / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w"]
                + ["start"]
            ),
            check=True,
            capture_output=True,
        )
        self._create_database(binaries)
        return self

    def _create_database(self, binaries: Path) -> None:
        exists = subprocess.run(
            [str(binaries / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self._user(), "-d", "postgres"]
            + ["-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
            capture_output=True,
            text=True,
            check=True,
        )
        if exists.stdout.strip() != "1":
            subprocess.run(
                [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self._user(), DATABASE],
                check=True,
                capture_output=True,
            )

    def restart(self) -> None:
        """As `pg_ctl restart` does it, with the same options; the new server writes to the log
        file, not to a pipe of ours (which it would hold open for as long as it runs)."""
        binaries = postgres_bin()
        subprocess.run(
            _as_owner(
                [str(binaries / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-l", str(self.folder / "log")]
                + ["restart"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        binaries = postgres_bin()
        if binaries is not None and (self.data / "postmaster.pid").exists():
            subprocess.run(
                _as_owner([str(binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
            )


@dataclass
class Redis:
    folder: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "Redis":
        binary = redis_server()
        if binary is None:
            raise RuntimeError("Redis is not installed (Debian: apt-get install redis-server)")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        # No snapshots or log on disk unless a test asks (`redis-cli --rdb`), loopback only.
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder), "--save", ""]
            + ["--appendonly", "no", "--protected-mode", "yes", "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        (self.folder / "redis.pid").write_text(str(self.process.pid))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"Redis did not start on port {self.port}")

    def stop(self) -> None:
        pid_file = self.folder / "redis.pid"
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
        elif pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), 15)
            except ProcessLookupError:
                pass
        pid_file.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[1]).resolve()
    postgres, redis = Postgres(folder / "postgres"), Redis(folder / "redis")
    if argv[0] == "stop":
        postgres.stop()
        redis.stop()
        return 0
    postgres.start()
    redis.start()
    redis.process = None  # it runs on after this command, in its own session
    print(f"export MELDPUNT_TEST_DATABASE_URL={postgres.url}")
    print(f"export MELDPUNT_TEST_REDIS_URL={redis.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
