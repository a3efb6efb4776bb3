"""Uploaded envelopes the server stores as sent must have an envelope's shape: everything the
server can check without a private key (app/domain/uploads.py `check_envelope`). A hostile
reporter must not be able to leave an item in their own report that makes its bundle hard to open."""

import io

import pytest

from crypto import Meta, seal_bytes, spec

from .conftest import csrf_token, upload_address
from .test_sealed_uploads import (
    PART,
    REPORTER,
    put,
    sealed_to,
    sign_in_by_token,
    start,
    stored_envelopes,
    submit,
    upload,
)

HEADER = spec.header_length(1)  # one recipient: the team key
REPORT_HEADER = spec.header_length(2)  # a report in the browser: the team key and the reporter's
CHUNK = spec.SEALED_CHUNK_BYTES
# Where a stanza's sealed file key begins, and with it the sealed box's ephemeral public key.
EPHEMERAL = spec.FIXED_HEADER_BYTES + spec.KEY_ID_BYTES

# Every 32-byte encoding of an X25519 point of small order (libsodium's list; it ignores the top
# bit, so each also with the top bit set): no key opens a sealed box whose ephemeral key is one.
P = 2**255 - 19
SMALL_ORDER = [
    value.to_bytes(32, "little")
    for x in (
        0,
        1,
        0x00B8495F16056286FDB1329CEB8D09DA6AC49FF1FAE35616AEB8413B7C7AEBE0,
        0x57119FD0DD4E22D8868E1C58C45C44045BEF839C55B1D0B1248C50A3BC959C5F,
        P - 1,
        P,
        P + 1,
    )
    for value in (x, x | 1 << 255)
]

SIZE = "The size declared for this upload is not one a sealed envelope can have. Reload the page and try again."
NOT_AN_ENVELOPE = "This upload is not an envelope sealed by this page. Reload the page and try again."
VERSION = "This upload was sealed by another version of this page. Reload the page and try again."
RECIPIENTS = "This upload is not sealed to this portal's keys. Reload the page and try again."
UNOPENABLE = "This upload is sealed so that nobody could open it. Reload the page and try again."


def sealed(team_key, body_length: int = 2, recipients=None, kind: str = "report") -> bytes:
    return seal_bytes(bytes(body_length), recipients or [team_key.public], Meta(kind))


def as_report(team_key, body_length: int = 2, kind: str = "report") -> bytes:
    """Sealed as the browser seals a report and its attachments: to the team and the reporter."""
    return sealed(team_key, body_length, sealed_to(team_key), kind)


def body_for_padded(padded: int, kind: str = "attachment") -> int:
    """The body length that, with its metadata frame and padding marker, fills exactly `padded`."""
    return padded - 1 - len(Meta(kind).encode())


def changed(envelope: bytes, offset: int, data: bytes) -> bytes:
    return envelope[:offset] + data + envelope[offset + len(data) :]


def refused_upload(client, token, envelope: bytes):
    """Declare `len(envelope)` bytes and send the first part; the answer and the upload's handle."""
    handle = start(client, token, len(envelope)).get_json()["id"]
    return put(client, token, handle, 0, envelope[:PART]), handle


def nothing_kept(handle: str) -> None:
    from app.domain.db import database
    from app.domain.models import Chunk, Item

    with database.connection_context():
        item = Item.get(Item.handle == handle)
        assert (item.complete, item.parts, item.size) == (False, 0, 0)
        assert Chunk.select().where(Chunk.item == item).count() == 0


@pytest.fixture
def token(client):
    return csrf_token(client.get("/report").data)


# --- the domain function ------------------------------------------------------------------------


def refusal_code(envelope: bytes, recipients, size: int | None = None) -> str | None:
    from app.domain.errors import UploadRefused
    from app.domain.uploads import check_envelope

    try:
        check_envelope(envelope, recipients, len(envelope) if size is None else size)
    except UploadRefused as refused:
        return refused.code
    return None


