"""`meldpunt-team verify-site URL`: is the JavaScript a portal serves the JavaScript of the release?

A compromised server can serve a script that sends the passphrase elsewhere; the integrity hash
in its pages proves nothing, since the pages come from the same server. What a reporter or the
team can check from any machine is that the portal serves, to them, now, exactly the bundles a
reproducible build of the published source gives: fetched pages whose policy forbids inline and
foreign script, every script same-origin with a matching integrity hash, and each bundle's SHA-256
equal to a build made here from the lock file (`--source`) or to the published sums (`--expect`).

It asks as Tor Browser asks (its headers, cookies kept for the run) and reads the pages as a
browser would, refusing what a browser and Python's HTML parser may read differently (comments,
duplicate attributes, a tag the parser did not see) and what could run other code than the
checked bundles (frames, objects, module scripts, preloads, refreshes, a <base>). What it cannot
see: what the server sends other visitors (by address, cookie or time), signed-in pages, and
service workers already installed in a browser (README.md, docs/threat-model.md).

Standard library only (urllib, html.parser): this runs on the team's offline tool install.
"""

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.client import HTTPException
from http.cookiejar import CookieJar
from pathlib import Path, PurePosixPath
from urllib.error import URLError
from urllib.parse import urljoin, urlsplit
from urllib.request import HTTPCookieProcessor, HTTPErrorProcessor, Request, build_opener

# Every public page that renders a script or runs where a tab keeps the reporter's key
# (sessionStorage is per origin: any page of the portal could read it), and a missing page (a
# random address, added in `verify`). /mailbox without a sign-in redirects to /replies.
PAGES = ("/", "/policy", "/report", "/replies", "/key", "/hall-of-fame", "/mailbox")
DERIVING = ("/report", "/replies")  # they must load DERIVE_BUNDLE, or the passphrase goes to the server
# The form on each deriving page that the bundle takes over (static/js/seal.mjs, signin.mjs).
DERIVING_FORM = {"/report": ("data-seal", "report"), "/replies": ("data-derive", "login")}
BUNDLE, DERIVE_BUNDLE = "meldpunt.js", "meldpunt-derive.js"
BUNDLE_FOLDER = "/static/vendor/"
MAX_REDIRECTS = 3
# What Tor Browser (15, on Firefox ESR 140) sends: a typed address, then a classic same-origin
# <script> (no crossorigin attribute: mode no-cors). Its TLS and HTTP/2 are not imitated.
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
DOCUMENT_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.5",
    "Upgrade-Insecure-Requests": "1",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Site": "none",
    "Sec-Fetch-User": "?1",
    "Priority": "u=0, i",
}
SCRIPT_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "*/*",
    "Accept-Language": "en-US,en;q=0.5",
    "Sec-Fetch-Dest": "script",
    "Sec-Fetch-Mode": "no-cors",
    "Sec-Fetch-Site": "same-origin",
    "Priority": "u=2",
}
# What a hostile server can make this cost: every fetch ends after MAX_BYTES (and every decoding
# of it, so a small compressed bomb cannot fill the memory either) and after FETCH_SECONDS all
# told, however slowly it sends its headers or an endless body; TIMEOUT_SECONDS is the longest
# wait for any one packet.
MAX_BYTES = 64 * 1024 * 1024
FETCH_SECONDS = 180
TIMEOUT_SECONDS = 60
READ_BYTES = 64 * 1024
# Sources a script directive may list without allowing inline or third-party script.
SAFE_SOURCES = {"'self'", "'none'", "'wasm-unsafe-eval'", "'report-sample'"}
SCRIPT_DIRECTIVES = ("script-src-elem", "script-src-attr", "worker-src")
# What must be 'none' (itself, or default-src 'none' that it falls back to): nothing framed,
# embedded or started as a worker from the page.
BLOCKED_DIRECTIVES = ("frame-src", "child-src", "object-src", "worker-src")
# Elements that show or run another document or plug-in, whatever the policy says of them.
FORBIDDEN_TAGS = {
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "portal",
    "fencedframe",
    "base",
    "svg",
    "math",
}
FORBIDDEN_LINKS = {"modulepreload", "preload", "prefetch", "prerender", "import"}
CLASSIC_SCRIPT_TYPES = {"", "text/javascript", "application/javascript"}
SUM_LINE = re.compile(r"^([0-9a-f]{64}) [ *](\S+)$")
# What the build needs besides the files its script names: the lock file and the sources.
BUILD_INPUTS = ("package.json", "package-lock.json", ".npmrc", "static/js", "deploy/precompress.mjs")


