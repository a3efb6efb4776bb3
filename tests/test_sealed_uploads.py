"""The JavaScript path on the server: envelopes in parts, checked and stored unchanged."""

import secrets

import pytest

from crypto import Meta, PrivateKey, seal_bytes
from crypto.passphrase import lookup_hash

from .conftest import csrf_token

PART = 4 * 1024 * 1024
# The reporter's key a browser derived, as these tests' reports are sealed to it: the report
# uploads of a session name it (`start`), and `/report/sealed` must name the same.
REPORTER = PrivateKey(bytes(range(1, 33)))


def sealed_to(team_key) -> list:
    """A report's recipients on the JavaScript path: the team, then the reporter."""
    return [team_key.public, REPORTER.public]


@pytest.fixture
def token(client):
    return csrf_token(client.get("/report").data)


def solve(client) -> tuple[str, str]:
    """Do the anti-spam work the report page asks for, as the browser's script does: the answer,
    and the signed challenge it answers."""
    import hashlib
    import re

    page = client.get("/report").data.decode()
    challenge = bytes.fromhex(re.search(r'data-pow-challenge="([0-9a-f]+)"', page).group(1))
    signed = re.search(r'data-pow-signed="([^"]+)"', page).group(1)
    bits = int(re.search(r'data-pow-bits="(\d+)"', page).group(1))
    from app.web.pow import leading_zero_bits

    counter = 0
    while leading_zero_bits(hashlib.blake2b(challenge + counter.to_bytes(8, "little"), digest_size=32).digest()) < bits:
        counter += 1
    return str(counter), signed


def start(client, token, size, purpose="report", proof=None, reporter=REPORTER):
    data = {"purpose": purpose, "size": size}
    if purpose == "report":
        data["pow"], data["pow_challenge"] = solve(client) if proof is None else proof
        data["reporter_key"] = reporter.public.raw.hex()
    return client.post("/uploads", data=data, headers={"X-CSRFToken": token})


def put(client, token, handle, number, data):
    return client.put(
        f"/uploads/{handle}/{number}",
        data=data,
        headers={"X-CSRFToken": token, "Content-Type": "application/octet-stream"},
    )


def upload(client, token, envelope, purpose="report", reporter=REPORTER):
    handle = start(client, token, len(envelope), purpose, reporter=reporter).get_json()["id"]
    for number, offset in enumerate(range(0, len(envelope), PART)):
        answer = put(client, token, handle, number, envelope[offset : offset + PART])
        assert answer.status_code == 200, answer.get_json()
    return handle


def identity_fields(lookup_token=None, reporter=REPORTER) -> dict:
    """What the browser sends of the identity it derived: the reporter's public key and the hash
    of `lookup_token` (a new random one by default: each mailbox needs its own)."""
    token = lookup_token or secrets.token_bytes(32)
    return {"reporter_key": reporter.public.raw.hex(), "lookup_hash": lookup_hash(token).hex()}


def submit(client, token, report, attachments=(), lookup_token=None, reporter=REPORTER):
    """Claim the uploads as the browser does, with the identity it derived."""
    data = {"csrf_token": token, "accept_policy": "y", "sealed": report, "sealed_attachments": list(attachments)}
    return client.post("/report/sealed", data=data | identity_fields(lookup_token, reporter))


def sign_in_by_token(client, lookup_token: bytes):
    """Sign in as the browser does: the lookup token it derived, never the passphrase."""
    page = client.get("/replies")
    return client.post("/replies", data={"csrf_token": csrf_token(page.data), "token": lookup_token.hex()})


def stored_envelopes():
    from app.domain.blobs import BlobReader
    from app.domain.db import database
    from app.domain.models import Item

    with database.connection_context():
        return [(item.kind, BlobReader(item).read()) for item in Item.select().order_by(Item.position)]


def test_envelopes_are_stored_unchanged(client, token, team_key):
    report = seal_bytes(b'{"title": "t"}', sealed_to(team_key), Meta("report"))
    attachment = seal_bytes(bytes(9 * 1024 * 1024), sealed_to(team_key), Meta("attachment", name="a.bin"))
    response = submit(client, token, upload(client, token, report), [upload(client, token, attachment)])
    assert response.status_code == 200
    # The browser made the passphrase: the page has an empty place for it, and no words.
    assert '<p class="passphrase" data-passphrase lang="en"></p>' in response.data.decode()
    assert "<span>" not in response.data.decode().split('data-passphrase lang="en">')[1].split("</p>")[0]
    assert stored_envelopes() == [("report", report), ("attachment", attachment)]


