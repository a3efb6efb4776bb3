"""The requests of bench/fuzz_routes.py: one function, `build(plan, seed, index)`, makes request
`index` of `seed` as raw bytes, the same every time for the same plan, so that a failure is
reproduced from its seed and number alone.

Each request aims at one rule of the URL map, with one of its methods or a wrong one, and picks
independently: whose session (none, anonymous, reporter, handler, admin, auditor) and how its cookie
arrives (intact, garbage, cut off, doubled, another's, odd cookies beside it); which CSRF token (its
own, another session's, broken, none), in the form, a header or the address; the path's arguments
(good values the sessions know, or huge and odd numbers, unicode, percent-encoded junk, CR/LF,
NUL) and sometimes the path itself mangled; a query from the parameters the views read; a body of
some content type (url-encoded, multipart valid, broken or cut off, with files or not, JSON,
octet-stream, text, none) with the form fields the views read; odd headers (Host,
Accept-Language, overlong, too many, NUL, bare CR, folded, Expect, Content-Encoding); and its
framing (Content-Length right, short, long, huge, negative, junk or doubled; chunked, valid or
broken; an unknown transfer coding) and HTTP version.
"""

import json
import random
import re
import secrets
import urllib.parse
from dataclasses import dataclass

from fuzz_sessions import Sessions

from app.domain.workflow import CRA_STEPS, STATES

# A valid token and cookie on these end the session: they get a spare one (fuzz_sessions.prepare).
# A successful sign-in ends the session its cookie had too (app/web/sessions.py), so sign-ins as well.
SPARE = {
    "reporter.logout": "spare-reporter",
    "team.signout": "spare-handler",
    "reporter.login": "spare-reporter",
    "team.signin": "spare-handler",
}


@dataclass(frozen=True)
class Route:
    rule: str
    endpoint: str
    methods: tuple[str, ...]
    arguments: dict[str, str]  # name -> converter ("int", "path", "default")


# --- junk ---------------------------------------------------------------------------------------

NUMBERS = [
    "0", "-1", "1", "2", "3", str(2**31), str(2**63 - 1), str(2**63), str(2**64), str(-(2**63) - 1), "9" * 5000,
    "1e23", "1.5", "-0", "+1", " 1", "0x10", "1_000", "nan", "inf", "\u0663", "\uff11", "00000000000000000001",
]  # fmt: skip
SPECIAL = [
    "", " ", "\x00", "\r\n", "\n", "\t", "%", "%%", "%zz", "%00", "%0d%0a", "..", "../../etc/passwd", "/", "//",
    "\\", "'", '"', "<script>alert(1)</script>", "${jndi:ldap://x}", "{{7*7}}", "' OR 1=1 --", "\u202e\ufeff",
    "\U0001f600" * 40, "\udc80", "é", "MP-0000-0000", "null", "[]", "{}", "true",
]  # fmt: skip
PLAUSIBLE = [
    "y", "on", "yes", "no", "unknown", "report", "message", "disable", "enable", "reset", "aware",
    "cra_early_warning", "cra_notification", "cra_final_report", "received", "acknowledged", "confirmed",
    "fixing", "resolved", "disclosed", "duplicate", "spam", "open", "overdue", "all", "closed", "newest",
    "oldest", "nl", "en", "2026-01-01", "1999-12-31", "9999-12-31", "2026-02-30", "1000", "4194304",
]  # fmt: skip
LANGUAGES = [
    "nl", "en-GB,en;q=0.9", "*", "nl;q=abc", "en;q=-1", "nl;q=2", ";;;,,,", "zz-ZZ", "q=1", "x" * 5000,
    "\u00e9\u00e8", "nl, en, de, fr, es, it, pt, pl, ru, zh, ja, ko, ar, he, tr, el, hu, cs, sv, fi, da, no",
]  # fmt: skip
HOSTS = [
    "", "evil.example", "a" * 300, "127.0.0.1:99999", "[::1", "ex ample", "localhost:0", "host\x00name",
    "xn--e1afmkfd.xn--p1ai", "\u00e9vil.example", "127.0.0.1, evil.example", "http://evil.example/", "a..b", ".",
    "a" * 64 + ".example",
]  # fmt: skip
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND"]
ODD_METHODS = ["get", "P0ST", "FOO", "G\x00T", "GET\tX", "M" * 300, "", "PO ST", "\u00c9T"]


