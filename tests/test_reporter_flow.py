"""The reporter's whole journey through the test client, checked against what is stored."""

import io
import json

from crypto import open_bytes

from .conftest import csrf_token, upload_address
from .portal_helpers import FILES, REPORT, passphrase_from, sign_in, submit_report


def _stored(portal, team_key):
    """Every stored item, decrypted with the team's private key."""
    from app.domain.blobs import BlobReader
    from app.domain.db import database
    from app.domain.models import Item

    with database.connection_context():
        items = list(Item.select().order_by(Item.position, Item.id))
        return [(item, *open_bytes(BlobReader(item).read(), team_key)) for item in items]


def test_submit_check_replies_and_follow_up(portal, client, team_key):
    response = submit_report(client)
    assert response.status_code == 200, response.data.decode()
    assert response.headers["Cache-Control"] == "no-store"
    passphrase = passphrase_from(response.data)

    stored = _stored(portal, team_key)
    assert [item.kind for item, _, _ in stored] == ["report", "attachment", "attachment"]
    report_item, meta, body = stored[0]
    fields = json.loads(body)
    assert fields["title"] == REPORT["title"]
    assert fields["description"] == REPORT["description"]
    assert fields["exploited"] == "no"
    assert fields["credit"] == "Ada L."
    assert meta.kind == "report"
    assert meta.day is not None
    assert {(m.name, b) for _, m, b in stored[1:]} == set(FILES)
    assert all(item.parent_id == report_item.id for item, _, _ in stored[1:])

    # The passphrase works typed sloppily: capitals and hyphens.
    opened = sign_in(client, passphrase.upper().replace(" ", "-"))
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith("/mailbox")
    mailbox = client.get("/mailbox")
    assert mailbox.status_code == 200
    text = mailbox.data.decode()
    assert "Received" in text
    assert "not yet" in text
    assert "No messages yet" in text

    follow_up = client.post(
        upload_address(mailbox.data),
        data={
            "csrf_token": csrf_token(mailbox.data),
            "message": "One more detail: it also works on /contact.",
            "attachments": [(io.BytesIO(b"second proof"), "proof2.txt")],
        },
        content_type="multipart/form-data",
    )
    assert follow_up.status_code == 302
    thread = client.get("/mailbox").data.decode()
    assert "One more detail: it also works on /contact." in thread
    assert "proof2.txt" in thread

    stored = _stored(portal, team_key)
    message = [(item, body) for item, meta, body in stored if item.kind == "message"]
    assert message[0][1] == b"One more detail: it also works on /contact."
    proof = [(item, meta, body) for item, meta, body in stored if meta.name == "proof2.txt"][0]
    assert proof[2] == b"second proof"
    assert proof[0].parent_id == message[0][0].id

    # Addressed by its number in this mailbox's thread (the report's two attachments first), not
    # by the row's id.
    assert 'href="/mailbox/files/3"' in thread
    assert client.get(f"/mailbox/files/{proof[0].id}").status_code == 404
    download = client.get("/mailbox/files/3")
    assert download.status_code == 200
    assert download.data == b"second proof"
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert "attachment" in download.headers["Content-Disposition"]

    # The report's own attachments, sent without JavaScript, are sealed to the team only: listed,
    # not downloadable from the mailbox.
    assert thread.split("<main>")[1].count("Attachment, sealed to the security team only") == 2
    assert client.get(f"/mailbox/files/{stored[1][0].id}").status_code == 404
    assert client.get("/mailbox/files/1").status_code == 404
    assert client.get("/mailbox/files/2").status_code == 404
    assert client.get("/mailbox/files/4").status_code == 404
    assert client.get("/mailbox/files/0").status_code == 404

    logout = client.post("/logout", data={"csrf_token": csrf_token(client.get("/mailbox").data)})
    assert logout.status_code == 302
    assert client.get("/mailbox").status_code == 302


def test_follow_up_is_sealed_to_the_reporter_too(portal, client, team_key):
    from app.domain.db import database
    from app.domain.models import Mailbox
    from crypto import PublicKey
    from crypto.envelope import read_header

    passphrase = passphrase_from(submit_report(client, files=[]).data)
    sign_in(client, passphrase)
    page = client.get("/mailbox")
    client.post(upload_address(page.data), data={"csrf_token": csrf_token(page.data), "message": "hello"})
    stored = _stored(portal, team_key)
    message = [item for item, _, _ in stored if item.kind == "message"][0]
    from app.domain.blobs import BlobReader

    with database.connection_context():
        mailbox = Mailbox.get()
        header = read_header(BlobReader(message))
        assert header.addressed_to([team_key.public, PublicKey.parse(mailbox.public_key)])


def test_report_without_attachments(portal, client, team_key):
    response = submit_report(client, files=[])
    assert response.status_code == 200
    assert [item.kind for item, _, _ in _stored(portal, team_key)] == ["report"]


