"""`meldpunt-team verify-site URL`: is the JavaScript a portal serves the JavaScript of the release?

A compromised server can serve a script that sends the passphrase elsewhere; the integrity hash
in its pages proves nothing, since the pages come from the same server. What a reporter or the
team can check from any machine is that the portal serves, to them, now, exactly the bundles a
reproducible build of the published source gives: fetched pages whose policy forbids inline and
foreign script, every script same-origin with a matching integrity hash, and each bundle's SHA-256
equal to a build made here from the lock file (`--source`) or to the published sums (`--expect`).

Standard library only (urllib, html.parser): this runs on the team's offline tool install.
"""

import base64
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.error import HTTPError, URLError
from urllib.parse import urljoin, urlsplit
from urllib.request import Request, urlopen

PAGES = ("/", "/report", "/replies", "/key")  # /mailbox needs a sign-in: its bundle is fetched directly
BUNDLE_FOLDER = "/static/vendor/"
MAX_BYTES = 64 * 1024 * 1024
TIMEOUT_SECONDS = 60
# Sources a script directive may list without allowing inline or third-party script.
SAFE_SOURCES = {"'self'", "'none'", "'wasm-unsafe-eval'", "'report-sample'"}
SCRIPT_DIRECTIVES = ("script-src-elem", "script-src-attr", "worker-src")
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


def fetch(url: str, encoding: str = "identity") -> Fetched:
    request = Request(url, headers={"User-Agent": "meldpunt-team verify-site", "Accept-Encoding": encoding})  # noqa: S310  (http(s) checked by the caller)
    try:
        with urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read(MAX_BYTES + 1)
            if len(body) > MAX_BYTES:
                raise SiteError(f"{url} is larger than {MAX_BYTES // (1024 * 1024)} MiB.")
            return Fetched(response.geturl(), response.headers, body)
    except HTTPError as exc:
        raise SiteError(f"{url} answered {exc.code} {exc.reason}.") from None
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SiteError(f"{url} cannot be reached: {reason}.") from None


def _decoded(fetched: Fetched) -> bytes | None:
    """The body as the browser decodes it, or None for an encoding this machine cannot read."""
    encoding = (fetched.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding == "identity":
        return fetched.body
    if encoding == "gzip":
        return gzip.decompress(fetched.body)
    if encoding == "br":
        try:
            import brotli  # optional: not a dependency of the offline tool
        except ImportError:
            return None
        return brotli.decompress(fetched.body)
    return None


# --- pages ---------------------------------------------------------------------------------


class _Scripts(HTMLParser):
    """Every <script>: its src and integrity, or that it is inline; and inline event handlers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.external: list[tuple[str, str]] = []  # (src, integrity)
        self.inline: list[str] = []  # what was found, for the message
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script":
            if values.get("src") is not None:
                self.external.append((values["src"], values.get("integrity") or ""))
            else:
                self._in_script = True
        for name, value in attrs:
            if name.startswith("on"):
                self.inline.append(f"an inline event handler ({name}) on <{tag}>")
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.inline.append(f"a javascript: address in <{tag} {name}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append("an inline <script>")


def policy_problems(headers) -> list[str]:
    """Why the page's Content-Security-Policy would let inline or third-party script run, if it would.

    A browser enforces every policy it is sent, so one policy that forbids both is enough."""
    policies = [p for header in headers.get_all("Content-Security-Policy") or [] for p in header.split(",")]
    if not policies:
        return ["it sends no Content-Security-Policy"]
    reasons: list[str] = []
    for policy in policies:
        directives = {}
        for part in policy.split(";"):
            words = part.split()
            if words:
                directives.setdefault(words[0].lower(), words[1:])
        script = directives.get("script-src", directives.get("default-src"))
        if script is None:
            reasons.append("its policy has neither script-src nor default-src")
            continue
        found = []
        for name in ("script-src", *SCRIPT_DIRECTIVES):
            sources = directives.get(name, script)
            found += [f"{name} {source}" for source in sources if source.lower() not in SAFE_SOURCES]
        if not found:
            return []
        reasons.append("its policy allows " + ", ".join(dict.fromkeys(found)))
    return reasons


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
    import json

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
    scripts: dict[str, list[tuple[str, str, str]]] = {}  # name -> [(page, url, integrity)]
    for page in PAGES:
        fetched = fetch(urljoin(site, page))
        for reason in policy_problems(fetched.headers):
            outcome.problems.append(f"page {page}: {reason}.")
        parser = _Scripts()
        parser.feed(fetched.body.decode("utf-8", errors="replace"))
        for what in dict.fromkeys(parser.inline):
            outcome.problems.append(f"page {page} has {what}.")
        for src, integrity in parser.external:
            url = urljoin(fetched.url, src)
            path = urlsplit(url).path
            if _origin(url) != origin or not path.startswith(BUNDLE_FOLDER):
                outcome.problems.append(f"page {page} loads a script from {src}, not from this site's {BUNDLE_FOLDER}.")
                continue
            scripts.setdefault(PurePosixPath(path).name, []).append((page, url, integrity))
    if not scripts:
        raise SiteError(f"no page of {site} ({', '.join(PAGES)}) loads a bundle from {BUNDLE_FOLDER}.")
    for name in sorted(scripts.keys() | expected.keys()):
        _check_bundle(site, name, scripts.get(name, []), expected.get(name), outcome)
    return outcome


def _check_bundle(site: str, name: str, uses: list, expected: str | None, outcome: Outcome) -> None:
    label = BUNDLE_FOLDER.lstrip("/") + name
    if expected is None:
        outcome.problems.append(f"{label} is served but is not part of the build.")
        return
    # Not loaded by a public page (meldpunt.js is the signed-in mailbox's): fetched at its address.
    addresses = list(dict.fromkeys(url for _page, url, _integrity in uses)) or [urljoin(site, BUNDLE_FOLDER + name)]
    served = set()
    for url in addresses:
        plain = _decoded(fetch(url))  # a server may compress unasked; the browser decodes
        if plain is None:
            outcome.problems.append(f"{label} is served in an encoding that was not asked for.")
            continue
        served.add(hashlib.sha256(plain).hexdigest())
        for encoding in ("gzip", "br"):
            decoded = _decoded(fetch(url, encoding))
            if decoded is None:
                note = f"the copies served with {encoding} were not compared: this Python cannot decode them."
                outcome.notes += [note] if note not in outcome.notes else []
            elif decoded != plain:
                outcome.problems.append(f"{label}: the copy served with {encoding} differs from the uncompressed one.")
        for page, page_url, integrity in uses:
            if page_url == url and not integrity_matches(integrity, plain):
                outcome.problems.append(f"{label}: the integrity attribute on page {page} does not match its bytes.")
    for digest in sorted(served):
        if digest == expected:
            where = "" if uses else " (fetched at its address: no public page loads it)"
            outcome.matches.append(f"{label}  matches  {digest}{where}")
        else:
            outcome.problems.append(f"{label}: served SHA-256 {digest}, the release's {expected}.")


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