def junk(rng: random.Random, longest: int = 20000) -> str:
    """Something no view expects; `longest` bounds the long ones (a request line holds 4094 bytes)."""
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(SPECIAL)
    if roll < 0.5:
        return rng.choice(NUMBERS)
    if roll < 0.65:
        return "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(1, 40)))
    if roll < 0.8:
        return "".join(chr(rng.choice([rng.randrange(0x80, 0x800), rng.randrange(0x800, 0xD800)])) for _ in range(9))
    if roll < 0.9:
        return rng.choice(["x", "\u00e9", "%41", "0"]) * rng.choice(
            [n for n in (100, 1000, 5000, 20000) if n <= longest]
        )
    return rng.randbytes(rng.randrange(1, 30)).decode("latin-1")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def quoted(rng: random.Random, text: str, safe: str = "") -> str:
    """Percent-encoded as a browser would, mostly; sometimes left as it came (the server must cope)."""
    if rng.random() < 0.85:
        return urllib.parse.quote(encode(text), safe=safe)
    return text


# --- one request ----------------------------------------------------------------------------------


@dataclass
class Fuzzed:
    """One generated request: what it aims at, how it was made, and its bytes as sent."""

    index: int
    endpoint: str
    method: str
    kinds: list[str]
    data: bytes = b""

    def describe(self, limit: int = 1500) -> str:
        shown = self.data if len(self.data) <= limit else self.data[:limit] + b"...(%d bytes)" % len(self.data)
        return f"#{self.index} {self.endpoint} [{', '.join(self.kinds)}]\n{shown!r}"


@dataclass(frozen=True)
class Plan:
    """What the requests are made of: the served port, its routes and form fields, real sessions."""

    port: int
    routes: list[Route]
    fields: list[str]
    parameters: list[str]
    sessions: Sessions


def build(plan: Plan, seed: int, index: int) -> Fuzzed:
    """Request `index` of `seed`: the same every time for the same plan."""
    rng = random.Random(f"{seed}/{index}")  # noqa: S311  (seeded on purpose: a failure must be reproducible)
    sessions = plan.sessions
    route = rng.choice(plan.routes)
    # A quarter are well-formed requests from an intact session, bad only in their values: they get
    # past the parser, the CSRF check and the role table into the views.
    wild = rng.random() >= 0.25
    methods = [method for method in route.methods if method != "OPTIONS"] or list(route.methods)
    roll = rng.random() if wild else 0
    method = rng.choice(methods) if roll < 0.75 else rng.choice(METHODS) if roll < 0.95 else rng.choice(ODD_METHODS)
    fuzzed = Fuzzed(index, route.endpoint, method, ["wild" if wild else "well-formed"])
    kind, cookie, token = _session(rng, sessions, route, fuzzed, wild)
    path = _path(rng, sessions, route, kind, fuzzed, wild)
    query = _query(rng, plan, token, fuzzed)
    if not wild and token and "csrf" in plan.parameters:  # as the file forms' addresses carry it
        query += ("&" if query else "?") + urllib.parse.urlencode({"csrf": token})
    target = (path if isinstance(path, bytes) else encode(path)) + encode(query)
    body, content_type = _body(rng, plan, method, token, fuzzed, wild)
    host = f"127.0.0.1:{plan.port}"
    headers = _odd_headers(rng, host, fuzzed) if wild else [("Host", host)]
    if content_type:
        headers.append(("Content-Type", content_type))
    if cookie is not None:
        headers.append(("Cookie", cookie))
    if token and rng.random() < 0.2:
        headers.append(("X-CSRFToken", token))
    if rng.random() < 0.25:
        headers.append(("Accept-Language", rng.choice(LANGUAGES)))
    if wild:
        framing, body = _framing(rng, body, fuzzed)
    else:
        framing = [("Content-Length", str(len(body)))] if body else []
    headers += framing
    if rng.random() < 0.9:
        headers.append(("Connection", "close"))
    versions = ["HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1.1 x", "http/1.1"]
    version = "HTTP/1.1" if not wild or rng.random() < 0.96 else rng.choice(versions)
    line = encode(method) + b" " + target + b" " + encode(version)
    head = b"".join(encode(name) + b": " + encode(value) + b"\r\n" for name, value in headers)
    fuzzed.data = line + b"\r\n" + head + b"\r\n" + body
    if wild and rng.random() < 0.03:  # the same again on the same connection, behind it
        fuzzed.kinds.append("pipelined")
        fuzzed.data += fuzzed.data
    return fuzzed