class SiteError(Exception):
    """The check could not be made (site unreachable, no bundle, no build): exit 2."""


@dataclass
class Outcome:
    matches: list[str] = field(default_factory=list)  # one line per bundle that agrees
    problems: list[str] = field(default_factory=list)  # one sentence per disagreement
    notes: list[str] = field(default_factory=list)  # what could not be checked here, said once


# --- fetching ------------------------------------------------------------------------------


@dataclass
class Fetched:
    url: str
    headers: object  # http.client.HTTPMessage
    body: bytes
    status: int = 200


class _EveryAnswer(HTTPErrorProcessor):
    """Every answer as it is: a redirect is not followed (the caller follows it, on this site
    only) and an error page is read like any page (a browser shows it, and runs its scripts)."""

    def http_response(self, request, response):
        return response

    https_response = http_response  # noqa: V107  (urllib calls it)


def fetch(
    url: str, encoding: str = "identity", headers: dict | None = None, cookies: CookieJar | None = None
) -> Fetched:
    """URL's answer, at most MAX_BYTES within FETCH_SECONDS, or SiteError. The request runs in a
    thread of its own: a socket timeout bounds each wait, not a server that trickles its headers,
    so only a deadline outside it bounds the whole. A thread left behind stops reading at the
    deadline, or at the next packet, or when the process ends (it is a daemon)."""
    deadline = time.monotonic() + FETCH_SECONDS
    answer: list[Fetched | Exception] = []
    sent = {**(headers or {"User-Agent": USER_AGENT}), "Accept-Encoding": encoding}

    def run() -> None:
        try:
            answer.append(_fetch(url, sent, cookies, deadline))
        except Exception as exc:  # noqa: BLE001  (raised again below, in the caller's thread)
            answer.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(FETCH_SECONDS)
    if not answer:
        raise SiteError(f"{url} did not answer within {FETCH_SECONDS} s.")
    if isinstance(answer[0], Exception):
        raise answer[0]
    return answer[0]


def _fetch(url: str, headers: dict, cookies: CookieJar | None, deadline: float) -> Fetched:
    """The request, read in pieces so that the deadline is looked at between them."""
    opener = build_opener(_EveryAnswer, HTTPCookieProcessor(cookies if cookies is not None else CookieJar()))
    request = Request(url, headers=headers)  # noqa: S310  (http(s) checked by the caller)
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            body = bytearray()
            while piece := response.read1(READ_BYTES):
                body += piece
                if len(body) > MAX_BYTES:
                    raise SiteError(f"{url} is larger than {MAX_BYTES // (1024 * 1024)} MiB.")
                if time.monotonic() > deadline:
                    raise SiteError(f"{url} did not answer within {FETCH_SECONDS} s.")
            return Fetched(response.geturl(), response.headers, bytes(body), response.status)
    except (URLError, OSError, HTTPException) as exc:  # HTTPException: a malformed answer
        reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        raise SiteError(f"{url} cannot be reached: {reason}.") from None


class Undecodable(Exception):
    """A compressed body that does not decode, or decodes to more than MAX_BYTES: a problem of
    the site's (exit 1), said with the reason."""


