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

# The second database and the shared store (`python -m tests.services start DIR` prints both):
# with them set, every test that touches the database runs on PostgreSQL and the portal keeps its
# limits in Redis; without them, SQLite and memory (`make test` says which in its header).
TEST_DATABASE_URL = os.environ.get("MELDPUNT_TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("MELDPUNT_TEST_REDIS_URL", "")


def pytest_report_header(config) -> list[str]:
    database = f"PostgreSQL ({TEST_DATABASE_URL})" if TEST_DATABASE_URL else "SQLite"
    store = f"Redis ({TEST_REDIS_URL})" if TEST_REDIS_URL else "memory"
    lines = [f"meldpunt: database {database}, limits in {store}"]
    if not TEST_DATABASE_URL or not TEST_REDIS_URL:
        lines.append(
            "meldpunt: for PostgreSQL and Redis too, run `python -m tests.services start DIR` and export what it "
            "prints (MELDPUNT_TEST_DATABASE_URL, MELDPUNT_TEST_REDIS_URL); .ci/run does"
        )
    return lines


# Modules whose outcome cannot depend on the database, left out of the PostgreSQL run (the SQLite
# run has them), which keeps CI within its time: those that never touch a database (the envelope
# format, keys, the offline tool), and those about what the browser shows and runs (accessibility,
# translations in scripts, form guidance, the JavaScript's crypto against Python's, verify-site
# against copies of the pages), which store nothing of their own.
SAME_ON_ANY_DATABASE = {
    "test_advisory_cli",
    "test_axe_browser",
    "test_bundle_vectors",
    "test_cli",
    "test_envelope",
    "test_forms_browser",
    "test_fuzz",
    "test_identity_browser",
    "test_identity_vectors",
    "test_key_vectors",
    "test_keyfile",
    "test_keys",
    "test_names",
    "test_names_browser",
    "test_open_failures",
    "test_passphrase",
    "test_pseudo_locale_browser",
    "test_report_md",
    "test_signing",
    "test_tamper",
    "test_terminal",
    "test_vectors",
    "test_verify_site",
}


def pytest_collection_modifyitems(config, items) -> None:
    if not TEST_DATABASE_URL:
        return
    skip = pytest.mark.skip(reason="about SQLite itself (its file, pragmas or sqlite3); this run is on PostgreSQL")
    kept, left_out = [], []
    for item in items:
        if "sqlite" in item.keywords:
            item.add_marker(skip)
        (left_out if item.module.__name__.rsplit(".", 1)[-1] in SAME_ON_ANY_DATABASE else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def reset_postgres(url: str) -> None:
    """An empty database for the next test: other sessions ended, the schema dropped and made anew."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


def new_postgres_database() -> str:
    """A database of its own on the run's PostgreSQL, for a server a whole module shares (the
    per-test reset empties only the run's own database)."""
    import secrets

    import psycopg

    name = f"meldpunt_{secrets.token_hex(6)}"
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{TEST_DATABASE_URL.rsplit('/', 1)[0]}/{name}"


def instance_database(instance: Path) -> str:
    """The database an instance folder uses: its instance file's DATABASE_URL (a served instance
    on PostgreSQL has one of its own), else the run's, else its SQLite file."""
    import tomllib

    path = Path(instance) / "meldpunt.toml"
    if path.exists():
        url = tomllib.loads(path.read_text()).get("DATABASE_URL")
        if url:
            return url
    return TEST_DATABASE_URL or f"sqlite:///{Path(instance) / 'meldpunt.db'}"


@pytest.fixture(autouse=True)
def _database_of_this_run(monkeypatch):
    """On the PostgreSQL run, each test starts with an empty database, and the command-line tools
    the tests start (`meldpunt init`, …) use it too, through DATABASE_URL."""
    if TEST_DATABASE_URL:
        reset_postgres(TEST_DATABASE_URL)
        monkeypatch.setenv("DATABASE_URL", TEST_DATABASE_URL)
    if TEST_REDIS_URL:  # every test counts its limits from zero
        import redis

        redis.Redis.from_url(TEST_REDIS_URL).flushdb()


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


def run_cli(
    *args,
    input: bytes | None = None,  # noqa: A002  (subprocess.run's own name)
    cwd=None,
    check: bool = False,
) -> subprocess.CompletedProcess:
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


# --- the portal ----------------------------------------------------------------------------

PORTAL_SECRET = "test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture
def portal_config(tmp_path, team_key) -> dict:
    return {
        "INSTANCE": tmp_path / "instance",
        "TESTING": True,
        "MELDPUNT_TEAM_KEY": str(team_key.public),
        "SECRET_KEY": PORTAL_SECRET,
        "DATABASE_URL": TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'instance' / 'meldpunt.db'}",
        "MELDPUNT_SECURE_COOKIES": False,
        "MELDPUNT_REDIS_URL": TEST_REDIS_URL or None,
        "MELDPUNT_LIMIT_SUBMIT": "1000 per minute",
        "MELDPUNT_LIMIT_SUBMIT_PER_ADDRESS": "1000 per minute",
        "MELDPUNT_LIMIT_LOGIN": "1000 per minute",
        "MELDPUNT_LIMIT_LOGIN_PER_ADDRESS": "1000 per minute",
        "MELDPUNT_LIMIT_UPLOAD": "1000 per minute",
        "MELDPUNT_LIMIT_UPLOAD_PER_ADDRESS": "1000 per minute",
        "MELDPUNT_LIMIT_TEAM_SIGNIN": "1000 per minute",
        "MELDPUNT_LIMIT_TEAM_SIGNIN_PER_ADDRESS": "1000 per minute",
        "MELDPUNT_LIMIT_FOLLOW_UP": "1000 per minute",
        "MELDPUNT_LIMIT_REPLY": "1000 per minute",
        "MELDPUNT_POW_BITS": 8,  # the work is real but small; tests/test_sealed_uploads.py checks it
    }


@pytest.fixture
def make_portal(portal_config):
    """Build a portal with extra settings, its database initialised like `meldpunt init` does."""

    def make(**overrides):
        from app import create_app
        from app.domain.reports import initialise

        (portal_config["INSTANCE"]).mkdir(exist_ok=True)
        app = create_app({**portal_config, **overrides})
        initialise()
        return app

    return make


@pytest.fixture
def portal(make_portal):
    return make_portal()


@pytest.fixture
def client(portal):
    return portal.test_client()


def csrf_token(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    import re

    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text).group(1)


def upload_address(html: bytes | str) -> str:
    """Where the page's file form posts: its action, which carries the CSRF token in the query so
    the server checks it before it stores a byte (app/web/uploads.py `form_address`)."""
    import html as markup
    import re

    text = html.decode() if isinstance(html, bytes) else html
    return markup.unescape(re.search(r'enctype="multipart/form-data" action="([^"]+)"', text).group(1))
