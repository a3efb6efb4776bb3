"""News for the reporter (issue 13, part 2): an opt-in address, sealed to the notice key, and a
mail "there is news" at the fixed times through a real SMTP server (aiosmtpd) with STARTTLS and
authentication. The address is never in the database in the clear, never in the report the team
decrypts, never in a page of the team's or in what `meldpunt notify` prints."""

import datetime
import json
import os
import re
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from crypto import PrivateKey, open_bytes

from . import raw
from .conftest import csrf_token
from .portal_helpers import REPORT, passphrase_from, sign_in, submit_report
from .team_helpers import team_client, team_today

ADDRESS = "reporter-7c1e9a@example.org"
NOTICE = PrivateKey.generate()
NOTICE_HEX = NOTICE.secret_bytes().hex()
BASE_URL = "https://report.example.nl"
SMTP_USER, SMTP_PASSWORD = "meldpunt-mailer", "an smtp password for the test"


@pytest.fixture
def news_portal(make_portal):
    return make_portal(MELDPUNT_NOTICE_KEY=NOTICE_HEX, MELDPUNT_BASE_URL=BASE_URL)


def _report_with_address(client, address=ADDRESS, **kwargs):
    return submit_report(client, {**REPORT, "news_address": address}, files=[], **kwargs)


def _rows():
    from app.domain.db import database
    from app.domain.models import NewsAddress

    with database.connection_context():
        return [bytes(row.sealed) for row in NewsAddress.select()]


def _opened(sealed: bytes):
    from app.domain import news

    return news.open_sealed((NOTICE,), sealed)


# --- the address on the report form ---------------------------------------------------------


def test_the_form_explains_the_address_in_plain_words(news_portal, make_portal):
    page = news_portal.test_client().get("/report?lang=en").data.decode()
    assert 'name="news_address"' in page
    assert "if you want a short mail when there is news" in page
    assert "The mail never says what the news is" in page
    assert "change or remove the address in your mailbox at any time" in page
    # Without a notice key nothing is offered.
    assert 'name="news_address"' not in make_portal().test_client().get("/report").data.decode()


def test_the_address_is_sealed_and_not_part_of_the_report(news_portal, portal_config, team_key):
    client = news_portal.test_client()
    response = _report_with_address(client, "  Reporter-7c1e9a@EXAMPLE.org ")
    assert response.status_code == 200
    passphrase_from(response.data)
    [sealed] = _rows()
    opened = _opened(sealed)
    assert opened.address == "Reporter-7c1e9a@example.org"  # the domain in lower case
    assert opened.language == "en"
    assert len(sealed) == 512 + 48  # padded: the length says nothing of the address
    stored = raw.stored_bytes(Path(portal_config["INSTANCE"]))
    for form in (b"reporter-7c1e9a", b"Reporter-7c1e9a", "reporter-7c1e9a".encode("utf-16-le")):
        assert form not in stored
    # The report the team decrypts has no trace of it.
    from app.domain.blobs import BlobReader
    from app.domain.db import database
    from app.domain.models import Item

    with database.connection_context():
        item = Item.get(Item.kind == "report")
        _meta, body = open_bytes(BlobReader(item).read(), team_key)
    assert "7c1e9a" not in body.decode()
    assert set(json.loads(body)) == {
        "title",
        "system",
        "version",
        "description",
        "steps",
        "impact",
        "exploited",
        "credit",
    }


def test_the_language_goes_inside_the_sealed_box(news_portal):
    client = news_portal.test_client()
    client.get("/?lang=nl")  # the language cookie, as the switch on every page sets it
    _report_with_address(client)
    [sealed] = _rows()
    assert _opened(sealed).language == "nl"


def test_without_an_address_nothing_is_kept(news_portal):
    assert submit_report(news_portal.test_client(), files=[]).status_code == 200
    assert _rows() == []


@pytest.mark.parametrize(
    "address",
    [
        "not an address",
        "reporter@",
        "@example.org",
        "reporter@localhost",
        "reporter@example..org",
        "reporter@-example.org",
        "re porter@example.org",
        "reporter@example.org\r\nBcc: victim@example.org",
        "<reporter@example.org>",
        "reporter@@example.org",
        ".reporter@example.org",
        "reporter@192.168.0.1",
        "x" * 65 + "@example.org",
        "reporter@" + "a" * 250 + ".org",
    ],
)
def test_a_bad_address_is_a_translated_error_and_stores_nothing(news_portal, address):
    client = news_portal.test_client()
    client.get("/?lang=en")
    response = _report_with_address(client, address)
    assert response.status_code == 400
    page = response.data.decode()
    assert "This is not an e-mail address we can send to" in page or "This is too long." in page
    assert "Stored XSS in the feedback form" in page  # the form comes back with its text
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        assert Report.select().count() == 0
    assert _rows() == []


