"""Real sessions of every kind, made over HTTP against a served portal, for bench/fuzz_routes.py.

A reporter submits a report and signs in with the passphrase shown; team users are created with
`app.domain.accounts` on the served instance's database (as `meldpunt user add` does) and then
enrol and sign in through the pages, with real TOTP codes. Each session is what a browser holds
afterwards: its cookie and the CSRF token of the last form it was shown.
"""

import hashlib
import html
import http.client
import json
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pyotp

from tests.served import served_database

PASSWORD = "a long team password, not a real one"  # noqa: S105  (a throw-away instance's)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TEAM_ROLES = ("handler", "admin", "auditor")


@dataclass(frozen=True)
class Session:
    cookie: str | None  # "mp_session=…", or None for a visitor who has none yet
    token: str | None  # a CSRF token that this cookie's session accepts


@dataclass
class Sessions:
    """What the fuzzer may use: a session per kind, plus the values a real visitor would know."""

    kinds: dict[str, Session]
    references: list[str]
    handles: dict[str, str]  # session kind -> an upload it started
    enrol_token: str
    passphrase: str
    victim: int  # a user id the fuzzer may disable or reset: no session depends on it
    users: list[int] = field(default_factory=list)  # ids of the users whose sessions are used


class Browser:
    """One visitor over http.client: keeps its session cookie and the last CSRF token it saw."""

    def __init__(self, port: int):
        self.port = port
        self.cookie: str | None = None
        self.token: str | None = None

    def session(self) -> Session:
        return Session(self.cookie, self.token)

    def request(self, method: str, path: str, fields: dict | None = None) -> tuple[int, str]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if fields is not None else {}
        if self.cookie:
            headers["Cookie"] = self.cookie
        body = urllib.parse.urlencode(fields) if fields is not None else None
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        page = response.read().decode(errors="replace")
        conn.close()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            if name == "mp_session":
                kept = rest.split(";")[0]
                self.cookie = f"mp_session={kept}" if kept else None
        found = CSRF.search(page)
        if found:
            self.token = found.group(1)
        return response.status, page

    def get(self, path: str) -> tuple[int, str]:
        return self.request("GET", path)

    def post(self, path: str, fields: dict) -> tuple[int, str]:
        return self.request("POST", path, {"csrf_token": self.token, **fields})


def solve(challenge: str, bits: int) -> int:
    """The proof of work of app/web/pow.py, done as the browser does it."""
    prefix = bytes.fromhex(challenge)
    for counter in range(2**64):
        digest = hashlib.blake2b(prefix + counter.to_bytes(8, "little"), digest_size=32).digest()
        if 256 - int.from_bytes(digest, "big").bit_length() >= bits:
            return counter
    raise AssertionError("no nonce")


def reporter(port: int) -> tuple[str, str]:
    """Submit a report without JavaScript; its reference and the passphrase shown once."""
    browser = Browser(port)
    _status, page = browser.get("/report?lang=en")
    fields = {"accept_policy": "y", "title": "Fuzz", "system": "bench", "description": "A report for the fuzzer."}
    status, page = browser.post(form_action(page), fields)
    assert status == 200, (status, page[:500])
    words = re.findall(r"<span>([a-z]+)</span>", page)
    reference = re.search(r"Reference: (MP-[A-Z0-9]{4}-[A-Z0-9]{4})", page).group(1)
    return reference, " ".join(words)


def form_action(page: str) -> str:
    """Where the page's file form posts (its address may carry the CSRF token, as the browser's does)."""
    found = re.search(r'<form method="post" enctype="multipart/form-data" action="([^"]+)"', page)
    return html.unescape(found.group(1))


def reporter_session(port: int, passphrase: str) -> Browser:
    browser = Browser(port)
    browser.get("/replies")
    status, _page = browser.post("/replies", {"passphrase": passphrase})
    assert status == 302, status
    browser.get("/mailbox")
    return browser


def create_user(instance: Path, name: str, role: str) -> tuple[int, str]:
    from app.domain import accounts

    with served_database(instance):
        user, token = accounts.create(name, role)
    return user.id, token


def enrol(port: int, token: str) -> pyotp.TOTP:
    browser = Browser(port)
    browser.get(f"/team/enrol/{token}")
    status, _page = browser.post(f"/team/enrol/{token}", {"password": PASSWORD, "again": PASSWORD})
    assert status == 302, status
    _status, page = browser.get(f"/team/enrol/{token}")
    totp = pyotp.TOTP(re.search(r'<code class="key">([A-Z2-7]+)</code>', page).group(1))
    status, _page = browser.post(f"/team/enrol/{token}", {"code": totp.now()})
    assert status == 302, status
    return totp


def team_session(port: int, name: str, totp: pyotp.TOTP, home: str) -> Browser:
    browser = Browser(port)
    browser.get("/team/signin")
    # The enrolment used the current step, and a used step is refused: the next one is accepted.
    status, _page = browser.post(
        "/team/signin", {"name": name, "password": PASSWORD, "code": totp.at(time.time() + 30)}
    )
    assert status == 302, status
    browser.get(home)
    return browser


def upload(browser: Browser, path: str, fields: dict) -> str:
    status, page = browser.post(path, {"size": "1000", **fields})
    assert status == 200, (status, page[:300])
    return json.loads(page)["id"]


def prepare(port: int, instance: Path) -> Sessions:
    """A session of each kind, and a spare of the kinds a sign-out would end (see `SPARE`)."""
    reference, passphrase = reporter(port)
    kinds: dict[str, Browser] = {"reporter": reporter_session(port, passphrase)}
    kinds["spare-reporter"] = reporter_session(port, passphrase)
    users = []
    for role in (*TEAM_ROLES, "spare-handler"):
        user_id, token = create_user(instance, role, role.removeprefix("spare-"))
        users.append(user_id)
        home = "/audit/" if role == "auditor" else "/team/"
        kinds[role] = team_session(port, role, enrol(port, token), home)
    victim, enrol_token = create_user(instance, "victim", "handler")
    anonymous = Browser(port)
    _status, page = anonymous.get("/report")
    challenge, signed, bits = re.search(
        r'data-pow-challenge="(\w+)" data-pow-signed="([^"]+)" data-pow-bits="(\d+)"', page
    ).groups()
    work = {"purpose": "report", "pow": str(solve(challenge, int(bits))), "pow_challenge": signed}
    work["reporter_key"] = "11" * 32  # the public key a browser derived: a report's uploads name it
    handles = {
        "anonymous": upload(anonymous, "/uploads", work),
        "reporter": upload(kinds["reporter"], "/uploads", {"purpose": "message"}),
        "handler": upload(kinds["handler"], "/team/uploads", {"report": reference}),
    }
    kinds["anonymous"] = anonymous
    sessions = {kind: browser.session() for kind, browser in kinds.items()}
    sessions["none"] = Session(None, None)
    return Sessions(sessions, [reference], handles, enrol_token, passphrase, victim, users)


def still_signed_in(port: int, sessions: Sessions) -> dict[str, bool]:
    """Whether each main session still opens its own page (the fuzzer must not have ended it)."""
    pages = {"reporter": "/mailbox", "handler": "/team/", "admin": "/team/users", "auditor": "/audit/"}
    alive = {}
    for kind, path in pages.items():
        browser = Browser(port)
        browser.cookie = sessions.kinds[kind].cookie
        alive[kind] = browser.get(path)[0] == 200
    return alive
