"""`meldpunt init`, `check` and `purge`, and the portal's refusal to start unconfigured."""

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from . import raw

ROOT = Path(__file__).parent.parent


def meldpunt(*args, instance: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [Path(sys.executable).parent / "meldpunt", *map(str, args)],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "MELDPUNT_INSTANCE": str(instance),
            "DATABASE_URL": raw.url_of(instance),  # its instance file's, on PostgreSQL runs (tests/raw.py)
            **(env or {}),
        },
        timeout=60,
    )


def test_init_then_check(tmp_path, team_key):
    instance = tmp_path / "instance"
    result = meldpunt("init", "--team-key", team_key.public, instance=instance)
    assert result.returncode == 0, result.stderr
    assert team_key.public.fingerprint in result.stdout
    settings = tomllib.loads((instance / "meldpunt.toml").read_text())
    assert settings["MELDPUNT_TEAM_KEY"] == str(team_key.public)
    assert len(settings["SECRET_KEY"]) >= 64
    assert stat.S_IMODE((instance / "meldpunt.toml").stat().st_mode) == 0o600
    check = meldpunt("check", instance=instance)
    assert "[ok] team key" in check.stdout
    assert "[ok] SECRET_KEY set" in check.stdout
    assert "[ok] database" in check.stdout
    # Running init again keeps the secret; another team key is refused.
    again = meldpunt("init", "--team-key", team_key.public, instance=instance)
    assert again.returncode == 0
    assert tomllib.loads((instance / "meldpunt.toml").read_text())["SECRET_KEY"] == settings["SECRET_KEY"]
    from crypto import PrivateKey

    other = meldpunt("init", "--team-key", PrivateKey.generate().public, instance=instance)
    assert other.returncode != 0
    assert "another team key" in other.stderr


def test_init_refuses_a_bad_key(tmp_path):
    result = meldpunt("init", "--team-key", "mpk1nonsense", instance=tmp_path / "i")
    assert result.returncode != 0
    assert "wrong length" in result.stderr


def test_check_reports_what_is_missing(tmp_path):
    result = meldpunt("check", instance=tmp_path / "empty")
    assert result.returncode == 1
    assert "[!!] No team public key is configured" in result.stdout


def test_portal_refuses_to_start_without_a_team_key(tmp_path):
    env = {**os.environ, "MELDPUNT_INSTANCE": str(tmp_path / "empty"), "SECRET_KEY": "x" * 40}
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "meldpunt: No team public key is configured: run `meldpunt init --team-key mpk1…` "
        "or set MELDPUNT_TEAM_KEY (make the key with `meldpunt-team keygen`)."
    ]


def test_portal_refuses_a_short_secret(portal_config):
    from app import create_app
    from app.domain.settings import ConfigError

    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({**portal_config, "SECRET_KEY": "dev"})


def test_environment_overrides_the_instance_file(tmp_path, team_key, monkeypatch):
    from app.domain import settings as config

    (tmp_path / "meldpunt.toml").write_text('MELDPUNT_ORGANISATION = "From file"\nMELDPUNT_RESPONSE_DAYS = 5\n')
    monkeypatch.setenv("MELDPUNT_ORGANISATION", "From environment")
    monkeypatch.setenv("MELDPUNT_RESPONSE_DAYS", "3")
    settings = config.load(tmp_path)
    assert settings["MELDPUNT_ORGANISATION"] == "From environment"
    assert settings["MELDPUNT_RESPONSE_DAYS"] == 3


def test_purge_removes_stale_unfinished_uploads(tmp_path, team_key):
    instance = tmp_path / "instance"
    meldpunt("init", "--team-key", team_key.public, instance=instance)
    from app.domain.clock import today
    from app.domain.db import bind, database
    from app.domain.models import Item
    from app.domain.settings import Settings

    bind(raw.url_of(instance))
    import datetime

    day = today(Settings.load(instance).zone)
    with database.connection_context():
        Item.create(kind="attachment", day=day - datetime.timedelta(days=2))
        Item.create(kind="attachment", day=day)  # today's may still be uploading
    result = meldpunt("purge", instance=instance)
    assert "Deleted 1 unfinished uploads." in result.stdout
    with database.connection_context():
        assert Item.select().count() == 1


def test_user_add_and_reset_print_enrolment_links(tmp_path, team_key):
    instance = tmp_path / "instance"
    meldpunt("init", "--team-key", team_key.public, instance=instance)
    added = meldpunt("user", "add", "alice", "--role", "handler", instance=instance)
    assert added.returncode == 0
    assert added.stdout.startswith("http://127.0.0.1:5000/team/enrol/")
    assert meldpunt("user", "add", "alice", "--role", "admin", instance=instance).returncode != 0
    reset = meldpunt("user", "reset", "alice", instance=instance)
    assert reset.returncode == 0
    assert reset.stdout != added.stdout
    assert meldpunt("user", "reset", "nobody", instance=instance).returncode != 0