def _decoded(fetched: Fetched) -> bytes | None:
    """The body as the browser decodes it, or None for an encoding this machine cannot read;
    Undecodable if it does not decode."""
    encoding = (fetched.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding == "identity":
        return fetched.body
    if encoding in ("gzip", "x-gzip"):
        return _gunzip(fetched.body)
    if encoding == "deflate":
        return _inflate(fetched.body)
    if encoding == "br":
        brotli = _brotli()
        return None if brotli is None else _unbrotli(fetched.body, brotli)
    return None


def _brotli():
    """The brotli module if it is installed and can bound its output (1.2 and later), else None."""
    try:
        import brotli  # optional: not a dependency of the offline tool
    except ImportError:
        return None
    try:
        brotli.Decompressor().process(b"", output_buffer_limit=1)
    except (TypeError, AttributeError):
        return None
    return brotli


def browser_encodings() -> str:
    """Tor Browser's Accept-Encoding, less brotli when this Python cannot decode it boundedly."""
    return "gzip, deflate, br" if _brotli() is not None else "gzip, deflate"


def _inflate(data: bytes) -> bytes:
    """HTTP deflate, zlib-wrapped or raw (browsers take both), at most MAX_BYTES."""
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        stream = zlib.decompressobj(wbits)
        try:
            out = stream.decompress(data, MAX_BYTES + 1)
        except zlib.error:
            continue
        if len(out) > MAX_BYTES:
            raise Undecodable(f"it decodes to more than {MAX_BYTES // (1024 * 1024)} MiB")
        if not stream.eof:
            raise Undecodable("the deflate data ends too early")
        return out
    raise Undecodable("not valid deflate")


def _grow(out: bytearray, piece: bytes) -> None:
    """Add a decoded piece, refusing a body that decodes to more than MAX_BYTES (a bomb)."""
    out += piece
    if len(out) > MAX_BYTES:
        raise Undecodable(f"it decodes to more than {MAX_BYTES // (1024 * 1024)} MiB")


def _gunzip(data: bytes) -> bytes:
    """gzip members one after another, as gzip.decompress reads them, but at most MAX_BYTES."""
    out = bytearray()
    while data:
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            while not member.eof:
                piece = member.decompress(data, MAX_BYTES + 1 - len(out))
                data = member.unconsumed_tail
                if not piece and not data and not member.eof:
                    raise Undecodable("the gzip data ends too early")
                _grow(out, piece)
        except zlib.error as exc:
            raise Undecodable(f"not valid gzip ({exc})") from None
        data = member.unused_data
    return bytes(out)


def _unbrotli(data: bytes, brotli) -> bytes | None:
    """Brotli, at most MAX_BYTES (the decompressor gives its output a piece at a time); None if
    this brotli cannot bound its output (before 1.2): a bomb would fill the memory."""
    decompressor = brotli.Decompressor()
    out = bytearray()
    try:
        while not decompressor.is_finished():
            try:
                piece = decompressor.process(data, output_buffer_limit=READ_BYTES)
            except TypeError:
                return None
            data = b""
            if not piece and not decompressor.is_finished():
                raise Undecodable("the brotli data ends too early")
            _grow(out, piece)
    except brotli.error as exc:
        raise Undecodable(f"not valid brotli ({exc})") from None
    return bytes(out)


# --- pages ---------------------------------------------------------------------------------


START_TAG = re.compile(r"<[A-Za-z]")
END_TAG = re.compile(r"</[A-Za-z]")
DOCTYPE = re.compile(r"<!doctype html>", re.IGNORECASE)


class _Page(HTMLParser):
    """What in a page could run script, or read otherwise in a browser: each <script> (its src
    and integrity, or that it is inline), each <form>, and every problem found on the way."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.external: list[tuple[str, str]] = []  # (src, integrity)
        self.forms: list[dict[str, str | None]] = []
        self.found: list[str] = []  # what was found, for the message ("page P has ...")
        self.starts = self.ends = 0
        self._in_script = False

    def handle_startendtag(self, tag, attrs):  # noqa: V105  (HTMLParser calls it)
        self.handle_starttag(tag, attrs)  # one tag in the text: counted once (see `read_page`)

    def handle_starttag(self, tag, attrs):
        self.starts += 1
        names = [name for name, _value in attrs]
        if len(set(names)) != len(names):
            # The HTML standard keeps the first of two; a parser that keeps the last reads another page.
            twice = sorted({name for name in names if names.count(name) > 1})
            self.found.append(f"an element with a duplicate attribute (<{tag} {' '.join(twice)}>)")
        values = {name: value for name, value in reversed(attrs)}  # the first of each, as a browser
        if tag in FORBIDDEN_TAGS:
            self.found.append(f"a <{tag}> element")
        if tag == "meta" and (values.get("http-equiv") or "").strip().lower() == "refresh":
            self.found.append("a <meta http-equiv=refresh>")
        if tag == "link" and FORBIDDEN_LINKS & set((values.get("rel") or "").lower().split()):
            self.found.append(f"a <link rel={(values.get('rel') or '').strip()}>")
        if tag == "form":
            self.forms.append(values)
        if tag == "script":
            kind = (values.get("type") or "").strip().lower()
            if kind not in CLASSIC_SCRIPT_TYPES:
                self.found.append(f"a <script type={kind}>")
            if "href" in values or "xlink:href" in values:
                self.found.append("a <script> with an href")
            if values.get("src") is not None:
                self.external.append((values["src"], values.get("integrity") or ""))
            else:
                self._in_script = True
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"an inline event handler ({name}) on <{tag}>")
            elif name == "srcdoc":
                self.found.append(f"a srcdoc attribute on <{tag}>")
            elif name in ("href", "src", "action", "formaction", "data") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"a javascript: address in <{tag} {name}>")

    def handle_endtag(self, tag):
        self.ends += 1
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append("an inline <script>")


def read_page(text: str) -> _Page:
    """The page as parsed here, with a problem for anything a browser might parse otherwise.

    Python's parser and a browser's part ways in places (a comment ends at `--!>` in a browser,
    `</script x>` ends a script there, a <noscript> or <title> ends inside an attribute value):
    so no comment, processing instruction or <! markup but the doctype is allowed (the portal's
    templates render none), and every `<` followed by a letter must be a tag the parser saw."""
    page = _Page()
    page.feed(text)
    page.close()
    if "<?" in text or "<!" in DOCTYPE.sub("", text):
        page.found.append("a comment or other <! or <? markup, which browsers may read otherwise than this tool")
    starts, ends = len(START_TAG.findall(text)), len(END_TAG.findall(text))
    if (starts, ends) != (page.starts, page.ends):
        page.found.append(
            f"markup this tool reads otherwise than a browser may ({starts} start and {ends} end tags "
            f"in the text, {page.starts} and {page.ends} parsed)"
        )
    return page


def policy_problems(headers) -> list[str]:
    """Why the page's Content-Security-Policy would let inline or third-party script run, or a
    frame, object or worker load, if it would.

    A browser enforces every policy it is sent, so one policy that forbids each is enough."""
    policies = [
        _directives(p) for header in headers.get_all("Content-Security-Policy") or [] for p in header.split(",")
    ]
    if not policies:
        return ["it sends no Content-Security-Policy"]
    reasons = [reason for directives in policies if (reason := _script_allowed(directives))]
    if len(reasons) == len(policies):
        return reasons
    open_ = [name for name in BLOCKED_DIRECTIVES if not any(_blocks(directives, name) for directives in policies)]
    if open_:
        return [f"its policy does not block {', '.join(open_)} ('none', or left to default-src 'none')"]
    return []


def _directives(policy: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), words[1:])
    return directives


def _blocks(directives: dict, name: str) -> bool:
    """Whether the policy lets nothing load under NAME, following the standard's fallbacks
    (frame-src to child-src, worker-src to child-src then script-src, all to default-src). A
    worker from 'self' is refused too: a service worker outlives the page, and the portal sends
    worker-src 'none' on every page that runs script."""
    chain = {"frame-src": ["child-src"], "worker-src": ["child-src", "script-src"]}.get(name, [])
    for directive in (name, *chain, "default-src"):
        if directive in directives:
            return {source.lower() for source in directives[directive]} == {"'none'"}
    return False


def _script_allowed(directives: dict) -> str | None:
    script = directives.get("script-src", directives.get("default-src"))
    if script is None:
        return "its policy has neither script-src nor default-src"
    found = []
    for name in ("script-src", *SCRIPT_DIRECTIVES):
        sources = directives.get(name, script)
        found += [f"{name} {source}" for source in sources if source.lower() not in SAFE_SOURCES]
    return "its policy allows " + ", ".join(dict.fromkeys(found)) if found else None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


# --- sums ----------------------------------------------------------------------------------


def read_sums(path: Path) -> dict[str, str]:
    """Bundle name -> SHA-256 from `sha256sum` lines; other lines are ignored, so the README works too."""
    sums = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = SUM_LINE.match(line.strip())
        if match:
            sums[PurePosixPath(match.group(2).lstrip("*")).name] = match.group(1)
    if not sums:
        raise SiteError(f"{path} holds no sha256sum lines (64 hex digits, two spaces, a file name).")
    return sums


def default_source() -> Path | None:
    """The checkout this tool runs from, when it is one (an installed wheel has no package.json)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "package.json").is_file() else None


