"""Nothing that identifies a reporter is stored or logged, and no plaintext reaches a disk."""

import logging
import tempfile

import pytest

from . import raw
from .conftest import csrf_token
from .portal_helpers import REPORT, passphrase_from, sign_in, submit_report

ADDRESS = "203.0.113.77"
FORWARDED = "198.51.100.99"
AGENT = "MarkerAgent/9.9 (unique-ua-7731)"
LANGUAGE = "nl-x-markerlang"
REFERRER = "https://referrer.marker.example/page"
TEXT = "PLAINTEXT-MARKER-4242"
FILE = b"FILE-MARKER-5151 " * 5000

IDENTIFYING = [ADDRESS, FORWARDED, AGENT, "unique-ua-7731", "markerlang", "referrer.marker.example"]


@pytest.fixture
def no_temp_files(monkeypatch):
    """Fail loudly if anything asks for a temporary file while a request runs."""
    import werkzeug.formparser

    def refuse(*args, **kwargs):
        raise AssertionError("a temporary file was requested")

    for name in ("TemporaryFile", "SpooledTemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    monkeypatch.setattr(werkzeug.formparser, "default_stream_factory", refuse, raising=False)


def test_no_marker_in_database_files_or_logs(make_portal, portal_config, caplog, capfd, no_temp_files):
    caplog.set_level(logging.DEBUG)
    portal = make_portal(MELDPUNT_LIMIT_LOGIN_PER_ADDRESS="3 per minute")
    client = portal.test_client()
    headers = {"X-Forwarded-For": FORWARDED, "User-Agent": AGENT, "Accept-Language": LANGUAGE, "Referer": REFERRER}
    kwargs = {"headers": headers, "environ_base": {"REMOTE_ADDR": ADDRESS}}

    fields = {**REPORT, "description": f"Details {TEXT}"}
    passphrase = passphrase_from(submit_report(client, fields=fields, files=[("proof.bin", FILE)], **kwargs).data)
    assert sign_in(client, passphrase, **kwargs).status_code == 302
    page = client.get("/mailbox", **kwargs)
    client.post("/mailbox", data={"csrf_token": csrf_token(page.data), "message": f"more {TEXT}"}, **kwargs)
    client.get("/does-not-exist", **kwargs)
    for _ in range(4):  # a wrong passphrase, until the per-address limit answers 429 (and may log)
        last = sign_in(client, "abacus " * 7, **kwargs)
    assert last.status_code == 429

    stored = raw.stored_bytes(portal_config["INSTANCE"])
    assert stored, "the database files were not found"
    logs = caplog.text + "".join(capfd.readouterr())
    for marker in IDENTIFYING:
        assert marker.encode() not in stored, marker
        assert marker not in logs, marker
    assert TEXT.encode() not in stored
    assert b"FILE-MARKER" not in stored
    assert TEXT not in logs


def test_stored_dates_are_days(portal, client):
    from app.domain.db import database
    from app.domain.models import Item, Report

    submit_report(client)
    with database.connection_context():
        for row in [*Report.select(), *Item.select()]:
            for name, _field in row._meta.fields.items():
                value = getattr(row, name)
                assert type(value).__name__ != "datetime", f"{type(row).__name__}.{name}"


def test_schema_has_no_column_for_request_metadata(portal):
    from app.domain.models import MODELS

    columns = {field for model in MODELS for field in model._meta.fields}
    for forbidden in ("ip", "address", "agent", "user_agent", "language", "referrer", "created_at", "timestamp"):
        assert forbidden not in columns