def test_user_add_makes_the_first_admin_only(tmp_path, team_key):
    """There must be a way in: the command line makes admins while no enrolled, enabled admin
    exists. After that a new admin is a proposal in the workspace a second person approves."""
    from app.domain.db import bind, database
    from app.domain.models import User

    instance = tmp_path / "instance"
    meldpunt("init", "--team-key", team_key.public, instance=instance)
    first = meldpunt("user", "add", "root", "--role", "admin", instance=instance)
    assert first.returncode == 0, first.stderr
    assert "/team/enrol/" in first.stdout
    # Not enrolled yet (a lost link): another admin may still be made.
    assert meldpunt("user", "add", "root2", "--role", "admin", instance=instance).returncode == 0
    bind(raw.url_of(instance))
    with database.connection_context():
        User.update(enrolled=True).where(User.name == "root").execute()
    refused = meldpunt("user", "add", "mallory", "--role", "admin", instance=instance)
    assert refused.returncode != 0
    assert "workspace" in refused.stderr
    assert "second person" in refused.stderr
    assert meldpunt("user", "add", "hank", "--role", "handler", instance=instance).returncode == 0
    with database.connection_context():
        assert not User.select().where(User.name == "mallory").exists()
        # A disabled admin does not count: the way in is open again.
        User.update(disabled=True).where(User.name == "root").execute()
    assert meldpunt("user", "add", "rescue", "--role", "admin", instance=instance).returncode == 0


def test_check_says_when_the_derivation_slots_cannot_be_made(tmp_path, team_key):
    instance = tmp_path / "instance"
    meldpunt("init", "--team-key", team_key.public, instance=instance)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    result = meldpunt("check", instance=instance, env={"MELDPUNT_RUN_DIR": str(blocked / "run")})
    assert result.returncode == 1
    assert "[!!] derivation slots in" in result.stdout
    assert "[ok] derivation slots in" in meldpunt("check", instance=instance).stdout


def test_a_derivation_cap_of_zero_is_refused_up_front(tmp_path, team_key):
    instance = tmp_path / "instance"
    meldpunt("init", "--team-key", team_key.public, instance=instance)
    result = meldpunt("check", instance=instance, env={"MELDPUNT_DERIVATIONS_AT_ONCE": "0"})
    assert result.returncode == 1
    assert "MELDPUNT_DERIVATIONS_AT_ONCE must be a whole number" in result.stdout


def test_texts_longer_than_the_offline_tool_opens_are_refused(make_portal):
    """The team's tool opens a text of at most 1 MiB (crypto/unpack.py); the portal must not accept
    a longer one, even as JSON escapes of six bytes a character."""
    from app.domain.settings import ConfigError

    with pytest.raises(ConfigError, match="MELDPUNT_MAX_TEXT_CHARS"):
        make_portal(MELDPUNT_MAX_TEXT_CHARS=200_000)
    assert make_portal(MELDPUNT_MAX_TEXT_CHARS=170_000)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MELDPUNT_SMTP_PORT", "submission", "MELDPUNT_SMTP_PORT must be a whole number (0 or more), not 'submission'"),
        ("MELDPUNT_PROPOSAL_DAYS", "900", "MELDPUNT_PROPOSAL_DAYS must be a whole number of days (from 1 to 365)"),
        ("MELDPUNT_RETAIN_SPAM_DAYS", "-1", "MELDPUNT_RETAIN_SPAM_DAYS must be a whole number of days"),
        ("MELDPUNT_REWRITE_ON_PURGE", "sometimes", "MELDPUNT_REWRITE_ON_PURGE must be on or off"),
        ("MELDPUNT_NOTIFY_TIMES", "noon", "MELDPUNT_NOTIFY_TIMES"),
    ],
)
def test_a_wrong_value_is_named_by_check_not_a_traceback(tmp_path, team_key, name, value, message):
    """A value that is not a number, in the environment, was a ValueError traceback; settings the
    portal checks only when it uses them (a purge, a proposal, a mail) are checked by `check` too."""
    instance = tmp_path / "instance"
    meldpunt("init", "--team-key", team_key.public, instance=instance)
    result = meldpunt("check", instance=instance, env={name: value})
    assert result.returncode == 1
    assert message in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "[ok] every setting has a value of its kind" in meldpunt("check", instance=instance).stdout
    # The same value in the instance file, not the environment: named too.
    if name != "MELDPUNT_NOTIFY_TIMES":
        with (instance / "meldpunt.toml").open("a") as handle:
            handle.write(f'{name} = "{value}"\n')
        result = meldpunt("check", instance=instance)
        assert result.returncode == 1
        assert name in result.stdout
        assert "Traceback" not in result.stderr