def _session(rng: random.Random, sessions: Sessions, route: Route, fuzzed: Fuzzed, wild: bool):
    """Whose cookie (intact, garbage, cut, doubled or another's) and which CSRF token."""
    kind = rng.choice(["none", "anonymous", "reporter", "handler", "admin", "auditor"][not wild :])
    own = sessions.kinds[kind]
    other = sessions.kinds[rng.choice([name for name in sessions.kinds if name != kind])]
    cookie = own.cookie
    roll = rng.random() if wild else 1
    if roll < 0.08:
        cookie, label = "mp_session=" + secrets.token_urlsafe(rng.randrange(1, 200)), "garbage"
    elif roll < 0.14 and own.cookie:
        cookie, label = own.cookie[: rng.randrange(len("mp_session="), len(own.cookie))], "truncated"
    elif roll < 0.2:
        cookie, label = other.cookie, "another's"
    elif roll < 0.24:
        cookie, label = f"{own.cookie or 'a=b'}; {other.cookie or 'mp_session='}", "doubled"
    elif roll < 0.3:
        cookie = rng.choice(
            [f"mp_lang={junk(rng)}", "=;;;=", "mp_session", f"mp_session={'A' * 20000}", f"{junk(rng)}={junk(rng)}"]
        )
        cookie, label = (f"{own.cookie}; {cookie}" if own.cookie else cookie), "odd cookie"
    else:
        label = "cookie"
    token = own.token
    roll = rng.random() if wild else 1
    if roll < 0.1:
        token, label2 = other.token, "foreign token"
    elif roll < 0.2:
        token, label2 = (
            rng.choice([junk(rng), "x" * 10000, (own.token or "")[:-3], (own.token or "a")[::-1]]),
            "bad token",
        )
    elif roll < 0.3:
        token, label2 = None, "no token"
    else:
        label2 = "token"
    if route.endpoint in SPARE:  # a sign-out or sign-in ends the session it names: only a spare one
        cookie, token = _spared(sessions, SPARE[route.endpoint], cookie, token)
    fuzzed.kinds += [kind, label, label2]
    return kind, cookie, token


def _spared(sessions: Sessions, spare: str, cookie: str | None, token: str | None):
    """The cookie and token with every session's own replaced by the spare's."""
    for kind, session in sessions.kinds.items():
        if session.cookie and cookie and kind != spare:
            cookie = cookie.replace(session.cookie, sessions.kinds[spare].cookie)
        if session.token and token == session.token:
            token = sessions.kinds[spare].token
    return cookie, token


def _path(rng: random.Random, sessions: Sessions, route: Route, kind: str, fuzzed: Fuzzed, wild: bool) -> str | bytes:
    """The rule with its arguments filled, good or junk, and sometimes the path itself mangled."""
    good = {
        "reference": sessions.references,
        "handle": list(sessions.handles.values()),
        "token": [sessions.enrol_token],
        "filename": ["style.css", "vendor/meldpunt.js", "js/envelope.mjs"],
        "user_id": [str(sessions.victim), "999999"],
    }
    path = route.rule
    for name, converter in route.arguments.items():
        if rng.random() < 0.5:
            value = rng.choice(good.get(name, ["1", "2", "0"]))
            if name == "handle" and kind in sessions.handles:
                value = sessions.handles[kind]
        else:
            value = rng.choice(NUMBERS) if converter == "int" and rng.random() < 0.7 else junk(rng, longest=300)
            fuzzed.kinds.append(f"junk <{name}>")
        if name == "user_id" and _number(value) in sessions.users:
            # Not one whose session the pass uses: an admin may disable others and reset itself.
            # By value: "0001" and "\u0661" (an Arabic-Indic one) are user 1 to the int converter.
            value = str(sessions.victim)
        filled = quoted(rng, value, "/" if converter == "path" else "")
        path = re.sub(rf"<(?:\w+(?:\([^)]*\))?:)?{name}>", lambda _match, text=filled: text, path, count=1)
    if not wild or rng.random() < 0.75:
        return path
    fuzzed.kinds.append("mangled path")
    mangle = rng.choice(
        [
            lambda: path + quoted(rng, junk(rng)),
            lambda: path + rng.choice(["%0d%0a", "%00", "%E2%82%AC", "%ff%fe", "%c0%af", "%", "%%", "/..", "//"]),
            lambda: "/" + path,
            lambda: path.rstrip("/") + "/" if not path.endswith("/") else path.rstrip("/"),
            lambda: path + "/" + "a" * rng.choice([200, 5000]),
            lambda: "http://evil.example" + path,
            lambda: "*",
            lambda: path.replace("/", "/./", 1),
            lambda: encode(path) + rng.choice([b"\xe2\x82\xac", b"\xff", b"\x00", b" x", b"\x7f", b"\t"]),
            lambda: path.upper(),
        ]
    )
    return mangle()


