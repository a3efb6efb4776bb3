import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from crypto import Meta, PrivateKey
from crypto.keyfile import TeamKey

VECTORS = Path(__file__).parent / "vectors"
TEAM_PASSPHRASE = "correct horse battery staple, offline"

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def team_key() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture(scope="session")
def other_key() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture
def meta() -> Meta:
    return Meta("attachment", name="poc.py", type="text/x-python", day=datetime.date(2026, 11, 28))


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory) -> Path:
    """A team key file made once per run: argon2id at 256 MiB takes about a second each time."""
    folder = tmp_path_factory.mktemp("team")
    (folder / "passphrase").write_text(TEAM_PASSPHRASE + "\n")
    key = TeamKey.generate()
    key.save(folder / "team.key", TEAM_PASSPHRASE)
    (folder / "public").write_text(str(key.public) + "\n")
    return folder


@pytest.fixture(scope="session")
def team_file_key(key_dir) -> TeamKey:
    return TeamKey.load(key_dir / "team.key", TEAM_PASSPHRASE)


def run_cli(*args, input: bytes | None = None, cwd=None, check: bool = False) -> subprocess.CompletedProcess:
    """The real console entry point, in a child process, as the team would run it."""
    result = subprocess.run(
        [sys.executable, "-m", "crypto.cli", *map(str, args)],
        input=input,
        capture_output=True,
        cwd=cwd,
        stdin=None if input is not None else subprocess.DEVNULL,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr.decode()
    return result