def test_plaintext_is_refused_at_the_first_part(client, token):
    handle = start(client, token, 5000).get_json()["id"]
    answer = put(client, token, handle, 0, b"Title: SQL injection in login\n" + bytes(4970))
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "not-an-envelope"


def test_foreign_recipients_are_refused(client, token, team_key, other_key):
    for recipients in ([other_key.public], [team_key.public, other_key.public]):
        envelope = seal_bytes(b"x", recipients, Meta("report"))
        handle = start(client, token, len(envelope)).get_json()["id"]
        answer = put(client, token, handle, 0, envelope)
        assert answer.status_code == 400
        assert answer.get_json()["error"] == "wrong-recipients"


def test_malformed_header_is_refused(client, token, team_key):
    envelope = bytearray(seal_bytes(b"x", sealed_to(team_key), Meta("report")))
    envelope[9] = 40  # a recipient count the header length does not match
    handle = start(client, token, len(envelope)).get_json()["id"]
    assert put(client, token, handle, 0, bytes(envelope)).get_json()["error"] == "not-an-envelope"


def test_declared_size_must_fit_the_limit(make_portal):
    # The budget: uploads and text, plus room for padding and chunk overhead (about 2.1 MB here).
    client = make_portal(MELDPUNT_MAX_UPLOAD_BYTES=1_000_000, MELDPUNT_MAX_TEXT_CHARS=1000).test_client()
    token = csrf_token(client.get("/report").data)
    assert start(client, token, 5_000_000).status_code == 413
    assert start(client, token, 1_500_000).status_code == 200
    assert start(client, token, 700_000).status_code == 413  # the session's uploads count together


def test_parts_must_come_in_order_with_the_declared_sizes(client, token, team_key):
    envelope = seal_bytes(bytes(6 * 1024 * 1024), sealed_to(team_key), Meta("attachment"))
    handle = start(client, token, len(envelope)).get_json()["id"]
    assert put(client, token, handle, 1, envelope[PART:]).status_code == 409
    assert put(client, token, handle, 0, envelope[: PART - 1]).get_json()["error"] == "wrong-part-size"
    assert put(client, token, handle, 0, envelope[:PART]).status_code == 200
    assert put(client, token, handle, 0, envelope[:PART]).status_code == 200  # a resent part is fine
    status = client.get(f"/uploads/{handle}").get_json()
    assert status == {"received": 1, "size": PART, "complete": False}


def test_uploads_belong_to_their_session(client, token, portal, team_key):
    envelope = seal_bytes(b"x", sealed_to(team_key), Meta("report"))
    handle = start(client, token, len(envelope)).get_json()["id"]
    stranger = portal.test_client()
    other_token = csrf_token(stranger.get("/report").data)
    # The report form's token counts for this session's own report uploads only: for another's
    # handle it is no token at all (400) before the handle is looked up.
    assert put(stranger, other_token, handle, 0, envelope).status_code == 400
    assert stranger.get(f"/uploads/{handle}").status_code == 404


def test_incomplete_or_unknown_uploads_are_not_adopted(client, token, team_key):
    envelope = seal_bytes(bytes(6 * 1024 * 1024), sealed_to(team_key), Meta("report"))
    handle = start(client, token, len(envelope)).get_json()["id"]
    put(client, token, handle, 0, envelope[:PART])
    assert submit(client, token, handle).status_code == 400
    assert submit(client, token, "made-up-handle").status_code == 400


def test_upload_needs_a_csrf_token(client):
    assert client.post("/uploads", data={"purpose": "report", "size": 5000}).status_code == 400


def test_follow_up_envelopes_must_include_the_reporter(client, token, team_key):
    from app.domain.db import database
    from app.domain.models import Mailbox
    from crypto import PublicKey

    report = seal_bytes(b"{}", sealed_to(team_key), Meta("report"))
    lookup_token = secrets.token_bytes(32)
    assert submit(client, token, upload(client, token, report), lookup_token=lookup_token).status_code == 200
    assert sign_in_by_token(client, lookup_token).status_code == 302
    token = csrf_token(client.get("/mailbox").data)
    with database.connection_context():
        reporter = PublicKey.parse(Mailbox.get().public_key)
    assert reporter == REPORTER.public
    team_only = seal_bytes(b"hi", [team_key.public], Meta("message"))
    handle = start(client, token, len(team_only), "message").get_json()["id"]
    assert put(client, token, handle, 0, team_only).get_json()["error"] == "wrong-recipients"
    both = seal_bytes(b"hi", [team_key.public, reporter], Meta("message"))
    handle = upload(client, token, both, "message")
    answer = client.post("/mailbox/sealed", data={"csrf_token": token, "sealed": handle})
    assert answer.status_code == 303
    assert ("message", both) in stored_envelopes()


