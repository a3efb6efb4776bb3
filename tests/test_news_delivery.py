"""News mail for reporters, what the reviews found (issue 13, part 2, second round): an address a
mail header would read differently, a mail server that stops halfway, the database never locked
while the mail server is talked to, the address stored with the report or not at all, the notice
key's rotation beside a reporter's change, the stop link, and addresses refused for good."""

import time

import pytest

from .conftest import TEST_DATABASE_URL, csrf_token
from .portal_helpers import REPORT, passphrase_from, sign_in, submit_report
from .test_news import (
    ADDRESS,
    BASE_URL,
    NOTICE,
    NOTICE_HEX,
    Inbox,
    _instance,
    _next_fixed_time,
    _opened,
    _pending,
    _report_with_address,
    _rows,
    notify,
    start_relay,
    tls_files,  # noqa: F401  (a fixture: the relay's STARTTLS certificate, which notify trusts)
)

TEAM = "security-team@example.nl"


@pytest.fixture
def news_portal(make_portal):
    return make_portal(MELDPUNT_NOTICE_KEY=NOTICE_HEX, MELDPUNT_BASE_URL=BASE_URL)


class Limited(Inbox):
    """A relay that rate-limits: after `limit` mails to reporters, every further one gets 421."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reporters = [rcpts for rcpts, _body in self.messages if TEAM not in rcpts]
        if address != TEAM and len(reporters) >= self.limit:
            return "421 too many messages, closing"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.fixture
def relay(tls_files):  # noqa: F811  (the fixture imported above)
    started = []

    def make(inbox):
        controller, port = start_relay(tls_files, inbox)
        started.append(controller)
        return port, tls_files[0]

    yield make
    for controller in started:
        controller.stop()


def _news_for_all() -> None:
    from app.domain import workflow
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        for report in Report.select():
            workflow.mark_news(report)


def _reporters(inbox) -> list[str]:
    return [rcpts[0] for rcpts, _body in inbox.messages if TEAM not in rcpts]


# --- 1. an address a mail header reads differently ------------------------------------------

ENCODED_WORDS = [
    "=?utf-8?q?x=0D=0ABcc=3A_evil=40evil.example?=@example.org",  # a line break and a Bcc
    "=?utf-8?q?evil=40evil.example=3E=2C=3Cx?=@example.org",  # a second recipient in To
]


@pytest.mark.parametrize("address", ENCODED_WORDS)
def test_an_encoded_word_is_not_an_address(news_portal, address):
    from app.domain.news import AddressRefused, normalise

    with pytest.raises(AddressRefused):
        normalise(address)
    response = _report_with_address(news_portal.test_client(), address)
    assert response.status_code == 400
    assert _rows() == []


def test_an_address_that_cannot_be_mailed_stops_no_other(news_portal, portal_config, relay):
    """One sealed before the check was strict: counted, its news kept; the others get their mail."""
    from app.domain import news
    from app.domain.db import database
    from app.domain.models import Mailbox, NewsAddress

    inbox = Inbox()
    port, cert = relay(inbox)
    for number in range(3):
        _report_with_address(news_portal.test_client(), f"reporter-{number}@example.org")
    with database.connection_context():
        bad = Mailbox.select().first()
    lost = _address_of(bad.id)
    with database.connection_context():
        sealed = news.seal(NOTICE.public, ENCODED_WORDS[0], "en", news.new_stop_token())
        NewsAddress.update(sealed=sealed).where(NewsAddress.mailbox == bad.id).execute()
    _news_for_all()
    run = notify(_instance(portal_config), port, cert)
    assert run.returncode == 0, run.stderr
    assert "2 mail(s) sent." in run.stdout
    assert "1 that no mail could be made for" in run.stdout
    assert sorted(_reporters(inbox)) == sorted({f"reporter-{n}@example.org" for n in range(3)} - {lost})
    assert "evil" not in "".join(body for _rcpts, body in inbox.messages)
    assert sorted(_pending()) == [False, False, True]
    assert "write-ahead log was busy" not in run.stdout


def _address_of(mailbox_id) -> str:
    from app.domain.db import database
    from app.domain.models import NewsAddress

    with database.connection_context():
        return _opened(bytes(NewsAddress.get(NewsAddress.mailbox == mailbox_id).sealed)).address


# --- 2 and 3. a relay that stops halfway; no lock while talking to it ---------------------


def test_a_relay_that_stops_halfway_leaves_only_the_rest_for_next_time(news_portal, portal_config, relay):
    inbox = Limited(limit=2)
    port, cert = relay(inbox)
    addresses = [f"reporter-{n}@example.org" for n in range(4)]
    for address in addresses:
        _report_with_address(news_portal.test_client(), address)
    _news_for_all()
    instance = _instance(portal_config)
    run = notify(instance, port, cert)
    assert run.returncode == 0, run.stderr
    assert "2 mail(s) sent." in run.stdout
    assert "2 left for the next fixed time" in run.stdout
    first = _reporters(inbox)
    assert len(first) == 2
    assert sorted(_pending()) == [False, False, True, True]  # those mailed are cleared, one by one
    inbox.limit = 10
    _next_fixed_time()
    assert notify(instance, port, cert).returncode == 0
    second = _reporters(inbox)[2:]
    assert sorted(first + second) == sorted(addresses)  # each once: none twice, none never
    assert _pending() == [False] * 4


def test_a_report_sent_while_news_mail_goes_out_is_stored(news_portal, portal_config, relay):
    """The database is not locked while the mail server is talked to (SQLite: no write waits 5 s
    and ends in 503)."""
    submitted = []

    class Slow(Inbox):
        async def handle_DATA(self, server, session, envelope):
            if TEAM not in envelope.rcpt_tos and not submitted:
                began = time.monotonic()
                response = submit_report(news_portal.test_client(), files=[])
                submitted.append((response.status_code, time.monotonic() - began))
            return await super().handle_DATA(server, session, envelope)

    inbox = Slow()
    port, cert = relay(inbox)
    _report_with_address(news_portal.test_client())
    _news_for_all()
    run = notify(_instance(portal_config), port, cert)
    assert run.returncode == 0, run.stderr
    [(status, seconds)] = submitted
    assert status == 200
    assert seconds < 4
    assert "1 mail(s) sent." in run.stdout


def test_the_order_of_the_mails_is_not_the_order_of_the_rows(news_portal, portal_config, relay):
    from app.domain import news
    from app.domain.db import database

    for number in range(8):
        _report_with_address(news_portal.test_client(), f"reporter-{number}@example.org")
    _news_for_all()
    with database.connection_context():
        rows = [row[0] for row in news.waiting()[0]]
    orders = set()
    for _attempt in range(6):
        inbox = Inbox()
        port, cert = relay(inbox)
        _news_for_all()
        _next_fixed_time()
        assert notify(_instance(portal_config), port, cert).returncode == 0
        orders.add(tuple(_reporters(inbox)))
    assert len(orders) > 1, "shuffled at each fixed time"
    assert len(rows) == 8


# --- 4. the address with the report, or nothing ------------------------------------------


def _failing_address_write(monkeypatch):
    from app.domain.errors import Busy
    from app.domain.models import NewsAddress

    def refuse(*args, **kwargs):
        raise Busy("the database is locked")

    monkeypatch.setattr(NewsAddress, "create", refuse)


def _nothing_stored() -> bool:
    from app.domain.db import database
    from app.domain.models import Item, Mailbox, Report

    with database.connection_context():
        return (
            Report.select().count() == 0
            and Mailbox.select().count() == 0
            and not Item.select().where(Item.report.is_null(False)).exists()
        )


def test_a_failed_address_write_stores_no_report(news_portal, monkeypatch):
    _failing_address_write(monkeypatch)
    response = _report_with_address(news_portal.test_client())
    assert response.status_code == 503
    assert "your report was not sent yet" in response.data.decode()
    assert _nothing_stored()


def test_a_failed_address_write_stores_no_browser_sealed_report(news_portal, monkeypatch, team_key):
    from crypto import Meta, seal_bytes

    from .test_sealed_uploads import identity_fields, sealed_to, upload

    client = news_portal.test_client()
    token = csrf_token(client.get("/report").data)
    handle = upload(client, token, seal_bytes(b'{"title": "x"}', sealed_to(team_key), Meta("report")))
    _failing_address_write(monkeypatch)
    data = {"csrf_token": token, "accept_policy": "y", "sealed": handle, "news_address": ADDRESS} | identity_fields()
    response = client.post("/report/sealed", data=data)
    assert response.status_code == 503
    assert _nothing_stored()


# --- 8. a refused sealed post lets its uploads go ------------------------------------------


def test_a_refused_sealed_post_releases_its_uploads(news_portal, team_key):
    from app.domain.db import database
    from app.domain.models import Item
    from crypto import Meta, seal_bytes

    from .test_sealed_uploads import identity_fields, sealed_to, upload

    client = news_portal.test_client()
    token = csrf_token(client.get("/report").data)
    handle = upload(client, token, seal_bytes(b'{"title": "x"}', sealed_to(team_key), Meta("report")))
    data = {"csrf_token": token, "accept_policy": "y", "sealed": handle, "news_address": "not an address"}
    data |= identity_fields()
    refused = client.post("/report/sealed?lang=en", data=data)
    assert refused.status_code == 400
    assert "This is not an e-mail address we can send to" in refused.data.decode()
    with database.connection_context():
        assert Item.select().count() == 0  # deleted, so it no longer counts against the budget
    again = client.post("/report/sealed?lang=en", data={**data, "news_address": ADDRESS})
    assert again.status_code == 400  # the handle is forgotten: the browser uploads anew
    page = again.data.decode()
    assert "The encrypted upload is incomplete. Send again." in page
    assert '<a href="#accept_policy">' not in page  # a line of the form's own, no link


def test_a_refused_post_never_deletes_uploads_a_report_has_adopted(news_portal, team_key):
    """A double submit: the second request claimed the same handles before the first stored its
    report with them, and is then refused (its challenge is spent). What it lets go must not
    include the report's own items: only uploads no report has adopted are deleted."""
    from app.domain.db import database
    from app.domain.models import Chunk, Item
    from app.domain.uploads import delete_unadopted
    from crypto import Meta, seal_bytes

    from .test_sealed_uploads import identity_fields, sealed_to, upload

    client = news_portal.test_client()
    token = csrf_token(client.get("/report").data)
    handle = upload(client, token, seal_bytes(b'{"title": "x"}', sealed_to(team_key), Meta("report")))
    spare = upload(client, token, seal_bytes(b"left over", sealed_to(team_key), Meta("attachment")))
    data = {"csrf_token": token, "accept_policy": "y", "sealed": handle} | identity_fields()
    assert client.post("/report/sealed?lang=en", data=data).status_code == 200
    with database.connection_context():
        claimed = list(Item.select())  # the first request's items and the spare one
        assert len(claimed) == 2
        delete_unadopted(claimed)
        [kept] = list(Item.select())
        assert kept.report is not None
        assert Chunk.select().where(Chunk.item == kept.id).count() > 0
    assert spare


