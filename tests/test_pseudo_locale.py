"""Issue 13: every visible text goes through the catalogue. A pseudo catalogue made from the messages
extracted now (each translation wrapped in ⟦…⟧, its letters accented, placeholders kept) replaces
English in a test portal; every page reachable from the URL map, the error pages and the mails are
rendered with it, and any visible text outside the markers fails the test, unless it is data: see
DATA_ELEMENTS and `Walk.data` (short on purpose, matched as whole words). News is on (a notice
key), every form is posted with the status it must answer, and the mailbox is walked again once the
team has acknowledged and replied. tests/test_pseudo_locale_browser.py does the same in Chromium for
the texts the scripts write.

What this cannot see: a value substituted into a placeholder sits inside its text's markers, so an
English value passes. Marking the values too would need the filters to know about the test; instead
the values that are words (states, roles, kinds, clocks) are themselves msgids, marked on their own
(⟦…⟦réçéîvéd⟧…⟧, which `unmarked` takes apart innermost first), and the values that are numbers,
sizes, days and times come from the web layer's filters, which
test_the_formatting_filters_write_the_visitor_s_language checks are Babel's, per language: run
under Dutch they must write what Babel writes for Dutch (decimal comma, day before month), so a
filter that wrote English itself fails."""

import html.parser
import inspect
import re
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from crypto import PrivateKey

from .conftest import csrf_token, upload_address
from .portal_helpers import REPORT, passphrase_from, submit_report
from .portal_helpers import sign_in as reporter_sign_in
from .team_helpers import team_client

ROOT = Path(__file__).parent.parent
OPEN, CLOSE = "⟦", "⟧"
PSEUDO = "en"  # the test portal's English is the pseudo catalogue; Babel formats dates as English
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd%]|\{\w+\}|<[^>]*>|&\w+;")
ACCENTS = str.maketrans("aceinouyACEINOUY", "àçéîñöûýÀÇÉÎÑÖÛÝ")
# Elements whose text is data, not a sentence: technical names (settings, columns, commands,
# keys), fingerprints, and anything the template marks translate="no".
DATA_ELEMENTS = ("code", "script", "style")
DATA_CLASSES = ("fingerprint", "fingerprint-inline", "key")
VISIBLE_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
NOTICE_KEY = PrivateKey.generate().secret_bytes().hex()
ADDRESS = "reporter@example.org"
REDIRECT = {302, 303}  # a form done: to the page that shows it was


def _babel_words() -> str:
    """Words Babel writes in a formatted day or time of the pseudo locale's base language."""
    from babel import Locale

    locale = Locale.parse(PSEUDO)
    words = {*locale.day_periods["format"]["abbreviated"].values()}
    for width in ("wide", "abbreviated"):
        words |= {*locale.months["format"][width].values(), *locale.days["format"][width].values()}
    return "|".join(sorted(words, key=len, reverse=True))


BABEL_WORDS = _babel_words()


