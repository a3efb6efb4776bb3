"""Every page in both languages; security.txt, robots.txt, error pages, translations complete."""

import datetime
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .portal_helpers import passphrase_from, sign_in, submit_report

ROOT = Path(__file__).parent.parent
PAGES = {
    "/": ("Found a vulnerability? Tell us, safely.", "Een kwetsbaarheid gevonden? Meld het ons, veilig."),
    "/policy": ("What we promise", "Wat wij beloven"),
    "/report": ("Encrypt and send", "Versleutelen en versturen"),
    "/replies": ("Open my mailbox", "Mijn postvak openen"),
    "/key": ("The security team's public key", "De publieke sleutel van het securityteam"),
    "/missing": ("Page not found", "Pagina niet gevonden"),
}


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("language", ["en", "nl"])
def test_every_page_in_both_languages(client, path, language):
    english, dutch = PAGES[path]
    response = client.get(f"{path}?lang={language}")
    text = response.data.decode()
    assert f'<html lang="{language}">' in text
    assert (english if language == "en" else dutch) in text.replace("&#39;", "'")
    assert (dutch if language == "en" else english) not in text.replace("&#39;", "'")


def test_mailbox_and_passphrase_pages_in_dutch(client):
    client.get("/?lang=nl")
    page = submit_report(client, files=[])
    assert "Schrijf deze zeven woorden nu op." in page.data.decode()
    sign_in(client, passphrase_from(page.data))
    mailbox = client.get("/mailbox").data.decode()
    assert "Geplande openbaarmaking" in mailbox
    assert "nog niet" in mailbox
    assert "Ontvangen" in mailbox


def test_language_defaults_to_accept_language_and_the_switch_sticks(client):
    assert '<html lang="nl">' in client.get("/", headers={"Accept-Language": "nl-NL,nl;q=0.9"}).data.decode()
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "de-DE"}).data.decode()
    client.get("/?lang=nl")
    assert '<html lang="nl">' in client.get("/policy", headers={"Accept-Language": "en"}).data.decode()


def test_security_txt(make_portal):
    client = make_portal(MELDPUNT_BASE_URL="https://report.example.nl").test_client()
    response = client.get("/.well-known/security.txt")
    assert response.mimetype == "text/plain"
    fields = dict(line.split(": ", 1) for line in response.data.decode().splitlines())
    assert fields["Contact"] == "https://report.example.nl/report"
    assert fields["Encryption"] == "https://report.example.nl/key"
    assert fields["Policy"] == "https://report.example.nl/policy"
    assert fields["Preferred-Languages"] == "nl, en"
    assert fields["Canonical"] == "https://report.example.nl/.well-known/security.txt"
    expires = datetime.datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    assert datetime.timedelta(days=30) < expires - datetime.datetime.now(datetime.UTC) < datetime.timedelta(days=365)


def test_security_txt_contact_from_configuration(make_portal):
    client = make_portal(MELDPUNT_CONTACT="mailto:security@example.nl").test_client()
    assert "Contact: mailto:security@example.nl" in client.get("/.well-known/security.txt").data.decode()


def test_key_page_shows_key_and_fingerprint(client, team_key):
    text = client.get("/key").data.decode()
    assert str(team_key.public) in text
    assert team_key.public.fingerprint in text


def test_robots_txt_keeps_forms_and_mailboxes_out(client):
    text = client.get("/robots.txt").data.decode()
    assert "Disallow: /" in text
    assert "Allow: /policy" in text


def test_policy_fills_in_the_configured_terms(make_portal):
    client = make_portal(MELDPUNT_ORGANISATION="Gemeente Voorbeeld", MELDPUNT_DISCLOSURE_DAYS=90).test_client()
    text = client.get("/policy?lang=nl").data.decode()
    assert "Gemeente Voorbeeld" in text
    assert "90" in text
    assert "{" not in text


def test_own_policy_from_configuration(make_portal, tmp_path):
    (tmp_path / "policy.en.md").write_text("# Our own terms\n\n<script>alert(1)</script>\n")
    text = make_portal(MELDPUNT_POLICY_DIR=str(tmp_path)).test_client().get("/policy?lang=en").data.decode()
    assert "<h1>Our own terms</h1>" in text  # Markdown
    assert "<script>" not in text  # raw HTML escaped


@pytest.mark.parametrize(
    ("request_args", "english", "dutch"),
    [
        (("post", "/logout"), "The form has expired", "Het formulier is verlopen"),
        (("get", "/nothing-here"), "Page not found", "Pagina niet gevonden"),
        (("put", "/report"), "Not allowed", "Niet toegestaan"),
    ],
)
def test_error_pages_are_translated(client, request_args, english, dutch):
    method, path = request_args
    assert english in getattr(client, method)(path + "?lang=en").data.decode()
    assert dutch in getattr(client, method)(path + "?lang=nl").data.decode()