def test_invalid_report_keeps_text_and_attachments(portal, client, team_key):
    fields = {**REPORT, "title": ""}
    response = submit_report(client, fields=fields)
    assert response.status_code == 400
    page = response.data.decode()
    assert "Please fill in this field." in page
    assert "MARKER-DESCRIPTION" in page  # the text comes back
    assert "poc.html" in page  # the files are kept, sealed
    assert "screenshot.png" in page
    retry = client.post(
        upload_address(response.data),
        data={"csrf_token": csrf_token(response.data), **REPORT},
        content_type="multipart/form-data",
    )
    assert retry.status_code == 200
    stored = _stored(portal, team_key)
    assert [item.kind for item, _, _ in stored] == ["report", "attachment", "attachment"]
    assert all(item.report_id == stored[0][0].report_id for item, _, _ in stored)


def test_credit_name_required_when_credit_wanted(client):
    response = submit_report(client, fields={**REPORT, "credit_name": ""}, files=[])
    assert response.status_code == 400
    assert "Give the name to credit" in response.data.decode()


def test_invalid_follow_up_keeps_its_attachments(portal, client, team_key):
    passphrase = passphrase_from(submit_report(client, files=[]).data)
    sign_in(client, passphrase)
    page = client.get("/mailbox")
    failed = client.post(
        upload_address(page.data),
        data={"csrf_token": csrf_token(page.data), "message": "", "attachments": [(io.BytesIO(b"kept"), "kept.txt")]},
        content_type="multipart/form-data",
    )
    assert failed.status_code == 400
    assert "kept.txt" in failed.data.decode()
    retry = client.post(
        upload_address(failed.data), data={"csrf_token": csrf_token(failed.data), "message": "now with text"}
    )
    assert retry.status_code == 302
    stored = _stored(portal, team_key)
    message = [item for item, _, body in stored if body == b"now with text"][0]
    kept = [item for item, meta, body in stored if meta.name == "kept.txt"][0]
    assert kept.parent_id == message.id


def _mailbox_state(portal):
    from app.domain.db import database
    from app.domain.models import Event, Mailbox, Report, SignedIn

    with database.connection_context():
        report = Report.get()
        return (
            Mailbox.select().count(),
            SignedIn.select().where(SignedIn.kind == "reporter").count(),
            [(event.seq, event.action) for event in Event.select()],
            report.updated,
            report.reference,
        )


def test_a_reporter_closes_their_own_mailbox(portal, client, team_key):
    """The reporter needs no replies any more: a confirmation page (no JavaScript), a POST with its
    CSRF token and a ticked box; then no passphrase opens anything, the report stays with the team,
    and nothing records when it happened."""
    import datetime

    from app.domain.db import database
    from app.domain.models import Mailbox

    from .team_helpers import team_client, team_today

    passphrase = passphrase_from(submit_report(client).data)
    with database.connection_context():
        assert Mailbox.get().last_used == team_today(portal)  # made today
        Mailbox.update(last_used=team_today(portal) - datetime.timedelta(days=300)).execute()
    assert sign_in(client, passphrase).status_code == 302
    with database.connection_context():
        assert Mailbox.get().last_used == team_today(portal)  # each sign-in: the day, nothing finer
    mailbox = client.get("/mailbox?lang=en").data.decode()
    assert 'href="/mailbox/close"' in mailbox
    assert "need replies any more</a>" in mailbox
    confirm = client.get("/mailbox/close?lang=en")
    assert confirm.status_code == 200
    page = confirm.data.decode()
    assert "Your report stays with the security team" in page
    # The page loads the bundle only so that sending the form forgets a key this tab keeps
    # (JavaScript path); the form itself works without it.
    assert "<script" not in page.split("<main>")[1]
    before = _mailbox_state(portal)
    assert before[:2] == (1, 1)

    # Without the ticked box, or without the form's token, nothing happens.
    unticked = client.post("/mailbox/close?lang=en", data={"csrf_token": csrf_token(confirm.data)})
    assert unticked.status_code == 400
    assert "Tick the box" in unticked.data.decode()
    assert client.post("/mailbox/close", data={"confirm": "y"}).status_code == 400
    assert _mailbox_state(portal) == before

    closed = client.post("/mailbox/close?lang=en", data={"csrf_token": csrf_token(confirm.data), "confirm": "y"})
    assert closed.status_code == 303
    assert closed.headers["Location"].endswith("/")
    assert "Your mailbox is closed" in client.get("/?lang=en").data.decode()
    count, signed_in, events, updated, reference = _mailbox_state(portal)
    assert (count, signed_in) == (0, 0)  # lookup token and public key gone; signed out on the server
    assert (events, updated) == (before[2], before[3])  # no event, no day: nothing says when
    assert client.get("/mailbox").status_code == 302  # signed out
    again = sign_in(client, passphrase)
    assert again.status_code == 400
    assert "No mailbox opens with this passphrase" in again.data.decode()

    # The team still has the report, and sees that replies can no longer reach the reporter.
    team = team_client(portal, "alice", "handler")
    page = team.get(f"/team/reports/{reference}?lang=en").data.decode()
    assert "The reporter closed their mailbox" in page
    assert "Seal and send" not in page  # no reply form for a reporter who cannot read it
    assert len([item for item, _, _ in _stored(portal, team_key)]) == 3  # the report and its files stay