def extract_pot(target: Path) -> Path:
    """The messages of the sources now, extracted with the Makefile's own options."""
    options = re.search(r"^EXTRACT := (.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1).split()
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([pybabel, "extract", *options, "-o", target, "."], cwd=ROOT, check=True, capture_output=True)
    return target


def pseudo(text: str) -> str:
    """Marked and accented, with placeholders and markup left as they are."""
    parts = PLACEHOLDER.split(text)
    kept = PLACEHOLDER.findall(text)
    accented = [part.translate(ACCENTS) for part in parts]
    joined = "".join(part + (kept[index] if index < len(kept) else "") for index, part in enumerate(accented))
    return OPEN + joined + CLOSE


@pytest.fixture(scope="module")
def pseudo_catalogue(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pseudo")
    with extract_pot(folder / "messages.pot").open("rb") as source:
        template = read_po(source)
    catalogue = Catalog(locale=PSEUDO)
    for message in template:
        if not message.id:
            continue
        string = tuple(pseudo(part) for part in message.id) if isinstance(message.id, tuple) else pseudo(message.id)
        catalogue.add(message.id, string, context=message.context)
    (folder / PSEUDO / "LC_MESSAGES").mkdir(parents=True)
    with (folder / PSEUDO / "LC_MESSAGES" / "messages.mo").open("wb") as target:
        write_mo(target, catalogue)
    return folder


def unmarked(text: str, data: tuple[str, ...] = ()) -> str:
    """What of a visible text did not come through the catalogue: the text without its marked
    parts and its data, if any letter is left."""
    rest, before = text, None
    while rest != before:  # innermost first: a translation may hold another as a value
        before, rest = rest, re.sub(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}", " ", rest)
    for value in sorted(data, key=len, reverse=True):  # whole words only: "ada" is not in "Canada"
        rest = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", " ", rest)
    rest = re.sub(rf"\b({BABEL_WORDS})\b", " ", rest)  # a day or time Babel formatted
    return rest.strip() if re.search(r"[^\W\d_]", rest) else ""


class VisibleText(html.parser.HTMLParser):
    """Every text a visitor sees or hears, with the elements it is in."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.found: list[tuple[str, str]] = []

    def _data_here(self) -> bool:
        return any(is_data for _tag, is_data in self.stack)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        is_data = (
            tag in DATA_ELEMENTS
            or attributes.get("translate") == "no"
            or any(name in DATA_CLASSES for name in classes)
            or "hidden" in attributes
            or (tag == "input" and attributes.get("type") == "hidden")
        )
        if not is_data and not self._data_here():
            for name in VISIBLE_ATTRIBUTES:
                if attributes.get(name):
                    self.found.append((f"<{tag} {name}>", attributes[name]))
            if tag == "input" and attributes.get("type") in ("submit", "button", "reset") and attributes.get("value"):
                self.found.append((f"<{tag} value>", attributes["value"]))
        if tag not in self.VOID:
            self.stack.append((tag, is_data))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        if data.strip() and not self._data_here():
            where = "/".join(tag for tag, _is_data in self.stack[-3:])
            self.found.append((where, data))


def problems(page: str, data: tuple[str, ...]) -> list[str]:
    parser = VisibleText()
    parser.feed(page)
    return [f"{where}: {text.strip()!r}" for where, text in parser.found if unmarked(text, data)]


# --- the URL map ------------------------------------------------------------------------------

# Endpoints that answer with something other than a page a person reads, and why.
NOT_PAGES = {
    "static": "files",
    "reporter.security_txt": "RFC 9116 fields for machines",
    "reporter.robots_txt": "for crawlers",
    "reporter.download": "an attachment, as the reporter sent it",
    "reporter.envelope": "an envelope as stored, for the browser to open",
    "reporter.start_upload": "JSON for the script (its texts: the browser test)",
    "reporter.upload_status": "JSON for the script",
    "reporter.upload_part": "JSON for the script",
    "team.start_upload": "JSON for the script",
    "team.upload_status": "JSON for the script",
    "team.upload_part": "JSON for the script",
    "team.enrol_qr": "an image",
    "team.export": "a bundle for meldpunt-team",
    "team.export_since": "a bundle for meldpunt-team",
    "audit.head_file": "JSON to keep",
    "audit.processing_json": "JSON, its texts the page's (same record)",
    "audit.processing_markdown": "Markdown, the same texts as the page",
    "reporter.report_sealed": "the sealed path; its answers are the form's own (browser test)",
    "reporter.mailbox_sealed": "the sealed path; its answers are the mailbox's own",
    "team.reply_sealed": "the sealed path; its answers are the report page's own",
}


class Walk:
    """The portal with a report, a reporter signed in, and an admin, a handler and a privacy
    officer, each with their own client; `visit` checks a page and remembers its endpoint."""

    def __init__(self, portal):
        self.portal = portal
        self.seen: set[str] = set()
        self.failures: list[str] = []
        self.reporter = portal.test_client()
        sent = submit_report(self.reporter)
        self.passphrase = passphrase_from(sent.data)
        self.admin = team_client(portal, "ada", "admin")
        self.handler = team_client(portal, "hanna", "handler")
        self.auditor = team_client(portal, "olga", "auditor")
        from app.domain.db import database
        from app.domain.models import Report

        with portal.app_context(), database.connection_context():
            self.reference = Report.select().get().reference
            self.fingerprint = portal.config["TEAM_KEY"].fingerprint
        self.data = (
            portal.config["MELDPUNT_ORGANISATION"],
            portal.config["MELDPUNT_BASE_URL"],
            "Nederlands",
            "English",
            "security.txt",
            "meldpunt-team",
            "MP-XXXX-XXXX",  # a placeholder showing a reference's shape
            self.reference,
            self.fingerprint,
            "ada",
            "hanna",
            "olga",
            "nina",  # accounts the walk makes
            "pia",
            "rita",
            "UTC",
            "A court case.",  # what the walk types in
            "It ended.",
            "A follow-up.",
            "Yes.",
            "Thanks.",
            "A reply.",
            *self.passphrase.split(),
            *(value for value in REPORT.values() if len(value) > 1),
            "poc.html",
            "screenshot.png",
        )
        self.check("reporter.report_form (sent)", sent.data.decode())

    def check(self, where: str, page: str) -> None:
        self.failures += [f"{where}: {problem}" for problem in problems(page, self.data)]

    def visit(self, client, method: str, path: str, endpoint: str, status: int | set = 200, **kwargs) -> str:
        """The page at `path`, checked; the endpoint counts as seen only if it answered `status`. A
        redirect (a POST's answer) is followed by hand, so its status is the one asserted, and the
        page it leads to (with its flash message) is checked too."""
        response = getattr(client, method)(path, **kwargs)  # no Accept-Language: English, the pseudo locale
        assert response.status_code in (status if isinstance(status, set) else {status}), (method, path, response)
        self.seen.add(endpoint)
        if response.status_code in (302, 303):
            path, response = response.location, client.get(response.location)
            assert response.status_code == 200, (path, response.status_code)
        page = response.data.decode()
        self.check(f"{method.upper()} {path}", page)
        return page

    def post(self, client, page_path: str, path: str, endpoint: str, status: int | set = REDIRECT, **data) -> str:
        token = csrf_token(client.get(page_path).data)
        return self.visit(client, "post", path, endpoint, status, data={"csrf_token": token, **data})

    def upload(self, client, page_path: str, endpoint: str, status: int | set = REDIRECT, **data) -> str:
        """A form that streams its files (the report form, the follow-up): multipart, to the
        address the page gives."""
        form = client.get(page_path).data
        data = {"csrf_token": csrf_token(form), **data}
        address = upload_address(form)
        return self.visit(client, "post", address, endpoint, status, data=data, content_type="multipart/form-data")


def walk_reporter(walk: Walk) -> None:
    client = walk.portal.test_client()
    for path, endpoint in [
        ("/", "reporter.home"),
        ("/policy", "reporter.policy"),
        ("/key", "reporter.team_key_page"),
        ("/hall-of-fame", "reporter.hall_of_fame"),
        ("/report", "reporter.report_form"),
        ("/replies", "reporter.login"),
    ]:
        walk.visit(client, "get", path, endpoint)
    assert 'name="news_address"' in client.get("/report").data.decode()  # news is on (NOTICE_KEY)
    walk.upload(client, "/report", "reporter.report_form", 400, title="x", news_address="x")  # its errors
    walk.post(client, "/replies", "/replies", "reporter.login", status=400, passphrase="wrong words")
    reporter = walk.reporter
    reporter_sign_in(reporter, walk.passphrase)
    walk.visit(reporter, "get", "/mailbox", "reporter.mailbox")
    walk.upload(reporter, "/mailbox", "reporter.mailbox", message="A follow-up.")
    news = "/mailbox/news", "reporter.news_address"
    walk.post(reporter, "/mailbox", *news, status=400, news_address="x", action="save")  # its error
    walk.post(reporter, "/mailbox", *news, news_address=ADDRESS, action="save")
    assert 'value="remove"' in walk.visit(reporter, "get", "/mailbox", "reporter.mailbox")  # "an address is kept"
    walk.post(reporter, "/mailbox", *news, action="remove")
    walk.post(reporter, "/mailbox", *news, news_address=ADDRESS, action="save")  # kept for walk_mailbox_again
    walk.visit(reporter, "get", "/mailbox/close", "reporter.close")
    walk.post(reporter, "/mailbox", "/logout", "reporter.logout")
    stop = "/news/stop/a-link-no-mail-carried"  # the news mail's stop link: the same page for any token
    walk.visit(client, "get", stop, "reporter.news_stop")
    walk.visit(client, "post", stop, "reporter.news_stop_confirmed")


def walk_mailbox_again(walk: Walk) -> None:
    """The mailbox once the team has acknowledged (assessment, expected fix date), replied and
    moved the report on, with a news address kept."""
    reporter = walk.portal.test_client()
    reporter_sign_in(reporter, walk.passphrase)
    page = walk.visit(reporter, "get", "/mailbox", "reporter.mailbox")
    assert "A reply." in page  # the reply
    assert "Yes." in page  # the assessment
    assert 'value="remove"' in page  # the news address is kept
    walk.upload(reporter, "/mailbox", "reporter.mailbox", 400, message="")  # its error
    walk.visit(reporter, "get", "/mailbox/close", "reporter.close")


def walk_team(walk: Walk) -> None:
    admin, handler = walk.admin, walk.handler
    report = f"/team/reports/{walk.reference}"
    walk.visit(walk.portal.test_client(), "get", "/team/signin", "team.signin")
    walk.post(walk.portal.test_client(), "/team/signin", "/team/signin", "team.signin", 400, name="x", password="y")
    walk.visit(handler, "get", "/team/", "team.home")
    walk.visit(handler, "get", "/team/?show=all&sort=newest", "team.home")
    walk.visit(handler, "get", report, "team.report")
    walk.post(handler, report, f"{report}/acknowledge", "team.acknowledge", 400, assessment="", fix_expected="")
    walk.post(
        handler, report, f"{report}/acknowledge", "team.acknowledge", assessment="Yes.", fix_expected="2030-01-31"
    )
    walk.post(handler, report, f"{report}/state", "team.change_state", state="confirmed", message="Thanks.")
    walk.post(handler, report, f"{report}/dates", "team.set_dates", fix_expected="2030-01-31", reason="")
    walk.post(handler, report, f"{report}/cra", "team.cra", step="aware")
    walk.post(handler, report, f"{report}/cra", "team.cra", step="cra_early_warning")
    walk.post(handler, report, f"{report}/reply", "team.reply", message="A reply.")
    walk.post(handler, report, f"{report}/reply-file", "team.reply_file", status=400)
    walk.post(admin, report, f"{report}/hold", "team.hold", action="place", reason="A court case.")
    walk.post(admin, report, f"{report}/hold", "team.hold", action="lift", reason="It ended.")
    for state in ("fixing", "resolved"):
        walk.post(handler, report, f"{report}/state", "team.change_state", state=state)
    walk.post(handler, report, f"{report}/credit", "team.credit", name="Ada L.")
    from app.domain.db import database
    from app.domain.models import Credit

    with walk.portal.app_context(), database.connection_context():
        credit = Credit.select().get().id
    walk.post(handler, report, f"{report}/credit/{credit}/withdraw", "team.withdraw_credit")
    walk.visit(handler, "get", report, "team.report")
    walk.visit(admin, "get", "/team/users", "team.users")
    walk.post(admin, "/team/users", "/team/users/new", "team.add_user", 200, name="nina", role="handler")
    walk.post(admin, "/team/users", "/team/users/new", "team.add_user", 200, name="pia", role="auditor")
    walk.visit(admin, "get", "/team/proposals", "team.proposals")
    walk.visit(walk.auditor, "get", "/audit/proposals", "audit.proposals")
    from app.domain.models import User

    with walk.portal.app_context(), database.connection_context():
        nina = User.get(User.name == "nina").id
    walk.post(admin, "/team/users", f"/team/users/{nina}", "team.user_action", 200, action="disable")
    proposal = re.findall(r'/team/proposals/(\d+)"', admin.get("/team/proposals").data.decode())
    walk.post(admin, "/team/proposals", f"/team/proposals/{proposal[0]}", "team.decide", decision="withdraw")
    client = walk.portal.test_client()
    walk.visit(client, "get", "/team/enrol/not-a-token", "team.enrol", status=404)
    from app.domain.accounts import create

    with walk.portal.app_context(), database.connection_context():
        _, token = create("rita", "handler")
    walk.visit(client, "get", f"/team/enrol/{token}", "team.enrol")
    walk.post(client, f"/team/enrol/{token}", f"/team/enrol/{token}", "team.enrol", 400, password="short", again="x")
    walk.post(handler, "/team/", "/team/signout", "team.signout")


def walk_audit(walk: Walk) -> None:
    auditor = walk.auditor
    for path, endpoint in [
        ("/audit/", "audit.home"),
        ("/audit/inventory", "audit.inventory"),
        ("/audit/retention", "audit.retention"),
        ("/audit/history", "audit.history"),
        (f"/audit/history?reference={walk.reference}", "audit.history"),
        ("/audit/self-check", "audit.selfcheck"),
        ("/audit/processing", "audit.processing"),
        ("/audit/proposals", "audit.proposals"),
    ]:
        walk.visit(auditor, "get", path, endpoint)
    walk.post(auditor, "/audit/history", "/audit/history/verify", "audit.verify_now")
    walk.post(walk.admin, "/audit/history", "/audit/proposals/new", "audit.propose", action="audit-verify-off")
    proposal = re.findall(r'/audit/proposals/(\d+)"', auditor.get("/audit/proposals").data.decode())
    walk.post(auditor, "/audit/proposals", f"/audit/proposals/{proposal[0]}", "audit.decide", decision="reject")


@pytest.fixture
def pseudo_portal(make_portal, pseudo_catalogue):
    # The policy is translated as a whole, one file per language (MELDPUNT_POLICY_DIR): here one
    # in the pseudo language.
    policy = pseudo_catalogue / "policy"
    policy.mkdir(exist_ok=True)
    (policy / f"policy.{PSEUDO}.md").write_text(f"# {pseudo('Policy')}\n\n{pseudo('We promise.')}\n")
    # Flask-Babel keeps loaded catalogues per locale on the one Babel object every app shares:
    # emptied before, so this portal loads the pseudo one, and after, so no other test sees it.
    from app.web.i18n import babel

    portal = make_portal(
        BABEL_TRANSLATION_DIRECTORIES=str(pseudo_catalogue),
        MELDPUNT_AUDIT_VERIFY="off",
        MELDPUNT_POLICY_DIR=str(policy),
        MELDPUNT_NOTICE_KEY=NOTICE_KEY,  # news on: the address field, the mailbox's news form
        MELDPUNT_BASE_URL="https://report.example.nl",
    )
    with portal.app_context():
        babel.domain_instance.cache.clear()
    yield portal
    with portal.app_context():
        babel.domain_instance.cache.clear()


def test_the_pseudo_catalogue_marks_and_keeps_placeholders():
    assert pseudo("Page %(page)s of %(pages)s") == "⟦Pàgé %(page)s öf %(pages)s⟧"
    assert pseudo("Sending {name}…") == "⟦Séñdîñg {name}…⟧"
    assert unmarked("⟦Séñdîñg⟧ 12 · 29 November 2026") == ""
    assert unmarked("⟦Kind⟧: report") == ": report"
    assert unmarked("⟦Màîl (⟦ñöt séñt⟧) tödàý⟧ ⟦ok⟧") == ""
    # Data is matched as whole words: a short name does not hide English that contains it.
    assert unmarked("ada · pia", ("ada", "pia")) == ""
    assert unmarked("Canada", ("ada",)) == "Canada"
    assert unmarked("Copiable", ("pia",)) == "Copiable"


def test_an_untranslated_text_is_found():
    """The check itself: plain English in a page is reported, marked text and data are not."""
    page = '<p>⟦Hélló⟧ <code>MELDPUNT_X</code></p><p title="Plain">ok</p><button>Send</button>'
    assert problems(page, ()) == ["<p title>: 'Plain'", "p: 'ok'", "button: 'Send'"]


def test_every_page_passes_through_the_catalogue(pseudo_portal):
    walk = Walk(pseudo_portal)
    walk_reporter(walk)
    walk_team(walk)
    walk_mailbox_again(walk)
    walk_audit(walk)
    assert sorted(set(walk.failures)) == []
    endpoints = {rule.endpoint for rule in pseudo_portal.url_map.iter_rules()}
    # A new route must be walked here (or named in NOT_PAGES with a reason): coverage never shrinks.
    assert endpoints - walk.seen - set(NOT_PAGES) == set()
    assert set(NOT_PAGES) <= endpoints


def test_every_error_page_passes_through_the_catalogue(pseudo_portal):
    """Every status the portal has a page for (app/web/errors.py), and every other one Werkzeug
    knows: a status without a text of ours must not show Werkzeug's English."""
    from flask import abort
    from werkzeug.exceptions import default_exceptions

    from app.web.errors import MESSAGES, STATUS_FOR

    raised = {status: error for error, status in STATUS_FOR.items()}

    def fail(code: int):
        if code in default_exceptions:
            abort(code)
        raise raised[code]()

    pseudo_portal.add_url_rule("/pseudo/<int:code>", "pseudo_abort", fail)
    client = pseudo_portal.test_client()
    failures = []
    data = ("Example B.V.", "Nederlands", "English", "security.txt")
    for code in sorted({*MESSAGES, *(code for code in default_exceptions if code >= 400)}):
        response = client.get(f"/pseudo/{code}")
        assert response.status_code == code
        failures += [f"{code}: {problem}" for problem in problems(response.data.decode(), data)]
    expired = client.post("/logout")  # the CSRF page of its own
    assert expired.status_code == 400
    failures += problems(expired.data.decode(), data)
    assert failures == []


def mails(settings, translate) -> dict[str, EmailMessage]:
    """Every mail the domain writes (app/domain/notify.py, app/domain/news.py), in the language
    `translate` speaks."""
    from app.domain import news, notify
    from crypto import PrivateKey

    found = notify.Pending(new_items=True)
    officers = ["privacy@example.nl"]
    opened = news.Opened("reporter@example.org", PSEUDO, PrivateKey.generate())
    return {
        "notify.compose": notify.compose(settings, found, "portal@example.nl", ["team@example.nl"], translate),
        "notify.head_message": notify.head_message(settings, "portal@example.nl", officers, translate),
        "notify.alarm_message broken": notify.alarm_message(
            settings, notify.Verification(broken_at=3), "portal@example.nl", officers, translate
        ),
        "notify.alarm_message failed": notify.alarm_message(
            settings, notify.verification_failed(ValueError()), "portal@example.nl", officers, translate
        ),
        "news.compose": news.compose(settings, opened, "portal@example.nl"),
    }


def test_every_mail_passes_through_the_catalogue(pseudo_portal, pseudo_catalogue, monkeypatch):
    from babel.support import Translations

    from app.domain import news, notify
    from app.domain.db import database
    from app.web.context import EXTENSION

    translations = Translations.load(str(pseudo_catalogue), [PSEUDO])

    def translate(text: str, **values: object) -> str:
        return translations.gettext(text) % values if values else translations.gettext(text)

    monkeypatch.setattr(notify, "translations", lambda language: translations)  # the reporter's language
    settings = pseudo_portal.extensions[EXTENSION]
    with pseudo_portal.app_context(), database.connection_context():
        written = mails(settings, translate)
    # Every function that writes a mail is here: a new mail must be added to `mails`.
    for module in (notify, news):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and name != "_mail":
                source = inspect.getsource(function)
                if "_mail(" in source or "EmailMessage()" in source:
                    assert any(key.startswith(f"{module.__name__.rsplit('.', 1)[1]}.{name}") for key in written), name
    data = ("Example B.V.", "meldpunt audit verify --against FILE", "docs/privacy.md", "ValueError", "/replies")
    failures = []
    for name, message in written.items():
        assert message is not None, name
        for text in (message["Subject"], message.get_content()):
            if unmarked(text, data):
                failures.append(f"{name}: {unmarked(text, data)!r}")
    assert failures == []


def test_the_formatting_filters_write_the_visitor_s_language(pseudo_portal):
    """Every filter app/web/i18n.py registers, run in a Dutch and an English request: its result is
    Babel's for that language (see the module docstring), and the two differ."""
    import datetime

    from babel import dates, numbers

    from app.web import i18n

    day = datetime.date(2026, 11, 29)
    moment = datetime.datetime(2026, 11, 29, 14, 5)  # naive UTC, as stored

    def babel_writes(language: str) -> dict[str, str]:
        utc = datetime.UTC
        return {
            "month": dates.format_date(day, "MMMM y", locale=language),
            "day": dates.format_date(day, "long", locale=language),
            "short_day": dates.format_date(day, "medium", locale=language),
            "moment": dates.format_datetime(moment.replace(tzinfo=utc), "medium", tzinfo=utc, locale=language),
            "number": numbers.format_decimal(1234567, locale=language),
            "size": numbers.format_decimal(4400 / 1024, "#,##0.#", locale=language),  # in "4,3 KiB"
        }

    values = {"month": day, "day": day, "short_day": day, "moment": moment, "number": 1234567, "size": 4400}
    registered = re.findall(r'template_filter\((?:\w+, )?"(\w+)"\)', inspect.getsource(i18n.init_app))
    assert sorted(registered) == sorted(values)  # a new filter is checked here too
    written = {}
    for language in ("nl", "en"):
        with pseudo_portal.test_request_context(f"/?lang={language}"):
            written[language] = {name: pseudo_portal.jinja_env.filters[name](value) for name, value in values.items()}
        expected = babel_writes(language)
        for name, text in written[language].items():
            assert expected[name] in text, (language, name, text, expected[name])
    for name in values:
        assert written["nl"][name] != written["en"][name], name