def test_the_address_check_is_the_domain_s():
    from app.domain.news import AddressRefused, normalise

    assert normalise("a.b+tag@Sub.Example.ORG") == "a.b+tag@sub.example.org"
    assert normalise("melder@bücher.example") == "melder@xn--bcher-kva.example"
    for bad in ("", "a@b", "a@b.c d", "ä@example.org"):
        with pytest.raises(AddressRefused):
            normalise(bad)


# --- the mailbox: change, remove, close ------------------------------------------------------


def _mailbox(client, passphrase):
    assert sign_in(client, passphrase).status_code == 302
    return client.get("/mailbox?lang=en")


def _post_news(client, action, address=""):
    page = client.get("/mailbox?lang=en")
    return client.post(
        "/mailbox/news?lang=en",
        data={"csrf_token": csrf_token(page.data), "action": action, "news_address": address},
    )


def test_the_reporter_leaves_changes_and_removes_the_address_in_the_mailbox(news_portal):
    client = news_portal.test_client()
    passphrase = passphrase_from(submit_report(client, files=[]).data)
    page = _mailbox(client, passphrase).data.decode()
    assert "No address is kept: you get no mail from us." in page
    assert "The mail never says what the news is" in page

    assert _post_news(client, "save", ADDRESS).status_code == 303
    page = client.get("/mailbox?lang=en").data.decode()
    assert "An address is kept for news" in page
    assert ADDRESS not in page  # never shown back
    assert _opened(_rows()[0]).address == ADDRESS

    refused = _post_news(client, "save", "no-at-sign.example.org")
    assert refused.status_code == 400
    assert "This is not an e-mail address we can send to" in refused.data.decode()
    assert _opened(_rows()[0]).address == ADDRESS  # unchanged
    empty = _post_news(client, "save", "")
    assert empty.status_code == 400
    assert "Fill in an e-mail address, or remove the one kept." in empty.data.decode()

    assert _post_news(client, "save", "other-address@example.net").status_code == 303
    [sealed] = _rows()
    assert _opened(sealed).address == "other-address@example.net"

    assert _post_news(client, "remove").status_code == 303
    assert _rows() == []
    assert "No address is kept" in client.get("/mailbox?lang=en").data.decode()


def test_the_news_form_needs_a_session_and_a_token(news_portal):
    client = news_portal.test_client()
    passphrase = passphrase_from(_report_with_address(client).data)
    assert client.post("/mailbox/news", data={"action": "remove"}).status_code in (302, 400)
    _mailbox(client, passphrase)
    assert client.post("/mailbox/news", data={"action": "remove"}).status_code == 400  # no CSRF token
    assert len(_rows()) == 1


def test_closing_the_mailbox_deletes_the_address(news_portal):
    client = news_portal.test_client()
    passphrase = passphrase_from(_report_with_address(client).data)
    _mailbox(client, passphrase)
    page = client.get("/mailbox/close")
    client.post("/mailbox/close", data={"csrf_token": csrf_token(page.data), "confirm": "y"})
    assert _rows() == []


def test_retention_deletes_the_address_with_an_unused_mailbox(news_portal):
    from app.domain import retention
    from app.domain.db import database
    from app.domain.models import Mailbox
    from app.web.context import EXTENSION

    _report_with_address(news_portal.test_client())
    settings = news_portal.extensions[EXTENSION]
    today = team_today(news_portal)
    with database.connection_context():
        Mailbox.update(last_used=today - datetime.timedelta(days=400)).execute()
        retention.run(settings, retention.plan(settings, today))
        assert Mailbox.select().count() == 0
    assert _rows() == []


def test_the_inventory_counts_the_addresses(news_portal):
    from app.domain import inventory, news
    from app.domain.db import database

    _report_with_address(news_portal.test_client())
    _report_with_address(news_portal.test_client(), "second-reporter@example.org")
    submit_report(news_portal.test_client(), files=[])
    with database.connection_context():
        tables = {table.name: table for table in inventory.inventory()}
        assert news.count() == 2
        assert inventory.unlabelled() == []
    assert tables["newsaddress"].rows == 2
    assert tables["newsaddress"].personal
    labels = {column.name: column.label for column in tables["newsaddress"].columns}
    assert labels["sealed"].granularity == inventory.CIPHERTEXT
    assert "consent" in labels["sealed"].basis