def test_a_follow_up_upload_needs_a_signed_in_mailbox(client, token):
    assert start(client, token, 5000, purpose="message").status_code == 400


def test_purge_removes_unfinished_browser_uploads(portal, client, token, team_key):
    import datetime

    from app.domain.db import database
    from app.domain.models import Item
    from app.domain.uploads import purge_unfinished

    from .team_helpers import settings_of

    start(client, token, 5000)
    with database.connection_context():
        assert purge_unfinished(settings_of(portal)) == 0  # today's upload may still be going on
        Item.update(day=datetime.date(2020, 1, 1)).execute()
        assert purge_unfinished(settings_of(portal)) == 1  # what `meldpunt purge` runs
        assert Item.select().count() == 0


def test_a_report_upload_needs_the_anti_spam_work(client, token):
    _answer, signed = solve(client)
    refused = start(client, token, 5000, proof=("12345", signed))
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "proof-of-work"
    assert start(client, token, 5000).status_code == 200  # solved
    assert start(client, token, 5000, proof=("", "")).status_code == 200  # solved once per report


def test_the_challenge_is_the_servers_own_and_used_once(client, token, team_key):
    answer, signed = solve(client)
    value, rest = signed.split(".", 1)
    forged = start(client, token, 5000, proof=(answer, value[:-2] + "AA." + rest))
    assert forged.status_code == 403  # a challenge the server did not sign
    report = seal_bytes(b"{}", sealed_to(team_key), Meta("report"))
    handle = start(client, token, len(report), proof=(answer, signed)).get_json()["id"]
    assert put(client, token, handle, 0, report).status_code == 200
    assert submit(client, token, handle).status_code == 200
    again = start(client, token, 5000, proof=(answer, signed))  # the spent challenge, answered before
    assert again.status_code == 403


def test_the_work_is_spent_by_a_stored_report(client, token, team_key):
    report = seal_bytes(b"{}", sealed_to(team_key), Meta("report"))
    assert submit(client, token, upload(client, token, report)).status_code == 200
    assert start(client, token, 5000, proof=("", "")).status_code == 403  # the next report works again


def test_the_same_part_twice_at_once_is_not_a_500(client, token, team_key):
    """Two requests with the same part: rows of it already there (the other request's, or an
    attempt cut off between storing the rows and counting them) are replaced, the part is whole;
    the request that finds the part counted by the other gets a 409, never a 500."""
    from app.domain.blobs import BlobReader
    from app.domain.db import database
    from app.domain.models import Chunk, Item
    from app.domain.uploads import UploadRefused, store_part

    envelope = seal_bytes(bytes(6 * 1024 * 1024), sealed_to(team_key), Meta("attachment"))
    handle = start(client, token, len(envelope)).get_json()["id"]
    with database.connection_context():
        item = Item.get(Item.handle == handle)
        Chunk.create(item=item, seq=0, data=b"from the other request")
        stale = Item.get_by_id(item.id)  # as a parallel request read it, before either counted
    answer = put(client, token, handle, 0, envelope[:PART])
    assert answer.status_code == 200
    assert answer.get_json()["received"] == 1
    with database.connection_context():
        assert BlobReader(Item.get_by_id(item.id)).read() == envelope[:PART]
        with pytest.raises(UploadRefused) as refused:
            store_part(stale, 0, envelope[:PART], sealed_to(team_key))
        assert (refused.value.status, refused.value.received) == (409, 1)
        assert BlobReader(Item.get_by_id(item.id)).read() == envelope[:PART]


def test_a_part_larger_than_a_part_is_refused_before_it_is_read(client, token, team_key):
    envelope = seal_bytes(bytes(6 * 1024 * 1024), sealed_to(team_key), Meta("attachment"))
    handle = start(client, token, len(envelope)).get_json()["id"]
    answer = put(client, token, handle, 0, envelope[: PART + 1])
    assert answer.status_code == 413
    assert client.get(f"/uploads/{handle}").get_json()["received"] == 0
    assert put(client, token, handle, 0, envelope[:PART]).status_code == 200


def _reported_twice(client, token, team_key) -> list[tuple[str, object]]:
    """Two reports sent through the browser path; their references and reporter keys."""
    from app.domain.db import database
    from app.domain.models import Mailbox
    from crypto import PublicKey

    for _ in range(2):
        reporter = PrivateKey.generate()
        envelope = seal_bytes(b"{}", [team_key.public, reporter.public], Meta("report"))
        submit(client, token, upload(client, token, envelope, reporter=reporter), reporter=reporter)
    with database.connection_context():
        return [(box.report.reference, PublicKey.parse(box.public_key)) for box in Mailbox.select()]