def build_sums(source: Path, log=None) -> dict[str, str]:
    """Build the bundles from SOURCE's lock file in a new folder and hash them.

    `npm ci` installs exactly the locked versions (no install scripts run: the build needs none),
    and the build writes static/vendor/*.js; nothing of SOURCE's own node_modules or bundles is used."""
    npm = shutil.which("npm")
    if npm is None:
        raise SiteError("npm is not installed: install Node.js and npm to build, or give --expect FILE.")
    if not (source / "package.json").is_file() or not (source / "package-lock.json").is_file():
        raise SiteError(f"{source} is not a Meldpunt source checkout (no package.json and package-lock.json).")
    with tempfile.TemporaryDirectory(prefix="meldpunt-build-") as folder:
        work = Path(folder)
        for name in _build_inputs(source):
            origin, target = source / name, work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, target, dirs_exist_ok=True)
            else:
                shutil.copy2(origin, target)
        env = {**os.environ, "npm_config_update_notifier": "false"}
        for step in (
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            [npm, "run", "--silent", "build"],
        ):
            if log:
                log(f"building in {work}: npm {' '.join(step[1:])}")
            result = subprocess.run(step, cwd=work, capture_output=True, text=True, env=env, check=False)  # noqa: S603
            if result.returncode != 0:
                last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
                raise SiteError(f"`npm {step[1]}` failed in the build folder: {last[0]}")
        built = sorted((work / "static" / "vendor").glob("*.js"))
        if not built:
            raise SiteError("the build wrote no static/vendor/*.js.")
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in built}