# --- what is news, and the flag ---------------------------------------------------------------


def _pending():
    from app.domain.db import database
    from app.domain.models import Mailbox

    with database.connection_context():
        return [row.news_pending for row in Mailbox.select()]


def test_only_the_team_makes_news_and_the_flag_is_only_a_flag(news_portal):
    client = news_portal.test_client()
    passphrase = passphrase_from(_report_with_address(client).data)
    assert _pending() == [False]
    page = _mailbox(client, passphrase)
    client.post("/mailbox", data={"csrf_token": csrf_token(page.data), "message": "more detail"})
    _post_news(client, "save", "changed@example.org")
    assert _pending() == [False]  # nothing the reporter does
    team = team_client(news_portal, "handler", "handler")
    reference = _reference()
    page = team.get(f"/team/reports/{reference}")
    team.post(
        f"/team/reports/{reference}/reply", data={"csrf_token": csrf_token(page.data), "message": "Thanks, looking"}
    )
    assert _pending() == [True]
    from app.domain.db import database

    with database.connection_context():
        column = {c.name: c.data_type for c in database.get_columns("mailbox")}["news_pending"]
    assert "date" not in column.lower()
    assert "time" not in column.lower()


def _reference() -> str:
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        return Report.get().reference


# --- the mail, through a real SMTP server with STARTTLS and AUTH ------------------------------


class Inbox:
    def __init__(self, refuse: str = ""):
        self.messages: list[tuple[list[str], str]] = []
        self.refuse = refuse
        self.logins: list[bytes] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse and address == self.refuse:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        assert session.authenticated
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def tls_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]
        + [
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    return folder / "cert.pem", folder / "key.pem"


def start_relay(files, inbox) -> tuple[Controller, int]:
    """aiosmtpd on loopback that insists on STARTTLS and on signing in before any mail, delivering
    to `inbox`; every login it is offered is noted in `inbox.logins`."""
    cert, key = files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        inbox.logins.append(auth_data.login if isinstance(auth_data, LoginPassword) else b"")
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == SMTP_USER.encode()
            and auth_data.password == SMTP_PASSWORD.encode()
        )
        return AuthResult(success=ok)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    return controller, port


@pytest.fixture
def smtp(tls_files):
    inbox = Inbox()
    controller, port = start_relay(tls_files, inbox)
    yield port, inbox, tls_files[0]
    controller.stop()


def _instance(portal_config) -> Path:
    instance = Path(portal_config["INSTANCE"])
    (instance / "meldpunt.toml").write_text(
        f'MELDPUNT_TEAM_KEY = "{portal_config["MELDPUNT_TEAM_KEY"]}"\n'
        f'SECRET_KEY = "{portal_config["SECRET_KEY"]}"\n'
        f'MELDPUNT_NOTICE_KEY = "{NOTICE_HEX}"\n'
        f'MELDPUNT_BASE_URL = "{BASE_URL}"\n'
    )
    return instance


def notify(instance: Path, port: int, cert: Path, **extra: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "MELDPUNT_INSTANCE": str(instance),
        "MELDPUNT_SMTP_HOST": "127.0.0.1",
        "MELDPUNT_SMTP_PORT": str(port),
        "MELDPUNT_SMTP_SECURITY": "starttls",
        "MELDPUNT_SMTP_USER": SMTP_USER,
        "MELDPUNT_SMTP_PASSWORD": SMTP_PASSWORD,
        "MELDPUNT_MAIL_TO": "security-team@example.nl",
        "MELDPUNT_MAIL_FROM": "meldpunt@example.nl",
        "SSL_CERT_FILE": str(cert),  # the test server's own certificate is the one trusted
        **extra,
    }
    return subprocess.run([Path(sys.executable).parent / "meldpunt", "notify"], env=env, capture_output=True, text=True)


def _next_fixed_time() -> None:
    from app.domain.db import database
    from app.domain.models import Setting
    from app.domain.notify import LAST_SLOT

    with database.connection_context():
        Setting.delete().where(Setting.key == LAST_SLOT).execute()


def _reply(team, reference: str, text: str) -> None:
    page = team.get(f"/team/reports/{reference}")
    response = team.post(
        f"/team/reports/{reference}/reply", data={"csrf_token": csrf_token(page.data), "message": text}
    )
    assert response.status_code == 303


