"""Quotas kept on the server (issue 9, point 5): follow-ups and replies per report in rate and
size, all unfinished uploads together, and free disk, whatever the client's cookie says."""

import io

from crypto import Meta, seal_bytes

from .conftest import csrf_token, upload_address
from .portal_helpers import REPORT, passphrase_from, sign_in, submit_report
from .test_sealed_uploads import sealed_to, start


def _rows():
    from app.domain.db import database
    from app.domain.models import Chunk, Item

    with database.connection_context():
        return Item.select().count(), Chunk.select().count()


def _follow_up(client, files=()):
    page = client.get("/mailbox")
    data = {
        "csrf_token": csrf_token(page.data),
        "message": "More detail.",
        "attachments": [(io.BytesIO(content), name) for name, content in files],
    }
    return client.post(upload_address(page.data), data=data, content_type="multipart/form-data")


def _reporter(client):
    sign_in(client, passphrase_from(submit_report(client, files=[]).data))
    return client


def test_follow_ups_are_limited_per_report(make_portal):
    client = _reporter(make_portal(MELDPUNT_LIMIT_FOLLOW_UP="2 per hour").test_client())
    assert _follow_up(client).status_code == 302
    assert _follow_up(client).status_code == 302
    third = _follow_up(client)
    assert third.status_code == 429
    assert "Please wait" in third.data.decode()


def test_a_report_has_a_total_size(make_portal):
    """Follow-ups become part of the report; without a quota they grew it without end."""
    client = _reporter(make_portal(MELDPUNT_REPORT_QUOTA_BYTES=400_000).test_client())
    items = _rows()
    assert _follow_up(client, [("a.bin", bytes(150_000))]).status_code == 302
    refused = _follow_up(client, [("b.bin", bytes(300_000))])
    assert refused.status_code == 413
    assert _rows()[0] == items[0] + 2  # the first follow-up and its attachment; nothing of the second
    token = csrf_token(client.get("/mailbox").data)
    assert start(client, token, 300_000, purpose="message").status_code == 413


def test_the_pool_of_unfinished_uploads_fills_with_bytes_not_declarations(make_portal, team_key):
    """Bytes stored by uploads no report owns yet count together, whichever cookie sent them. The
    review's find: fresh cookies declaring large uploads and sending nothing blocked every
    browser-sealed report. Declaring costs nothing now; sending is what counts."""
    from .test_sealed_uploads import put, submit, upload

    portal = make_portal(MELDPUNT_PENDING_UPLOAD_BYTES=2_000_000)
    for _ in range(5):  # declared, never sent: 5 MB against a 2 MB pool
        attacker = portal.test_client()
        token = csrf_token(attacker.get("/report").data)
        assert start(attacker, token, 1_000_000).status_code == 200
    reporter = portal.test_client()
    token = csrf_token(reporter.get("/report").data)
    handle = upload(reporter, token, seal_bytes(b"{}", sealed_to(team_key), Meta("report")))
    assert submit(reporter, token, handle).status_code == 200
    # Stored bytes do count: an upload started while there was room has its part refused once
    # another filled the pool, and a new one is refused at its start.
    other = portal.test_client()
    other_token = csrf_token(other.get("/report").data)
    small = seal_bytes(bytes(200_000), sealed_to(team_key), Meta("attachment"))
    handle = start(other, other_token, len(small)).get_json()["id"]
    filler = portal.test_client()
    token = csrf_token(filler.get("/report").data)
    upload(filler, token, seal_bytes(bytes(1_900_000), sealed_to(team_key), Meta("attachment")))
    refused = put(other, other_token, handle, 0, small)
    assert refused.status_code == 507
    assert refused.get_json()["error"] == "no-room"
    late = portal.test_client()
    token = csrf_token(late.get("/report").data)
    assert start(late, token, len(small)).status_code == 507


def test_uploads_stop_before_the_disk_fills(make_portal, team_key):
    portal = make_portal(MELDPUNT_MIN_FREE_BYTES=10**18)  # more than any disk: always "full"
    client = portal.test_client()
    response = submit_report(client)
    assert response.status_code == 507
    assert "no room for uploads" in response.data.decode()
    assert _rows() == (0, 0)
    token = csrf_token(client.get("/report").data)
    envelope = seal_bytes(b"{}", sealed_to(team_key), Meta("report"))
    assert start(client, token, len(envelope)).status_code == 507
    # Pages and sign-in still work: only what would grow the database is refused.
    assert client.get("/").status_code == 200


def test_a_replay_of_the_form_without_its_address_token_stores_nothing(client):
    page = client.get("/report")
    data = {"csrf_token": csrf_token(page.data), **REPORT, "attachments": [(io.BytesIO(b"x" * 5000), "x.txt")]}
    response = client.post("/report", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Attach them again" in response.data.decode()
    assert _rows() == (0, 0)


def test_a_full_disk_refuses_files_not_text(make_portal):
    client = make_portal(MELDPUNT_MIN_FREE_BYTES=10**18).test_client()
    response = submit_report(client, files=[])
    assert response.status_code == 200  # a report of text alone still goes through
    assert len(passphrase_from(response.data).split()) == 7