def test_envelopes_as_sealed_pass(team_key, other_key):
    both = [team_key.public, other_key.public]
    for padded in (4096, 4352, 65536, 65536 + 4096, 131072):
        assert refusal_code(sealed(team_key, body_for_padded(padded, "report")), [team_key.public]) is None
        assert refusal_code(sealed(team_key, body_for_padded(padded, "report"), both), both) is None
    # Fresh ephemeral keys never have small order: many envelopes, each with new ones.
    for _ in range(50):
        assert refusal_code(sealed(team_key, recipients=both), both) is None


def test_sizes_no_envelope_has(team_key, other_key):
    one = sealed(team_key)
    full = sealed(team_key, body_for_padded(65536))
    assert len(full) == HEADER + CHUNK  # one whole chunk, the last
    team = [team_key.public]
    cases = {
        "one byte more": len(one) + 1,
        "one byte less": len(one) - 1,
        "a last chunk of 1 byte": len(full) + 1,
        "a last chunk of 17 bytes (no plaintext in it)": len(full) + spec.CHUNK_OVERHEAD,
        "a padded length PADMÉ never gives": HEADER + 4100 + spec.CHUNK_OVERHEAD,
        "less than 4 KiB padded": HEADER + 4095 + spec.CHUNK_OVERHEAD,
        "a header and nothing else": HEADER,
        "one byte short of two whole chunks": HEADER + 2 * CHUNK - 1,
    }
    for name, size in cases.items():
        assert refusal_code(one, team, size) == "impossible-size", name
    # The size is judged for the header's recipient count: a size right for one recipient is not
    # right for two.
    both = [team_key.public, other_key.public]
    two = sealed(team_key, recipients=both)
    assert refusal_code(two, both, len(one)) == "impossible-size"
    assert refusal_code(two, both, len(one) + spec.STANZA_BYTES) is None


def test_headers_no_envelope_has(team_key, other_key):
    one = sealed(team_key)
    team = [team_key.public]
    count, length = len(spec.MAGIC) + 1, len(spec.MAGIC) + 2
    assert refusal_code(changed(one, count, bytes([2])), team) == "not-an-envelope"  # 2 ≠ its length
    assert refusal_code(changed(one, count, bytes([0])), team) == "not-an-envelope"
    assert refusal_code(changed(one, count, bytes([17])), team) == "not-an-envelope"
    assert refusal_code(changed(one, length, (HEADER + 1).to_bytes(2, "big")), team) == "not-an-envelope"
    assert refusal_code(changed(one, len(spec.MAGIC), bytes([2])), team) == "unsupported-version"
    assert refusal_code(changed(one, 0, b"Meldpunt"), team) == "not-an-envelope"
    assert refusal_code(one[: HEADER - 1], team, len(one)) == "not-an-envelope"
    assert refusal_code(sealed(team_key, recipients=[team_key.public, other_key.public]), team) == "wrong-recipients"
    assert refusal_code(one, [team_key.public, other_key.public]) == "wrong-recipients"


def test_ephemeral_keys_of_small_order(team_key, other_key):
    both = [team_key.public, other_key.public]
    two = sealed(team_key, recipients=both)
    for point in SMALL_ORDER:
        for stanza in range(2):  # whichever recipient's entry it is
            bad = changed(two, EPHEMERAL + stanza * spec.STANZA_BYTES, point)
            assert refusal_code(bad, both) == "unopenable", (point.hex(), stanza)


def test_a_small_order_ephemeral_key_opens_for_no_one(team_key):
    """Refusing it loses nothing: the recipient's own key cannot open such an entry either."""
    from crypto import Opener
    from crypto.errors import Tampered

    bad = changed(sealed(team_key), EPHEMERAL, SMALL_ORDER[2])
    with pytest.raises(Tampered):
        Opener(io.BytesIO(bad), team_key)


# --- browser-sealed uploads, through the part endpoints -----------------------------------------