def _to_reporter(inbox) -> list[str]:
    return [body for recipients, body in inbox.messages if recipients == [ADDRESS]]


def test_news_mail_says_there_is_news_and_where_to_sign_in_and_nothing_more(news_portal, portal_config, smtp):
    port, inbox, cert = smtp
    client = news_portal.test_client()
    _report_with_address(client)
    reference = _reference()
    instance = _instance(portal_config)
    # Nothing happened yet for the reporter: the team hears of the new report, the reporter nothing.
    first = notify(instance, port, cert)
    assert first.returncode == 0, first.stderr
    assert [recipients for recipients, _ in inbox.messages] == [["security-team@example.nl"]]
    assert inbox.logins == [SMTP_USER.encode()]

    team = team_client(news_portal, "handler", "handler")
    page = team.get(f"/team/reports/{reference}")
    team.post(
        f"/team/reports/{reference}/acknowledge",
        data={
            "csrf_token": csrf_token(page.data),
            "assessment": "ASSESSMENT-MARKER: a real issue",
            "fix_expected": (team_today(news_portal) + datetime.timedelta(days=20)).isoformat(),
        },
    )
    _reply(team, reference, "REPLY-MARKER: and one more thing")
    _next_fixed_time()
    run = notify(instance, port, cert)
    assert run.returncode == 0, run.stderr
    [mail] = _to_reporter(inbox)  # two pieces of news, one mail
    assert "News for reporters: 1 mail(s) sent." in run.stdout
    headers, body = mail.replace("\r\n", "\n").split("\n\n", 1)
    assert f"To: {ADDRESS}" in headers
    assert "Subject: News in your mailbox" in headers
    assert f"{BASE_URL}/replies" in body
    assert "There is news for you" in body
    for forbidden in [reference, "MARKER", "acknowledged", "Acknowledged", "assessment", "fix", "state", "reply"]:
        assert forbidden not in mail
    # No figures but those of the sign-in address: no date, no count, no reference.
    stop = re.search(rf"{BASE_URL}/news/stop/[A-Za-z0-9_-]{{32}}\n", body).group(0).strip()
    from email import message_from_string, policy

    parsed = message_from_string(mail, policy=policy.default)
    assert parsed["List-Unsubscribe"].strip() == f"<{stop}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    without_links = body.replace(f"{BASE_URL}/replies", "").replace(stop, "")
    assert not [word for word in without_links.split() if any(c.isdigit() for c in word)]
    # The address is never printed, not by the command, not in its errors.
    assert ADDRESS not in run.stdout + run.stderr

    # The next fixed time with nothing new: no mail to the reporter.
    _next_fixed_time()
    assert notify(instance, port, cert).returncode == 0
    assert len(_to_reporter(inbox)) == 1
    # A state change is news again, once.
    page = team.get(f"/team/reports/{reference}")
    team.post(f"/team/reports/{reference}/state", data={"csrf_token": csrf_token(page.data), "state": "confirmed"})
    assert "Not yet" in notify(instance, port, cert).stdout  # the same fixed time: nothing goes out
    assert len(_to_reporter(inbox)) == 1
    _next_fixed_time()
    notify(instance, port, cert)
    assert len(_to_reporter(inbox)) == 2
    assert _pending() == [False]


def test_news_mail_is_in_the_reporter_s_language(news_portal, portal_config, smtp, monkeypatch):
    """The mail's language is the one sealed with the address: the text goes through that
    language's catalogue, and through nothing else (a stand-in catalogue records what it is asked)."""
    from app.domain import news
    from app.web.context import EXTENSION

    settings = news_portal.extensions[EXTENSION]
    seen = []

    class Dutch:
        def gettext(self, text):
            seen.append(text)
            return {news.SUBJECT: "Nieuws in je brievenbus"}.get(text, text)

    monkeypatch.setattr(news.notify, "translations", lambda language: Dutch() if language == "nl" else None)
    opened = news.Opened(ADDRESS, "nl", NOTICE)
    message = news.compose(settings, opened, "meldpunt@example.nl")
    assert message["Subject"] == "Nieuws in je brievenbus"
    assert seen == [news.SUBJECT, news.BODY]
    assert message["To"] == ADDRESS
    assert "example.nl" not in message["Message-ID"]
    assert socket.gethostname() not in message["Message-ID"]