def _build_inputs(source: Path) -> list[str]:
    """BUILD_INPUTS, plus every file or folder of SOURCE the build script names."""
    script = json.loads((source / "package.json").read_text(encoding="utf-8")).get("scripts", {}).get("build", "")
    named = {
        word
        for word in re.findall(r"[\w./-]+", script)
        if "/" in word and not word.startswith(("-", "/", "static/vendor")) and (source / word).exists()
    }
    return sorted({name for name in BUILD_INPUTS if (source / name).exists()} | named)


# --- the check -----------------------------------------------------------------------------


def verify(site: str, expected: dict[str, str]) -> Outcome:
    """Fetch the pages and bundles of SITE and compare them with EXPECTED (name -> SHA-256)."""
    if urlsplit(site).scheme not in ("http", "https") or not urlsplit(site).netloc:
        raise SiteError(f"{site} is not an http:// or https:// address.")
    origin = _origin(site)
    outcome = Outcome()
    cookies = CookieJar()  # one visitor: what the site sets, it gets back, as from a browser
    scripts: dict[str, list[tuple[str, str, str]]] = {}  # name -> [(page, exact url, integrity)]
    missing = "/" + secrets.token_hex(8)  # a page no portal has: its 404 page is checked too
    if _brotli() is None:
        outcome.notes.append("brotli (1.2 or later) is not installed: asked without br, unlike Tor Browser.")
    for page in (*PAGES, missing):
        label = "a missing page" if page == missing else f"page {page}"
        reached = _reach(urljoin(site, page), label, origin, cookies, outcome)
        if reached is None:
            continue
        fetched, path = reached
        label += f" (redirected to {path})" if path != page and page != missing else ""
        uses = _check_page(fetched, label, origin, outcome)
        for name, url, integrity in uses:
            scripts.setdefault(name, []).append((label, url, integrity))
        deriving = page in DERIVING or path in DERIVING
        wanted = DERIVE_BUNDLE if deriving else BUNDLE
        if deriving and not uses:
            outcome.problems.append(
                f"{label} loads no {DERIVE_BUNDLE}: the browser would send the passphrase to the server."
            )
        for name, _url, _integrity in uses:
            if name != wanted:
                outcome.problems.append(f"{label} loads {name}, where the release loads {wanted}.")
        if len(uses) > 1:
            outcome.problems.append(f"{label} loads {len(uses)} scripts, where the release loads one.")
        if deriving:
            _check_deriving_form(page if page in DERIVING else path, label, fetched, outcome)
    for name in sorted(scripts.keys() | expected.keys()):
        _check_bundle(site, name, scripts.get(name, []), expected.get(name), cookies, outcome)
    return outcome