def test_an_expired_sealed_form_says_so_without_a_link(news_portal):
    page = news_portal.test_client().post("/report/sealed?lang=en", data={"accept_policy": "y"}).data.decode()
    assert "The form had expired. Check it and send it again." in page
    assert '<a href="#accept_policy">' not in page


# --- 5. rotation beside the reporter's own change ----------------------------------------


def test_rotation_never_overwrites_an_address_changed_meanwhile(news_portal, monkeypatch):
    from app.domain import news
    from app.domain.db import database
    from app.domain.models import Mailbox
    from app.domain.settings import Settings
    from app.web.context import EXTENSION
    from crypto import PrivateKey

    _report_with_address(news_portal.test_client())
    newer = PrivateKey.generate()
    settings = news_portal.extensions[EXTENSION]
    rotated = Settings(
        {
            **settings,
            "MELDPUNT_NOTICE_KEY": newer.secret_bytes().hex(),
            "MELDPUNT_NOTICE_KEY_PREVIOUS": NOTICE.secret_bytes().hex(),
        }
    )
    opened = news.open_sealed

    def reporter_changes_it_meanwhile(keys, sealed):
        result = opened(keys, sealed)
        news.set_address(rotated, Mailbox.get(), "changed@example.org", "nl")
        return result

    monkeypatch.setattr(news, "open_sealed", reporter_changes_it_meanwhile)
    with database.connection_context():
        done = news.reseal(rotated)
    assert done.resealed == 0
    [sealed] = _rows()
    assert opened((newer,), sealed).address == "changed@example.org"