def test_a_refused_address_is_tried_again_and_never_printed(news_portal, portal_config, smtp):
    port, inbox, cert = smtp
    inbox.refuse = ADDRESS
    _report_with_address(news_portal.test_client())
    _report_with_address(news_portal.test_client(), "second-reporter@example.org")
    from app.domain import workflow
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        for report in Report.select():
            workflow.mark_news(report)
    instance = _instance(portal_config)
    run = notify(instance, port, cert)
    assert run.returncode == 0, run.stderr
    assert "1 mail(s) sent. 1 refused by the mail server" in run.stdout
    assert ADDRESS not in run.stdout + run.stderr
    assert sorted(_pending()) == [False, True]  # the refused one waits for the next fixed time
    inbox.refuse = ""
    _next_fixed_time()
    notify(instance, port, cert)
    assert len(_to_reporter(inbox)) == 1
    assert _pending() == [False, False]


def test_a_wrong_smtp_password_sends_nothing_and_keeps_the_news(news_portal, portal_config, smtp):
    port, inbox, cert = smtp
    _report_with_address(news_portal.test_client())
    from app.domain import workflow
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        workflow.mark_news(Report.get())
    result = notify(_instance(portal_config), port, cert, MELDPUNT_SMTP_PASSWORD="wrong")
    assert result.returncode != 0
    assert inbox.messages == []
    assert ADDRESS not in result.stdout + result.stderr
    assert _pending() == [True]


# --- the notice key: rotation, a missing key, `meldpunt init` ------------------------------


def test_rotation_reseals_to_the_new_key_and_a_missing_key_opens_nothing(news_portal, portal_config, smtp):
    port, inbox, cert = smtp
    _report_with_address(news_portal.test_client())
    instance = _instance(portal_config)
    newer = PrivateKey.generate()
    rotated = {"MELDPUNT_NOTICE_KEY": newer.secret_bytes().hex(), "MELDPUNT_NOTICE_KEY_PREVIOUS": NOTICE_HEX}
    run = notify(instance, port, cert, **rotated)
    assert "News addresses: 1 sealed again to the current notice key." in run.stdout
    from app.domain import news

    [sealed] = _rows()
    assert news.open_sealed((newer,), sealed).address == ADDRESS
    # The old key alone opens it no longer; news waits, and nothing is printed of the address.
    from app.domain import workflow
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        workflow.mark_news(Report.get())
    _next_fixed_time()
    lost = notify(instance, port, cert)
    assert "1 address(es) no configured notice key opens" in lost.stdout
    assert _to_reporter(inbox) == []
    assert _pending() == [True]