def _reach(url: str, label: str, origin, cookies: CookieJar, outcome: Outcome):
    """The page at URL as a browser's address bar reaches it: (answer, its path), following at
    most MAX_REDIRECTS redirects on this site; None, with the problem said, for any other."""
    headers = {**DOCUMENT_HEADERS}
    for _hop in range(MAX_REDIRECTS + 1):
        fetched = fetch(url, browser_encodings(), headers, cookies)
        if fetched.status not in (301, 302, 303, 307, 308):
            return fetched, urlsplit(fetched.url).path
        target = urljoin(url, fetched.headers.get("Location") or "")
        if _origin(target) != origin or urlsplit(target).scheme not in ("http", "https"):
            outcome.problems.append(f"{label} redirects to another site ({target}), which this tool does not check.")
            return None
        url = target
    outcome.problems.append(f"{label} redirects more than {MAX_REDIRECTS} times.")
    return None


def _check_page(fetched: Fetched, label: str, origin, outcome: Outcome) -> list[tuple[str, str, str]]:
    """The problems of one page, said; the bundles it loads as (name, exact url, integrity)."""
    for reason in policy_problems(fetched.headers):
        outcome.problems.append(f"{label}: {reason}.")
    if fetched.headers.get("Refresh") is not None:
        outcome.problems.append(f"{label} sends a Refresh header.")
    for link in fetched.headers.get_all("Link") or []:
        if any(f"rel={rel}" in link.lower().replace(" ", "").replace('"', "") for rel in FORBIDDEN_LINKS):
            outcome.problems.append(f"{label} sends a Link header that preloads: {link}")
    kind = (fetched.headers.get("Content-Type") or "").lower().replace(" ", "")
    if not kind.startswith("text/html") or "charset=utf-8" not in kind.split(";"):
        outcome.problems.append(f"{label} is not sent as text/html; charset=utf-8, as this tool reads it.")
    try:
        body = _decoded(fetched)
    except Undecodable as exc:
        outcome.problems.append(f"{label} cannot be decoded: {exc}.")
        return []
    if body is None:
        outcome.problems.append(f"{label} is sent in an encoding that was not asked for.")
        return []
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        outcome.problems.append(f"{label} is not UTF-8, which browsers may read otherwise than this tool.")
        return []
    parsed = read_page(text)
    for what in dict.fromkeys(parsed.found):
        outcome.problems.append(f"{label} has {what}.")
    uses = []
    for src, integrity in parsed.external:
        url = urljoin(fetched.url, src)
        path = urlsplit(url).path
        if _origin(url) != origin or not path.startswith(BUNDLE_FOLDER):
            outcome.problems.append(f"{label} loads a script from {src}, not from this site's {BUNDLE_FOLDER}.")
            continue
        uses.append((PurePosixPath(path).name, url.split("#", 1)[0], integrity))
    return uses