# --- 9. the stop link ----------------------------------------------------------------------


def _stop_link(inbox) -> str:
    import re

    [body] = [body for rcpts, body in inbox.messages if TEAM not in rcpts]
    return re.search(rf"{BASE_URL}(/news/stop/[A-Za-z0-9_-]+)", body).group(1)


def _only(inbox, address):
    only = Inbox()
    only.messages = [(rcpts, body) for rcpts, body in inbox.messages if rcpts == [address]]
    return only


def test_the_stop_link_stops_the_mail_without_the_passphrase(news_portal, portal_config, relay):
    inbox = Inbox()
    port, cert = relay(inbox)
    _report_with_address(news_portal.test_client())
    reference = _reference()
    _news_for_all()
    assert notify(_instance(portal_config), port, cert).returncode == 0
    path = _stop_link(inbox)
    stranger = news_portal.test_client()  # no session, no passphrase
    page = stranger.get(path + "?lang=en")
    assert page.status_code == 200
    text = page.data.decode()
    assert "Stop the news mail" in text
    main = text.split("<main", 1)[-1].split("</main>")[0]
    assert reference not in text
    assert "report" not in main.lower()
    assert len(_rows()) == 1  # looking is not stopping: a mail scanner follows links
    done = stranger.post(path + "?lang=en")  # the page's button: no CSRF token needed
    assert done.status_code == 200
    assert "No more news mail goes to this address" in done.data.decode()
    assert _rows() == []
    assert stranger.post(path).status_code == 200  # again, or a link never valid: the same page