def _number(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _query(rng: random.Random, plan: Plan, token: str | None, fuzzed: Fuzzed) -> str:
    if rng.random() < 0.6:
        return ""
    fuzzed.kinds.append("query")
    names = [*plan.parameters, junk(rng, longest=100)]
    pairs = []
    for _ in range(rng.choice([1, 1, 2, 3, 5, 50])):
        value = rng.choice([rng.choice(NUMBERS), rng.choice(PLAUSIBLE), junk(rng, longest=300), token or ""])
        pairs.append(quoted(rng, rng.choice(names)) + "=" + quoted(rng, value))
    return "?" + "&".join(pairs)


def _fields(rng: random.Random, plan: Plan, token: str | None, wild: bool) -> list[tuple[str, str]]:
    sessions = plan.sessions
    fields = [("csrf_token", token)] if token is not None else []
    if not wild or rng.random() < 0.2:  # every field any view reads, mostly plausible: forms that pass
        names, plausible = plan.fields, 0.8
    else:
        names = [rng.choice(plan.fields) if rng.random() < 0.9 else junk(rng) for _ in range(rng.choice([0, 1, 2, 4]))]
        plausible = 0.3
    for name in names:
        if rng.random() < plausible:
            value = rng.choice(_plausible(rng, sessions, name))
        else:
            value = rng.choice([junk(rng), rng.choice(NUMBERS), "correct horse battery staple one two three"])
        fields.append((name, value))
    rng.shuffle(fields)
    return fields


def _plausible(rng: random.Random, sessions: Sessions, name: str) -> list[str]:
    """Values a real form could send in the field `name` (for a field not named here, any of PLAUSIBLE)."""
    dates = ["2026-01-01", "2099-12-31", "1999-12-31"]
    words = "a plausible value, long enough for a password"
    return {
        "code": [f"{rng.randrange(10**6):06d}"],
        "name": ["handler", "admin", "auditor", "victim", "nobody"],
        "password": [words],
        "again": [words],
        "passphrase": [sessions.passphrase, "correct horse battery staple one two three"],
        "state": list(STATES),
        "action": ["disable", "enable", "reset"],
        "step": ["aware", *CRA_STEPS],
        "purpose": ["report", "message", "reply"],
        "report": sessions.references,
        "duplicate_of": sessions.references,
        "sealed": list(sessions.handles.values()),
        "sealed_attachments": list(sessions.handles.values()),
        "size": ["1", "1000", "4194304"],
        "since": dates,
        "fix_expected": dates,
        "disclosure_planned": dates,
        "exploited": ["yes", "no", "unknown"],
        "website": [""],  # the honeypot: filled in, a report is answered as sent and dropped
        "credit": ["", "y"],
    }.get(name, [*PLAUSIBLE, words])


def _body(rng: random.Random, plan: Plan, method: str, token: str | None, fuzzed: Fuzzed, wild: bool):
    """A body of some content type, and its Content-Type header (None: none sent)."""
    if method in ("GET", "HEAD") and rng.random() < 0.8:
        return b"", None
    fields = _fields(rng, plan, token, wild)
    kinds = ["none", "urlencoded", "urlencoded", "multipart", "multipart", "json", "octets", "text"]
    kind = rng.choice(kinds if wild else ["urlencoded", "urlencoded", "urlencoded", "multipart"])
    fuzzed.kinds.append(kind)
    if kind == "none":
        return b"", rng.choice([None, "application/x-www-form-urlencoded", "multipart/form-data"])
    if kind == "urlencoded":
        return _urlencoded(rng, fields)
    if kind == "multipart":
        return _multipart(rng, fields, fuzzed, wild)
    if kind == "json":
        value = rng.choice([json.dumps(dict(fields)), '{"a":', "[" * 50000, json.dumps(junk(rng)), "\x00"])
        return encode(value), rng.choice(["application/json", "application/json; charset=utf-7", "text/json"])
    if kind == "octets":
        body = rng.randbytes(rng.choice([1, 100, 4096, 65536, 4 * 1024 * 1024 + 1]))
        return body, rng.choice(["application/octet-stream", None, "image/png"])
    return encode(junk(rng)), rng.choice(["text/plain", "text/plain; charset=\x00", "text/html; charset=utf-16"])


def _urlencoded(rng: random.Random, fields: list[tuple[str, str]]) -> tuple[bytes, str]:
    roll = rng.random()
    body = urllib.parse.urlencode([(encode(name), encode(value)) for name, value in fields]).encode()
    if roll < 0.15:
        body += b"&" + rng.choice([b"%", b"%zz", b"%ff%fe=%c0", b"a=%00", b"=", b"&&&", b"a", b"\xff\xfe=\x00"])
    elif roll < 0.2:
        body += b"&" + b"a=1&" * rng.choice([1000, 20000])
    elif roll < 0.25:
        body += b"&message=" + b"x" * rng.choice([500_000, 1_400_000])  # around the small-body limit
    charset = rng.choice(["", "", "", "; charset=utf-8", "; charset=latin-1", "; charset=nonsense", "; boundary=x"])
    return body, "application/x-www-form-urlencoded" + charset


def _multipart(rng: random.Random, fields: list[tuple[str, str]], fuzzed: Fuzzed, wild: bool) -> tuple[bytes, str]:
    boundary = secrets.token_hex(rng.choice([8, 16])) if rng.random() < 0.95 else "b" * 200
    parts = []
    for name, value in fields:
        parts.append(encode(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}'))
    for _ in range(rng.choice([0, 0, 1, 2])):
        name = rng.choice(["attachments", "file", junk(rng)])
        filename = rng.choice(["poc.txt", "", "../../x", "a\x00b", junk(rng)])
        size = rng.choice([0, 10, 5000, 200_000, 1_500_000])
        header = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        header += rng.choice(["Content-Type: text/plain\r\n", "", "Content-Type: \x00\r\n"]) + "\r\n"
        parts.append(encode(header) + rng.randbytes(size))
    body = b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()
    content_type = f"multipart/form-data; boundary={boundary}"
    variants = ["valid", "valid", "valid", "no-boundary", "wrong-boundary", "unterminated", "cut", "junk"]
    variant = rng.choice(variants) if wild else "valid"
    fuzzed.kinds.append(f"multipart {variant}")
    if variant == "no-boundary":
        content_type = rng.choice(["multipart/form-data", "multipart/form-data; boundary=", "multipart/mixed"])
    elif variant == "wrong-boundary":
        content_type = "multipart/form-data; boundary=" + secrets.token_hex(8)
    elif variant == "unterminated":
        body = body[: -len(f"\r\n--{boundary}--\r\n")]
    elif variant == "cut":
        body = body[: rng.randrange(0, len(body) + 1)]
    elif variant == "junk":
        body = rng.choice(
            [
                f"--{boundary}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{boundary}--\r\n".encode(),
                f"--{boundary}\r\nX: y\r\n\r\n--{boundary}--\r\n".encode(),
                f"--{boundary}\r\n" + "Content-Disposition: form-data; name=a\r\n" * 2000 + "\r\n",
                f'--{boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'.encode() * 3000,
                f"--{boundary}--\r\n".encode(),
                rng.randbytes(1000),
            ]
        )
        body = body if isinstance(body, bytes) else encode(body)
    return body, content_type


def _odd_headers(rng: random.Random, host: str, fuzzed: Fuzzed) -> list[tuple[str, str]]:
    """The Host header, and sometimes odd ones: another Host or none, overlong, too many, NUL, bare
    CR, folded, invalid names, Expect, Content-Encoding, forwarding headers."""
    if rng.random() >= 0.15:
        return [("Host", host)]
    odd = {
        "odd host": [("Host", rng.choice(HOSTS))],
        "two hosts": [("Host", host), ("Host", rng.choice(HOSTS))],
        "no host": [],
        "forwarded": [("X-Forwarded-For", junk(rng)), ("Forwarded", "for=evil;proto=https"), ("X-Forwarded-Host", "e")],
        "expect": [("Expect", rng.choice(["100-continue", "200-ok", junk(rng)]))],
        "content encoding": [("Content-Encoding", rng.choice(["gzip", "br", "deflate, gzip", "x"]))],
        "long header": [("X-Long", "a" * rng.choice([4000, 9000, 70000]))],
        "many headers": [(f"X-H{n}", "1") for n in range(rng.choice([50, 120]))],
        "nul in header": [("X-Nul", "a\x00b")],
        "bare cr": [("X-Bare-Cr", "a\rb")],
        "folded": [("X-Folded", "a\r\n folded")],
        "bad names": [("Bad Name", "1"), ("X:Y", "2"), ("X_Under", "3"), ("", "4")],
        "odd agents": [("User-Agent", junk(rng)), ("Referer", junk(rng)), ("Origin", "null")],
        "odd accept": [("Accept", "*/*;q=x"), ("Cookie2", "$Version=1"), ("Range", "bytes=-1,0-,999999999999-")],
    }
    label = rng.choice(sorted(odd))
    fuzzed.kinds.append(label)
    headers = odd[label]
    return headers if "host" in label else [("Host", host), *headers]


def _framing(rng: random.Random, body: bytes, fuzzed: Fuzzed) -> tuple[list[tuple[str, str]], bytes]:
    """Content-Length right, wrong, huge, negative, doubled or absent; or chunked, valid or broken."""
    roll = rng.random()
    length = [("Content-Length", str(len(body)))]
    if roll < 0.8:
        return (length if body or rng.random() < 0.5 else []), body
    variant = rng.choice(["none", "short", "long", "huge", "negative", "junk", "two", "chunked", "broken", "both"])
    fuzzed.kinds.append(f"framing {variant}")
    if variant == "none":
        return [], body
    if variant == "short":
        return [("Content-Length", str(rng.randrange(0, len(body) + 1)))], body
    if variant == "long":
        return [("Content-Length", str(len(body) + rng.choice([1, 100, 10**6])))], body
    if variant == "huge":
        return [("Content-Length", str(rng.choice([2**31, 10**12, 2**63, 2**64, 10**30])))], body
    if variant == "negative":
        return [("Content-Length", rng.choice(["-1", "-1000000000000", "-0"]))], body
    if variant == "junk":
        return [("Content-Length", rng.choice(["abc", "1e3", "0x10", " 12", "12, 12", "+5", "", "\u0661"]))], body
    if variant == "two":
        return [("Content-Length", str(len(body))), ("Content-Length", str(len(body) + 1))], body
    te = [("Transfer-Encoding", "chunked")]
    chunked = _chunked(rng, body)
    if variant == "chunked":
        return te, chunked
    if variant == "both":
        return te + length, chunked
    broken = rng.choice(
        [
            chunked[: rng.randrange(0, len(chunked) + 1)],
            b"zz\r\n" + body + b"\r\n0\r\n\r\n",
            b"ffffffffffffffffff\r\n" + body,
            b"5;" + b"x" * 5000 + b"\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"0\r\n" + b"X-Trailer: " + b"a" * 10000 + b"\r\n\r\n",
        ]
    )
    return rng.choice(
        [te, [("Transfer-Encoding", rng.choice(["chunked, chunked", "gzip, chunked", "xchunked"]))]]
    ), broken


def _chunked(rng: random.Random, body: bytes) -> bytes:
    out, at = [], 0
    while at < len(body):
        size = rng.choice([1, 7, 4096, 65536, len(body)])
        out.append(b"%x\r\n" % len(body[at : at + size]) + body[at : at + size] + b"\r\n")
        at += size
    return b"".join(out) + b"0\r\n\r\n"