def _meldpunt(*args: str, instance: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MELDPUNT_INSTANCE": str(instance)}
    return subprocess.run([Path(sys.executable).parent / "meldpunt", *args], env=env, capture_output=True, text=True)


def test_init_makes_a_notice_key_in_the_instance_file_never_in_the_database(tmp_path, team_key):
    import tomllib

    instance = tmp_path / "fresh"
    result = _meldpunt("init", "--team-key", str(team_key.public), instance=instance)
    assert result.returncode == 0, result.stderr
    values = tomllib.loads((instance / "meldpunt.toml").read_text())
    secret = bytes.fromhex(values["MELDPUNT_NOTICE_KEY"])
    assert len(secret) == 32
    settings_file = instance / "meldpunt.toml"
    aside = settings_file.rename(tmp_path / "meldpunt.toml")  # the database's files only
    stored = raw.stored_bytes(instance)
    aside.rename(settings_file)
    assert secret not in stored
    assert values["MELDPUNT_NOTICE_KEY"].encode() not in stored
    assert values["MELDPUNT_NOTICE_KEY"] not in result.stdout + result.stderr
    assert "[ok] notice key set" in _meldpunt("check", instance=instance).stdout
    again = _meldpunt("init", "--team-key", str(team_key.public), instance=instance)
    assert again.returncode == 0
    kept = tomllib.loads((instance / "meldpunt.toml").read_text())["MELDPUNT_NOTICE_KEY"]
    assert kept == values["MELDPUNT_NOTICE_KEY"]  # an existing key is never replaced


def test_a_malformed_notice_key_is_refused_without_showing_it(make_portal):
    from app.domain.settings import ConfigError, Settings

    with pytest.raises(ConfigError) as refused:
        Settings({"MELDPUNT_NOTICE_KEY": "abcdef0123"}).notice_keys  # noqa: B018
    assert "abcdef0123" not in str(refused.value)


# --- the team never sees it ------------------------------------------------------------------


def test_the_team_s_pages_and_export_hold_no_address(news_portal):
    _report_with_address(news_portal.test_client())
    reference = _reference()
    team = team_client(news_portal, "handler", "handler")
    assert b"7c1e9a" not in team.get(f"/team/reports/{reference}").data
    assert b"7c1e9a" not in team.get("/team/").data
    export = team.get(f"/team/reports/{reference}/export")
    assert export.status_code == 200
    assert b"7c1e9a" not in export.data


def test_without_a_base_url_no_news_mail_goes_out_and_the_news_waits(news_portal, portal_config, smtp):
    port, inbox, cert = smtp
    _report_with_address(news_portal.test_client())
    from app.domain import workflow
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        workflow.mark_news(Report.get())
    run = notify(_instance(portal_config), port, cert, MELDPUNT_BASE_URL="")
    assert run.returncode == 0, run.stderr
    assert "set MELDPUNT_BASE_URL" in run.stdout
    assert _to_reporter(inbox) == []
    assert _pending() == [True]


def test_a_new_date_is_news_and_saving_the_same_one_is_not(news_portal):
    _report_with_address(news_portal.test_client())
    reference = _reference()
    team = team_client(news_portal, "handler", "handler")
    fix = (team_today(news_portal) + datetime.timedelta(days=40)).isoformat()

    def save_dates() -> None:
        page = team.get(f"/team/reports/{reference}").data.decode()
        disclosure = re.search(
            r'id="disclosure_planned" name="disclosure_planned" type="date" value="([^"]+)"', page
        ).group(1)
        data = {"csrf_token": csrf_token(page), "fix_expected": fix, "disclosure_planned": disclosure}
        assert team.post(f"/team/reports/{reference}/dates", data=data).status_code == 303

    save_dates()
    assert _pending() == [True]
    from app.domain import news
    from app.domain.db import database
    from app.domain.models import NewsAddress
    from app.web.context import EXTENSION

    with database.connection_context():
        NewsAddress.delete().execute()
        news.deliver(news_portal.extensions[EXTENSION], "meldpunt@example.nl")
    assert _pending() == [False]  # no address: the fixed time clears the flag all the same
    save_dates()
    assert _pending() == [False]  # the same dates again: nothing new


def test_a_reporter_who_wrote_in_dutch_gets_the_mail_in_dutch(news_portal, portal_config, smtp):
    from email import message_from_string, policy

    from app.domain import news, workflow
    from app.domain.db import database
    from app.domain.models import Report

    port, inbox, cert = smtp
    client = news_portal.test_client()
    client.get("/?lang=nl")
    _report_with_address(client)
    with database.connection_context():
        workflow.mark_news(Report.get())
    assert notify(_instance(portal_config), port, cert).returncode == 0
    [mail] = _to_reporter(inbox)
    parsed = message_from_string(mail, policy=policy.default)
    dutch = news.notify.translations("nl")
    assert dutch.gettext(news.SUBJECT) != news.SUBJECT  # the catalogue has it (make translations)
    assert parsed["Subject"] == dutch.gettext(news.SUBJECT)
    assert parsed.get_content().strip().startswith(dutch.gettext(news.BODY).split("%")[0].strip())
    assert f"{BASE_URL}/replies" in parsed.get_content()


def test_the_mail_names_the_onion_address_too_when_there_is_one(news_portal):
    """Reporters who came over Tor find their way back the same way; the rest of the mail is as
    before, without a reference, a state or a date."""
    from app.domain import news
    from app.domain.settings import Settings
    from app.web.context import EXTENSION

    settings = news_portal.extensions[EXTENSION]
    plain = news.compose(settings, news.Opened(ADDRESS, "en", NOTICE), "meldpunt@example.nl").get_content()
    assert ".onion" not in plain
    onion = "http://" + "a" * 56 + ".onion"
    with_onion = Settings({**settings, "MELDPUNT_ONION_ADDRESS": onion + "/"})
    body = news.compose(with_onion, news.Opened(ADDRESS, "en", NOTICE), "meldpunt@example.nl").get_content()
    assert f"{onion}/replies" in body
    assert body.startswith(plain.rstrip("\n"))


def test_without_a_sender_of_its_own_no_news_mail_goes_out(news_portal, portal_config, smtp):
    port, inbox, cert = smtp
    _report_with_address(news_portal.test_client())
    from app.domain import workflow
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        workflow.mark_news(Report.get())
    run = notify(_instance(portal_config), port, cert, MELDPUNT_MAIL_FROM="")
    assert run.returncode == 0, run.stderr
    assert "set MELDPUNT_MAIL_FROM" in run.stdout
    assert _to_reporter(inbox) == []
    assert _pending() == [True]