def _check_deriving_form(page: str, label: str, fetched: Fetched, outcome: Outcome) -> None:
    """A deriving page has one form, the one its bundle takes over: any other would post what is
    typed into it (the passphrase) to the server."""
    try:
        text = (_decoded(fetched) or b"").decode("utf-8")
    except (Undecodable, UnicodeDecodeError):
        return  # said by _check_page
    forms = read_page(text).forms
    attribute, value = DERIVING_FORM[page]
    if len(forms) != 1 or forms[0].get(attribute) != value:
        outcome.problems.append(
            f"{label} does not have exactly one form, marked {attribute}={value} for the bundle: "
            "a form it does not take over sends the passphrase to the server."
        )


def _check_bundle(site: str, name: str, uses: list, expected: str | None, cookies: CookieJar, outcome: Outcome) -> None:
    label = BUNDLE_FOLDER.lstrip("/") + name
    if expected is None:
        outcome.problems.append(f"{label} is served but is not part of the build.")
        return
    # Loaded by no page this tool can fetch (meldpunt.js is the signed-in mailbox's): fetched at
    # its bare address and at the one those pages give it (?v= and its SHA-256's first 16 digits).
    bare = urljoin(site, BUNDLE_FOLDER + name)
    addresses = list(dict.fromkeys(url for _page, url, _integrity in uses)) or [bare, f"{bare}?v={expected[:16]}"]
    served = set()
    for url in addresses:
        plain = _served(url, label, cookies, outcome)
        if plain is None:
            continue
        served.add(hashlib.sha256(plain).hexdigest())
        for page, page_url, integrity in uses:
            if page_url == url and not integrity_matches(integrity, plain):
                outcome.problems.append(f"{label}: the integrity attribute on {page} does not match its bytes.")
    for digest in sorted(served):
        if digest == expected:
            where = "" if uses else " (NOT loaded by any page checked: fetched at its address)"
            outcome.matches.append(f"{label}  matches  {digest}{where}")
        else:
            outcome.problems.append(f"{label}: served SHA-256 {digest}, the release's {expected}.")
    if not uses:
        outcome.notes.append(
            f"{label} is loaded by no page this tool can fetch (the signed-in mailbox loads it): "
            "it was fetched at its addresses as a script, but a signed-in reporter may be sent another."
        )


def _served(url: str, label: str, cookies: CookieJar, outcome: Outcome) -> bytes | None:
    """The bundle at URL as a browser's <script> gets it; and the same bytes asked for without
    compression and with each compression alone, or the problem said (None)."""
    try:
        fetched = fetch(url, browser_encodings(), SCRIPT_HEADERS, cookies)
        if fetched.status != 200:
            outcome.problems.append(f"{label} at {url} answers {fetched.status}, not the script.")
            return None
        plain = _decoded(fetched)
    except Undecodable as exc:
        outcome.problems.append(f"{label} cannot be decoded as a browser gets it: {exc}.")
        return None
    if plain is None:
        outcome.problems.append(f"{label} is served in an encoding that was not asked for.")
        return None
    for encoding in ("identity", "gzip", "br"):
        try:
            other = fetch(url, encoding, SCRIPT_HEADERS, cookies)
            decoded = _decoded(other) if other.status == 200 else b""
        except Undecodable as exc:
            outcome.problems.append(f"{label}: the copy served with {encoding} cannot be decoded: {exc}.")
            continue
        if decoded is None:
            if encoding == "br":
                note = f"the copies served with {encoding} were not compared: this Python cannot decode them."
                outcome.notes += [note] if note not in outcome.notes else []
            else:
                outcome.problems.append(f"{label} is served in an encoding that was not asked for.")
        elif decoded != plain:
            what = "the uncompressed copy" if encoding == "identity" else f"the copy served with {encoding}"
            outcome.problems.append(f"{label}: {what} differs from the one a browser gets.")
    return plain


def integrity_matches(integrity: str, data: bytes) -> bool:
    """Every hash in an SRI attribute (sha256/384/512-base64) matches DATA; an empty one does not."""
    hashes = integrity.split()
    if not hashes:
        return False
    for item in hashes:
        algorithm, _, value = item.partition("-")
        if algorithm not in ("sha256", "sha384", "sha512"):
            return False
        digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
        if value.split("?", 1)[0] != digest:
            return False
    return True