def test_reports_of_sizes_no_envelope_has_are_refused_at_the_first_part(client, token, team_key):
    one = as_report(team_key)
    full = as_report(team_key, body_for_padded(65536))
    large = as_report(team_key, 5 * 1024 * 1024, kind="attachment")  # more than one part
    cases = {
        "one byte more": one + b"\0",
        "one byte less": one[:-1],
        "a last chunk of 17 bytes": full + bytes(spec.CHUNK_OVERHEAD),
        "a last chunk of 1 byte": full + b"\0",
        "a padded length PADMÉ never gives": one + bytes(4),
        "less than 4 KiB padded": one[: REPORT_HEADER + 2048 + spec.CHUNK_OVERHEAD],
        "several parts, one byte more": large + b"\0",
    }
    for name, envelope in cases.items():
        answer, handle = refused_upload(client, token, envelope)
        assert answer.status_code == 400, name
        assert answer.get_json() == {"error": "impossible-size", "message": SIZE, "received": None}, name
        nothing_kept(handle)
        assert submit(client, token, handle).status_code == 400  # never adopted


def test_reports_with_bad_headers_are_refused(client, token, team_key, other_key):
    one = as_report(team_key)
    count = len(spec.MAGIC) + 1
    cases = {
        "count and length disagree": (changed(one, count, bytes([1])), NOT_AN_ENVELOPE),
        "no recipients": (changed(one, count, bytes([0])), NOT_AN_ENVELOPE),
        "a wrong length": (changed(one, count + 1, (REPORT_HEADER - 1).to_bytes(2, "big")), NOT_AN_ENVELOPE),
        "another version": (changed(one, len(spec.MAGIC), bytes([2])), VERSION),
        "an extra recipient": (sealed(team_key, recipients=[*sealed_to(team_key), other_key.public]), RECIPIENTS),
        "no team key": (sealed(team_key, recipients=[REPORTER.public]), RECIPIENTS),
        "no reporter key": (sealed(team_key, recipients=[team_key.public]), RECIPIENTS),
        "an unopenable entry": (changed(one, EPHEMERAL, SMALL_ORDER[0]), UNOPENABLE),
        "an unopenable entry, top bit set": (changed(one, EPHEMERAL, SMALL_ORDER[-1]), UNOPENABLE),
    }
    for name, (envelope, message) in cases.items():
        answer, handle = refused_upload(client, token, envelope)
        assert answer.status_code == 400, name
        assert answer.get_json()["message"] == message, name
        nothing_kept(handle)
        assert put(client, token, handle, 0, envelope[:PART]).status_code == 400  # sent again: still no
        nothing_kept(handle)


def test_the_refusal_is_translated(client, token, team_key):
    envelope = as_report(team_key) + b"\0"
    handle = start(client, token, len(envelope)).get_json()["id"]
    dutch = client.put(
        f"/uploads/{handle}/0?lang=nl",
        data=envelope,
        headers={"X-CSRFToken": token, "Content-Type": "application/octet-stream"},
    ).get_json()
    assert dutch["error"] == "impossible-size"
    assert dutch["message"] not in ("", SIZE)