def _team_upload(team, token, envelope, reference):
    answer = team.post(
        "/team/uploads", data={"report": reference, "size": len(envelope)}, headers={"X-CSRFToken": token}
    )
    assert answer.status_code == 200, answer.get_json()
    handle = answer.get_json()["id"]
    return handle, team.put(
        f"/team/uploads/{handle}/0",
        data=envelope,
        headers={"X-CSRFToken": token, "Content-Type": "application/octet-stream"},
    )


def _reply_sealed(team, reference, token, handle):
    return team.post(f"/team/reports/{reference}/reply/sealed", data={"csrf_token": token, "sealed": handle})


def test_team_reply_uploads_are_sealed_to_that_reports_reporter(portal, client, token, team_key):
    from .team_helpers import team_client

    (first, first_key), (second, second_key) = _reported_twice(client, token, team_key)
    team = team_client(portal, "alice", "handler")
    team_token = csrf_token(team.get(f"/team/reports/{first}").data)
    # Sealed to the other report's reporter: refused at the first part.
    wrong = seal_bytes(b"hello", [second_key, team_key.public], Meta("reply"))
    _handle, answer = _team_upload(team, team_token, wrong, first)
    assert answer.get_json()["error"] == "wrong-recipients"
    # Right for the first report, but claimed on the second: refused, and not adopted.
    right = seal_bytes(b"hello", [first_key, team_key.public], Meta("reply"))
    handle, answer = _team_upload(team, team_token, right, first)
    assert answer.status_code == 200
    assert _reply_sealed(team, second, team_token, handle).status_code == 400
    assert _reply_sealed(team, first, team_token, handle).status_code == 303
    # A handle is adopted once.
    assert _reply_sealed(team, first, team_token, handle).status_code == 400
    assert ("reply", right) in stored_envelopes()


def test_reporter_and_team_uploads_do_not_cross(portal, client, token, team_key):
    from .team_helpers import team_client

    (first, first_key), _ = _reported_twice(client, token, team_key)
    # A reporter's upload endpoint takes no replies.
    assert start(client, token, 5000, purpose="reply").status_code == 400
    # A team upload handle is not a part upload on the reporter's side, even in the same browser.
    team = team_client(portal, "alice", "handler")
    team_token = csrf_token(team.get(f"/team/reports/{first}").data)
    envelope = seal_bytes(b"hello", [first_key, team_key.public], Meta("reply"))
    answer = team.post(
        "/team/uploads", data={"report": first, "size": len(envelope)}, headers={"X-CSRFToken": team_token}
    )
    handle = answer.get_json()["id"]
    assert put(team, team_token, handle, 0, envelope).status_code == 400
    # Without a team sign-in the team's upload endpoints refuse outright, with a session's token
    # (the sign-in page's) or the report form's, which counts nowhere else.
    session_token = csrf_token(client.get("/replies").data)
    for sent in (session_token, token):
        answer = client.post("/team/uploads", data={"report": first, "size": 5000}, headers={"X-CSRFToken": sent})
        assert answer.status_code == (403 if sent == session_token else 400)
    # Unknown report, or no size: a clear 400.
    assert (
        team.post(
            "/team/uploads", data={"report": "MP-NONE-XIST", "size": 5}, headers={"X-CSRFToken": team_token}
        ).status_code
        == 400
    )
    assert (
        team.post(
            "/team/uploads", data={"report": first, "size": "lots"}, headers={"X-CSRFToken": team_token}
        ).status_code
        == 400
    )


def test_a_late_copy_of_a_part_leaves_an_adopted_upload_alone(client, token, team_key):
    """The review of the chunk file: a copy of part 0 that arrives after its upload was finished
    and adopted into a report (the browser retried; the first copy had long been answered) was
    written over the stored rows and marked the item incomplete, so the next purge deleted it."""
    from app.domain.blobs import BlobReader
    from app.domain.db import database
    from app.domain.models import Item
    from app.domain.uploads import UploadRefused, store_part

    report = seal_bytes(b'{"title": "t"}', sealed_to(team_key), Meta("report"))
    handle = start(client, token, len(report)).get_json()["id"]
    with database.connection_context():
        stale = Item.get(Item.handle == handle)  # as the late request read it
    assert put(client, token, handle, 0, report).status_code == 200
    assert submit(client, token, handle).status_code == 200
    with database.connection_context():
        with pytest.raises(UploadRefused) as refused:
            store_part(stale, 0, report, sealed_to(team_key))
        assert refused.value.status == 409
        adopted = Item.get_by_id(stale.id)
        assert adopted.complete
        assert adopted.report_id is not None
        assert BlobReader(adopted).read() == report