def test_one_click_unsubscribe_as_rfc_8058_posts_it(news_portal, portal_config, relay):
    inbox = Inbox()
    port, cert = relay(inbox)
    _report_with_address(news_portal.test_client())
    _report_with_address(news_portal.test_client(), "other@example.org")
    _news_for_all()
    assert notify(_instance(portal_config), port, cert).returncode == 0
    mail = next(body for rcpts, body in inbox.messages if rcpts == [ADDRESS])
    from email import message_from_string, policy

    url = str(message_from_string(mail, policy=policy.default)["List-Unsubscribe"]).strip().strip("<>")
    assert url == BASE_URL + _stop_link(_only(inbox, ADDRESS))
    response = news_portal.test_client().post(
        url.removeprefix(BASE_URL),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    [left] = _rows()
    assert _opened(left).address == "other@example.org"  # only the one the link was sent to


def _reference() -> str:
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        return Report.get().reference


OTHER = "another.reporter@example.org"


def test_an_address_refused_for_good_at_five_fixed_times_is_deleted(news_portal, portal_config, relay):
    """Refused for good: the relay took another reporter's mail in the same run, so the refusal is
    the address's, not the relay's."""
    from app.domain import news

    inbox = Inbox(refuse=ADDRESS)
    port, cert = relay(inbox)
    _report_with_address(news_portal.test_client())
    _report_with_address(news_portal.test_client(), address=OTHER)
    instance = _instance(portal_config)
    for _time in range(news.REFUSALS_BEFORE_DELETION - 1):
        _news_for_all()
        _next_fixed_time()
        run = notify(instance, port, cert)
        assert "1 refused by the mail server" in run.stdout
        assert len(_rows()) == 2
    _news_for_all()
    _next_fixed_time()
    run = notify(instance, port, cert)
    assert "1 address(es) deleted" in run.stdout
    assert [_opened(row).address for row in _rows()] == [OTHER]
    assert _reporters(inbox).count(OTHER) == news.REFUSALS_BEFORE_DELETION


class Closed(Inbox):
    """A misconfigured relay: every reporter's address is refused with a 5.7.1 (relay access
    denied), which speaks of us, not of the address."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address != TEAM:
            return "554 5.7.1 Relay access denied"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.mark.parametrize("inbox", [Closed(), Inbox(refuse=ADDRESS)], ids=["relay-denied", "refused-alone"])
def test_a_relay_that_refuses_everyone_deletes_no_address(news_portal, portal_config, relay, inbox):
    """Neither a policy refusal of everyone nor a refusal with no other reporter's mail taken in the
    same run counts against an address: days of a bad relay must not delete every address."""
    from app.domain import news

    port, cert = relay(inbox)
    _report_with_address(news_portal.test_client())
    instance = _instance(portal_config)
    for _time in range(news.REFUSALS_BEFORE_DELETION + 1):
        _news_for_all()
        _next_fixed_time()
        run = notify(instance, port, cert)
        assert run.returncode == 0, run.stderr
        assert "deleted" not in run.stdout
    assert len(_rows()) == 1
    assert _pending() == [True]


def test_a_mail_that_goes_through_starts_the_count_anew(news_portal, portal_config, relay):
    from app.domain import news

    inbox = Inbox(refuse=ADDRESS)
    port, cert = relay(inbox)
    _report_with_address(news_portal.test_client())
    _report_with_address(news_portal.test_client(), address=OTHER)
    instance = _instance(portal_config)
    for refused in (True, False, *[True] * (news.REFUSALS_BEFORE_DELETION - 1)):
        inbox.refuse = ADDRESS if refused else ""
        _news_for_all()
        _next_fixed_time()
        notify(instance, port, cert)
    assert len(_rows()) == 2


def test_the_stop_hash_is_keyed_so_a_copy_of_a_mail_finds_no_row(news_portal):
    """Whoever holds a news mail (its relay, the reporter's provider) and a stolen database cannot
    find the address's row, and so its report, by hashing the link's token: the hash is keyed."""
    import hashlib

    from app.domain import news
    from app.domain.db import database
    from app.domain.models import NewsAddress
    from app.web.context import EXTENSION

    _report_with_address(news_portal.test_client())
    with database.connection_context():
        [row] = NewsAddress.select()
    token = _opened(bytes(row.sealed)).stop
    settings = news_portal.extensions[EXTENSION]
    assert row.stop == news.stop_hash(settings, token)
    assert row.stop not in {hashlib.sha256(token.encode()).hexdigest(), hashlib.blake2b(token.encode()).hexdigest()}
    assert news.stop_hash(settings, token) != news.stop_hash(settings, token + "x")


# --- 12. the mailbox's news form -----------------------------------------------------------


def test_the_mailbox_news_form_has_a_summary_and_says_an_expired_form_is_expired(news_portal):
    client = news_portal.test_client()
    passphrase = passphrase_from(submit_report(client, {**REPORT}, files=[]).data)
    assert sign_in(client, passphrase).status_code == 302
    page = client.get("/mailbox?lang=en")
    bad = client.post(
        "/mailbox/news?lang=en",
        data={"csrf_token": csrf_token(page.data), "action": "save", "news_address": "not an address"},
    )
    assert bad.status_code == 400
    text = bad.data.decode()
    assert 'id="news-error-summary"' in text
    assert '<a href="#news_address">' in text
    expired = client.post("/mailbox/news?lang=en", data={"csrf_token": "stale", "action": "save", "news_address": ""})
    assert expired.status_code == 400
    text = expired.data.decode()
    assert "expired" in text  # the global check's page, or the form's own line (mailbox.py)
    assert "Fill in an e-mail address" not in text


# --- 6. PostgreSQL: the purge CLUSTERs the news addresses too ------------------------------


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL's CLUSTER: set MELDPUNT_TEST_DATABASE_URL")
def test_the_purge_clusters_the_news_addresses(news_portal, portal_config):
    from .test_admin_cli import meldpunt

    for number in range(3):
        _report_with_address(news_portal.test_client(), f"reporter-{number}@example.org")
    instance = _instance(portal_config)
    purge = meldpunt("purge", instance=instance)
    assert purge.returncode == 0, purge.stderr
    assert "Rewrote the reporters' tables in the order of their keys (CLUSTER)" in purge.stdout
    assert sorted(_opened(row).address for row in _rows()) == [f"reporter-{n}@example.org" for n in range(3)]


# --- 12. `meldpunt check` on a previous notice key alone ------------------------------------


def test_check_says_a_previous_notice_key_alone_turns_news_off(news_portal, portal_config):
    from .test_news import _meldpunt

    instance = _instance(portal_config)
    text = (instance / "meldpunt.toml").read_text().replace("MELDPUNT_NOTICE_KEY", "MELDPUNT_NOTICE_KEY_PREVIOUS")
    (instance / "meldpunt.toml").write_text(text)
    result = _meldpunt("check", instance=instance)
    assert "MELDPUNT_NOTICE_KEY_PREVIOUS is set without MELDPUNT_NOTICE_KEY" in result.stdout
    assert result.returncode == 1


# --- 11. the portal's pages hold the notice key's public half only -------------------------


def test_the_web_process_has_only_the_public_half_of_the_notice_key(news_portal):
    from app.web.context import EXTENSION

    settings = news_portal.extensions[EXTENSION]
    assert settings.notice_keys == ()
    assert settings.notice_public.raw == NOTICE.public.raw
    secret = NOTICE.secret_bytes().hex()
    assert secret not in repr(dict(settings)) + repr(dict(news_portal.config))
    _report_with_address(news_portal.test_client())  # it seals all the same
    assert _opened(_rows()[0]).address == ADDRESS