def test_every_message_has_a_dutch_translation(tmp_path):
    """Extract the messages from the code now and compare with the committed catalog."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "extract", "-F", "babel.cfg", "-k", "_l", "-o", pot, "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    from babel.messages.pofile import read_po

    wanted = {m.id for m in read_po(pot.open("rb")) if m.id}
    catalog = read_po((ROOT / "app/translations/nl/LC_MESSAGES/messages.po").open("rb"))
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert wanted - translated == set()
    for message in catalog:
        if message.id and isinstance(message.id, str):
            assert set(re.findall(r"%\(\w+\)s", message.id)) == set(re.findall(r"%\(\w+\)s", message.string))


def test_unexpected_errors_get_a_page_and_log_no_details(make_portal, caplog):
    from flask import abort

    portal = make_portal()

    def boom():
        raise RuntimeError(" ".join(["secret", "plaintext", "in an exception message"]))

    portal.add_url_rule("/boom", "boom", boom)
    portal.add_url_rule("/forbidden", "forbidden", lambda: abort(403))
    client = portal.test_client()
    response = client.get("/boom?lang=nl")
    assert response.status_code == 500
    assert "Er ging iets mis" in response.data.decode()
    assert "Traceback" not in response.data.decode()
    assert "secret plaintext" not in caplog.text
    assert "unhandled RuntimeError in boom" in caplog.text
    assert "Traceback" in caplog.text  # with the frames, so the operator can find the bug
    assert "in boom" in caplog.text  # the frame of the view that failed
    forbidden = client.get("/forbidden?lang=en")
    assert forbidden.status_code == 403
    assert "You do not have access to this page." in forbidden.data.decode()


def test_flask_cli_finds_the_app(tmp_path, team_key):
    import os

    env = {
        **os.environ,
        "MELDPUNT_INSTANCE": str(tmp_path),
        "MELDPUNT_TEAM_KEY": str(team_key.public),
        "SECRET_KEY": "y" * 40,
    }
    result = subprocess.run(
        [Path(sys.executable).parent / "flask", "--app", "wsgi", "routes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "reporter.report_form" in result.stdout
    assert "/.well-known/security.txt" in result.stdout


def test_errors_outside_the_views_are_logged_without_the_path_or_message(make_portal, caplog):
    """Flask logs what no error handler reached with the request path and the message; not here."""
    portal = make_portal(TESTING=False)

    @portal.after_request
    def _explode(response):
        if response.status_code == 404:
            raise RuntimeError(" ".join(["secret", "plaintext"]))
        return response

    response = portal.test_client().get("/no-such-page/with-a-secret-path")
    assert response.status_code == 500
    assert "with-a-secret-path" not in caplog.text
    assert "secret plaintext" not in caplog.text
    assert "unhandled RuntimeError" in caplog.text
    assert "_explode" in caplog.text


def test_flask_log_lines_with_an_exception_keep_its_frames_not_its_message(make_portal, caplog):
    portal = make_portal(TESTING=False)
    with portal.app_context():
        try:
            raise ValueError(" ".join(["secret", "plaintext"]))
        except ValueError:
            portal.logger.exception("Request finalizing failed with an error while handling an error")
    assert "Request finalizing failed" in caplog.text
    assert "ValueError" in caplog.text
    assert "secret plaintext" not in caplog.text


def test_the_home_page_and_the_policy_open_no_database_and_are_rendered_once(make_portal, monkeypatch):
    """Issue 12, point 4: a public page that reads nothing from the database does not connect to
    it, and the home page and the policy are rendered once per language, the same for every
    visitor without a session (bench/pages_bench.py measures what that is worth)."""
    from flask import template_rendered

    from app.domain.db import database

    portal = make_portal()
    portal.test_client().get("/robots.txt")  # the first request checks the schema, once per process
    connects = []
    monkeypatch.setattr(database.obj, "_connect", lambda real=database.obj._connect: connects.append(1) or real())
    rendered = []
    template_rendered.connect(
        lambda sender, template, context, **extra: rendered.append(template.name), portal, weak=False
    )
    for language in ("en", "nl", "en", "nl"):
        for path in ("/", "/policy"):
            page = portal.test_client().get(path, headers={"Accept-Language": language})
            assert page.status_code == 200
            assert f'<html lang="{language}">' in page.data.decode()
            assert "Set-Cookie" not in page.headers  # no cookie for looking
    assert connects == []
    assert sorted(rendered) == sorted(["reporter/home.html", "reporter/policy.html"] * 2)  # once per language
    # A visitor with a session (a message waiting to be shown once) gets a page of their own.
    client = portal.test_client()
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "MARKER-FLASH")]
    assert "MARKER-FLASH" in client.get("/").data.decode()


def test_the_report_form_gives_no_cookie_and_each_visitor_tokens_of_their_own(make_portal):
    """Issue 12, point 4: the report form made a CSRF token, a proof-of-work challenge and a
    sealed session cookie for every visitor. It is now rendered once per language, its tokens
    signed (no session) and filled in for each visitor (app/web/anonymous.py)."""
    import re

    from flask import template_rendered

    from .conftest import csrf_token
    from .portal_helpers import REPORT, passphrase_from

    portal = make_portal()
    rendered = []
    template_rendered.connect(
        lambda sender, template, context, **extra: rendered.append(template.name), portal, weak=False
    )
    pages = []
    for _visitor in range(3):
        page = portal.test_client().get("/report", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        assert "Set-Cookie" not in page.headers
        pages.append(page.data.decode())
    assert rendered.count("reporter/report.html") == 1
    tokens = [csrf_token(page.encode()) for page in pages]
    challenges = [re.search(r'data-pow-challenge="([0-9a-f]{32})"', page).group(1) for page in pages]
    assert len(set(challenges)) == 3
    assert all(re.search(r'\?csrf=[^"]+"', page) for page in pages)
    assert all("SLOT" not in page for page in pages)
    # Sent without JavaScript: the first cookie comes with the answer, the passphrase page.
    client = portal.test_client()
    sent = client.post("/report", data={"csrf_token": tokens[0], **REPORT}, query_string={"csrf": tokens[0]})
    assert len(passphrase_from(sent.data).split()) == 7
    assert len(set(tokens)) == 3  # a random part each, even within one second
    # Another site's form cannot use a token it fetched: the browser says where the post comes
    # from (Sec-Fetch-Site), or, an older one, names the page's origin.
    other = portal.test_client()
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling host under the same domain
        {"Origin": "https://evil.example"},
    ):
        refused = other.post(
            "/report", data={"csrf_token": tokens[1], **REPORT}, query_string={"csrf": tokens[1]}, headers=headers
        )
        assert refused.status_code == 400, headers
        assert "expired" in refused.data.decode()
    for headers in ({"Sec-Fetch-Site": "same-origin"}, {"Origin": "null"}, {"Origin": "http://localhost"}):
        answer = other.post(
            "/report", data={"csrf_token": tokens[1], **REPORT}, query_string={"csrf": tokens[1]}, headers=headers
        )
        assert len(passphrase_from(answer.data).split()) == 7, headers
    # The report form's token counts for the report form alone: not for a sign-in.
    passphrase = passphrase_from(sent.data)
    signin = other.post("/replies", data={"csrf_token": tokens[2], "passphrase": passphrase})
    assert signin.status_code == 400
    own = csrf_token(other.get("/replies").data)  # the sign-in form's, tied to the session
    assert other.post("/replies", data={"csrf_token": own, "passphrase": passphrase}).status_code == 302
    forged = other.post(
        "/report", data={"csrf_token": tokens[2][:-2] + "xx", **REPORT}, query_string={"csrf": tokens[2][:-2] + "xx"}
    )
    assert forged.status_code == 400


@pytest.mark.parametrize(
    ("raised", "status"),
    [
        ("peewee-interface", 500),  # peewee's own complaint (a query not bound): a bug, not "busy"
        ("redis-auth", 500),  # a wrong Redis password: a configuration fault
        ("redis-down", 503),
        pytest.param("sqlite-locked", 503, marks=pytest.mark.sqlite),
    ],
)
def test_only_a_database_or_redis_that_is_away_is_a_503(make_portal, monkeypatch, raised, status):
    """The review of issue 12: every InterfaceError, every PostgreSQL OperationalError and every
    Redis error was a 503 without a log line, hiding bugs and configuration faults."""
    import peewee
    import redis.exceptions

    errors = {
        "peewee-interface": peewee.InterfaceError("Query must be bound to a database in order to call execute()."),
        "redis-auth": redis.exceptions.AuthenticationError("invalid password"),
        "redis-down": redis.exceptions.ConnectionError("Connection refused"),
        "sqlite-locked": peewee.OperationalError("database is locked"),
    }
    portal = make_portal()

    def fail():
        raise errors[raised]

    monkeypatch.setitem(portal.view_functions, "reporter.hall_of_fame", fail)
    page = portal.test_client().get("/hall-of-fame?lang=nl")
    assert page.status_code == status
    if status == 503:
        assert page.headers["Retry-After"] == "60"


def test_a_read_calls_none_of_flask_limiters_hooks(make_portal, monkeypatch):
    """Issue 12, point 4: Flask-Limiter worked out every limit of a GET before its filter said
    "not counted". app/web/limits.py replaces its two hooks with ones that skip reads; this fails
    if a Flask-Limiter upgrade renames them (and the portal would not start)."""
    from functools import partial

    from app.web.limits import limiter

    portal = make_portal()
    before, after = portal.before_request_funcs[None], portal.after_request_funcs[None]
    assert not any(getattr(hook, "__self__", None) is limiter for hook in before)
    assert not any(isinstance(hook, partial) and hook.args == (limiter,) for hook in after)
    evaluated = []
    monkeypatch.setattr(type(limiter), "_Limiter__evaluate_limits", lambda *args: evaluated.append(args))
    assert portal.test_client().get("/report").status_code == 200
    # The view's own decorators still look, and find no limit that counts a GET.
    assert all(limits == [] for _limiter, _endpoint, limits in evaluated)