@pytest.mark.parametrize("padded", [65536, 131072, 65536 + 4096])
def test_envelopes_at_a_chunk_edge_are_accepted(client, token, team_key, padded):
    report = as_report(team_key, body_for_padded(padded, "report"))
    attachment = as_report(team_key, body_for_padded(padded), kind="attachment")
    assert len(attachment) == REPORT_HEADER + -(-padded // spec.CHUNK_BYTES) * spec.CHUNK_OVERHEAD + padded
    response = submit(client, token, upload(client, token, report), [upload(client, token, attachment)])
    assert response.status_code == 200
    assert stored_envelopes() == [("report", report), ("attachment", attachment)]


def test_follow_ups_are_judged_for_two_recipients(client, token, team_key):
    from app.domain.db import database
    from app.domain.models import Mailbox
    from crypto import PublicKey

    lookup_token = bytes(range(32))
    submit(client, token, upload(client, token, as_report(team_key)), lookup_token=lookup_token)
    sign_in_by_token(client, lookup_token)
    token = csrf_token(client.get("/mailbox").data)
    with database.connection_context():
        reporter = PublicKey.parse(Mailbox.get().public_key)
    both = sealed(team_key, recipients=[team_key.public, reporter], kind="message")
    handle = start(client, token, len(both) + 1, "message").get_json()["id"]
    answer = put(client, token, handle, 0, both + b"\0")
    assert answer.get_json()["error"] == "impossible-size"
    nothing_kept(handle)
    missing_team = sealed(team_key, recipients=[reporter], kind="message")
    handle = start(client, token, len(missing_team), "message").get_json()["id"]
    assert put(client, token, handle, 0, missing_team).get_json()["error"] == "wrong-recipients"
    assert upload(client, token, both, "message")


# --- the team's replies: sealed in the browser, or a file made by `meldpunt-team reply` ---------


@pytest.fixture
def reported(portal, client, token, team_key):
    """A report sent through the browser path, a signed-in team member, and the reporter's key."""
    from app.domain.db import database
    from app.domain.models import Mailbox
    from crypto import PublicKey

    from .team_helpers import team_client

    submit(client, token, upload(client, token, as_report(team_key)))
    with database.connection_context():
        box = Mailbox.get()
        reference, reporter = box.report.reference, PublicKey.parse(box.public_key)
    return team_client(portal, "alice", "handler"), reference, reporter


def send_reply_file(team, reference: str, envelope: bytes) -> tuple[int, str]:
    page = team.get(f"/team/reports/{reference}")
    answer = team.post(
        upload_address(page.data),
        data={"csrf_token": csrf_token(page.data), "envelope": (io.BytesIO(envelope), "reply.mpe")},
        content_type="multipart/form-data",
    )
    return answer.status_code, team.get(f"/team/reports/{reference}").data.decode()


def replies_stored() -> int:
    from app.domain.db import database
    from app.domain.models import Item

    with database.connection_context():
        return Item.select().where(Item.kind == "reply").count()


def test_reply_files_without_an_envelopes_shape_are_refused(reported, team_key, other_key):
    import html

    team, reference, reporter = reported
    both = [reporter, team_key.public]
    reply = sealed(team_key, 100, both, "reply")
    count = len(spec.MAGIC) + 1
    cases = {
        "one byte more": (reply + b"\0", "This envelope is not whole"),
        "cut off": (reply[:-1], "This envelope is not whole"),
        "a last chunk of 17 bytes": (
            sealed(team_key, body_for_padded(65536, "reply"), both, "reply") + bytes(17),
            "This envelope is not whole",
        ),
        "count and length disagree": (changed(reply, count, bytes([1])), "This file is not a Meldpunt envelope."),
        "another version": (changed(reply, len(spec.MAGIC), bytes([9])), "format version this portal does not take"),
        "no team key": (sealed(team_key, 100, [reporter], "reply"), "not sealed to this report's reporter"),
        "an extra recipient": (
            sealed(team_key, 100, [*both, other_key.public], "reply"),
            "not sealed to this report's reporter",
        ),
        "an unopenable entry": (
            changed(reply, EPHEMERAL + spec.STANZA_BYTES, SMALL_ORDER[3]),
            "This envelope cannot be opened",
        ),
    }
    for name, (envelope, message) in cases.items():
        status, page = send_reply_file(team, reference, envelope)
        assert status == 303, name  # back to the report page, which says why
        assert message in html.unescape(page), name
        assert replies_stored() == 0, name  # nothing kept, complete or not
    status, page = send_reply_file(team, reference, reply)
    assert "stored unchanged" in page
    assert replies_stored() == 1


def test_team_browser_replies_are_checked_the_same_way(reported, team_key):
    team, reference, reporter = reported
    team_token = csrf_token(team.get(f"/team/reports/{reference}").data)
    reply = sealed(team_key, 100, [reporter, team_key.public], "reply")
    for envelope, code in [
        (reply + b"\0", "impossible-size"),
        (changed(reply, EPHEMERAL, SMALL_ORDER[4]), "unopenable"),
    ]:
        answer = team.post(
            "/team/uploads", data={"report": reference, "size": len(envelope)}, headers={"X-CSRFToken": team_token}
        )
        handle = answer.get_json()["id"]
        refused = team.put(
            f"/team/uploads/{handle}/0",
            data=envelope,
            headers={"X-CSRFToken": team_token, "Content-Type": "application/octet-stream"},
        )
        assert refused.status_code == 400
        assert refused.get_json()["error"] == code
        nothing_kept(handle)
