"""`meldpunt-team verify-site` against a local server serving copies of the real portal's pages
(rendered by a test instance) and the real built bundles, changed one byte at a time; and the
sums the README publishes against the bundles the build writes."""

import base64
import gzip
import hashlib
import os
import re
import shutil
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crypto import verify_site

from .browser import running
from .conftest import run_cli

ROOT = Path(__file__).parent.parent
VENDOR = ROOT / "static" / "vendor"
PAGES = verify_site.PAGES
README_SECTION = "## Checking the JavaScript this portal serves"


def built_sums() -> dict[str, str]:
    """Bundle name -> SHA-256, from the .sha256 files deploy/precompress.mjs writes beside each."""
    sums = {path.name.removesuffix(".sha256"): path.read_text().strip() for path in VENDOR.glob("*.js.sha256")}
    if not sums:
        if os.environ.get("CI"):
            pytest.fail("no bundle built: .ci/run must install npm and run `make bundle` first")
        pytest.skip("no bundle built (npm missing; `make bundle`)")
    return sums


def require_npm() -> None:
    if shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("npm is missing: .ci/run must install it (apt-get install nodejs npm)")
        pytest.skip("npm is not installed (apt-get install nodejs npm)")


MISSING = "*"  # the key of the page served for every other address (the portal's 404 page)


class Site:
    """Copies of the portal's pages (status, headers and bodies) and of static/vendor/, to change
    at will; and the requests the tool made, to look at."""

    def __init__(self, pages: dict, folder: Path):
        self.pages = pages  # path -> [headers dict, body str, status]
        self.folder = folder
        self.requests: list[tuple[str, dict]] = []  # (path with query, headers)
        self.exact: dict[str, bytes] = {}  # path with query -> a script served there alone

    def script_tag(self, path: str) -> str:
        return re.search(r"<script\b[^>]*>", self.pages[path][1]).group(0)

    def edit_page(self, path: str, change) -> None:
        self.pages[path][1] = change(self.pages[path][1])

    def change_bundle(self, name: str, offset: int = 1000) -> tuple[str, str]:
        """One byte of the bundle flipped, its compressed copies made again from it (what a careful
        attacker serves); returns the old and new SHA-256."""
        path = self.folder / name
        data = bytearray(path.read_bytes())
        before = hashlib.sha256(data).hexdigest()
        data[offset] ^= 0x01
        path.write_bytes(data)
        (self.folder / f"{name}.gz").write_bytes(gzip.compress(bytes(data), mtime=0))
        (self.folder / f"{name}.br").unlink(missing_ok=True)
        return before, hashlib.sha256(data).hexdigest()

    def integrity_follows(self, name: str) -> None:
        """Every page's integrity attribute for NAME made to match its (changed) bytes."""
        digest = hashlib.sha384((self.folder / name).read_bytes()).digest()
        new = "sha384-" + base64.b64encode(digest).decode()
        pattern = re.compile(r'(src="[^"]*/' + re.escape(name) + r'[^"]*"\s+integrity=")[^"]+"')
        for path in self.pages:
            self.edit_page(path, lambda body: pattern.sub(lambda m: m.group(1) + new + '"', body))


@pytest.fixture
def site(portal, tmp_path):
    built_sums()
    client = portal.test_client()
    pages = {}
    for path in (*PAGES, MISSING):
        response = client.get("/no-such-page" if path == MISSING else path)
        assert response.status_code == {"/mailbox": 302, MISSING: 404}.get(path, 200), path
        headers = {name: response.headers.get(name) for name in ("Content-Type", "Content-Security-Policy", "Location")}
        pages[path] = [{name: value for name, value in headers.items() if value}, response.get_data(as_text=True)]
        pages[path].append(response.status_code)
    folder = tmp_path / "vendor"
    shutil.copytree(VENDOR, folder)
    return Site(pages, folder)


@contextmanager
def serving(site: Site):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # http.server's name for it
            site.requests.append((self.path, dict(self.headers)))
            if self.path in site.exact:
                self.answer(200, {"Content-Type": "text/javascript"}, site.exact[self.path])
                return
            path = urlsplit(self.path).path
            name = path.removeprefix("/static/vendor/")
            file = site.folder / name
            if not path.startswith("/static/vendor/") and (path in site.pages or MISSING in site.pages):
                headers, body, status = site.pages.get(path, site.pages.get(MISSING))
                self.answer(status, headers, body if isinstance(body, bytes) else body.encode())
                return
            if "/" in name or not name.endswith(".js") or not file.is_file():
                self.answer(404, {"Content-Type": "text/plain"}, b"not found")
                return
            accepted = self.headers.get("Accept-Encoding", "")
            headers = {"Content-Type": "text/javascript"}
            for encoding, suffix in (("br", ".br"), ("gzip", ".gz")):
                if encoding in accepted and (site.folder / (name + suffix)).is_file():
                    file = site.folder / (name + suffix)
                    headers["Content-Encoding"] = encoding
                    break
            self.answer(200, headers, file.read_bytes())

        def answer(self, status, headers, body):
            self.send_response(status)
            for key, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with running(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as url:
        yield url


def verify(site: Site, tmp_path: Path, *extra):
    sums = tmp_path / "SHA256SUMS"
    sums.write_text("".join(f"{digest}  static/vendor/{name}\n" for name, digest in built_sums().items()))
    with serving(site) as url:
        arguments = extra or ("--expect", sums)
        result = run_cli("verify-site", url, *arguments)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def test_the_served_bundles_match_the_release(site, tmp_path):
    code, out, err = verify(site, tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    for name, digest in built_sums().items():
        assert f"static/vendor/{name}  matches  {digest}" in out
    assert len(lines) == len(built_sums())
    # The derive bundle is checked through the pages that load it, with its integrity attribute;
    # meldpunt.js, the signed-in mailbox's, is fetched at its addresses and not matched silently.
    assert f"static/vendor/meldpunt-derive.js  matches  {built_sums()['meldpunt-derive.js']}\n" in out
    assert "static/vendor/meldpunt.js  matches" in out
    assert "(NOT loaded by any page checked" in out
    assert err == (
        "meldpunt-team: note: static/vendor/meldpunt.js is loaded by no page this tool can fetch (the "
        "signed-in mailbox loads it): it was fetched at its addresses as a script, but a signed-in reporter "
        "may be sent another.\n"
    )
    fetched = [path for path, _headers in site.requests]
    for path in ("/", "/policy", "/report", "/replies", "/key", "/hall-of-fame", "/mailbox"):
        assert path in fetched
    assert sum(1 for path in fetched if path.count("/") == 1 and path.strip("/") not in {p.strip("/") for p in PAGES})
    version = built_sums()["meldpunt.js"][:16]
    assert {"/static/vendor/meldpunt.js", f"/static/vendor/meldpunt.js?v={version}"} <= set(fetched)
    derive = next(path for path in fetched if path.startswith("/static/vendor/meldpunt-derive.js"))
    assert derive == f"/static/vendor/meldpunt-derive.js?v={built_sums()['meldpunt-derive.js'][:16]}"


def test_it_asks_as_tor_browser_asks(site, tmp_path):
    """Headers a server cannot tell from Tor Browser's: a navigation for pages, a script request
    for bundles, and the cookie the site set sent back."""
    site.pages["/"][0]["Set-Cookie"] = "visitor=1; Path=/"
    code, _out, err = verify(site, tmp_path)
    assert code == 0, err
    page = next(headers for path, headers in site.requests if path == "/report")
    assert page["User-Agent"] == verify_site.USER_AGENT
    assert re.fullmatch(
        r"Mozilla/5\.0 \(Windows NT 10\.0; Win64; x64; rv:(\d+)\.0\) Gecko/20100101 Firefox/\1\.0", page["User-Agent"]
    )
    assert page["Accept"].startswith("text/html,")
    assert page["Accept-Language"] == "en-US,en;q=0.5"
    assert page["Accept-Encoding"] == "gzip, deflate, br"
    assert page["Upgrade-Insecure-Requests"] == "1"
    assert (page["Sec-Fetch-Dest"], page["Sec-Fetch-Mode"], page["Sec-Fetch-User"]) == ("document", "navigate", "?1")
    assert page["Cookie"] == "visitor=1"
    script = next(headers for path, headers in site.requests if path.startswith("/static/vendor/meldpunt-derive.js"))
    assert (script["Sec-Fetch-Dest"], script["Sec-Fetch-Mode"], script["Sec-Fetch-Site"]) == (
        "script",
        "no-cors",
        "same-origin",
    )
    assert script["Accept"] == "*/*"
    assert script["Accept-Encoding"] == "gzip, deflate, br"
    assert "Upgrade-Insecure-Requests" not in script
    # Each bundle is also asked for uncompressed and with each compression alone, and compared.
    encodings = {h["Accept-Encoding"] for path, h in site.requests if path.startswith("/static/vendor/meldpunt-derive")}
    assert encodings == {"gzip, deflate, br", "identity", "gzip", "br"}


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_compressed_pages_are_read_as_a_browser_reads_them(site, tmp_path, encoding):
    import brotli

    compress = {"gzip": gzip.compress, "br": brotli.compress}[encoding]
    site.pages["/report"][0]["Content-Encoding"] = encoding
    body = site.pages["/report"][1].replace("</main>", "<script>steal()</script></main>", 1)
    site.pages["/report"][1] = compress(body.encode())
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert "page /report has an inline <script>." in err


@pytest.mark.parametrize("careful", [False, True], ids=["integrity-unchanged", "integrity-follows"])
def test_a_bundle_changed_by_one_byte_is_named_with_both_hashes(site, tmp_path, careful):
    for name, release in built_sums().items():
        before, after = site.change_bundle(name)
        assert before == release
        if careful:  # the attacker controls the pages too, so the SRI hash proves nothing
            site.integrity_follows(name)
        code, out, err = verify(site, tmp_path)
        assert code == 1, (out, err)
        assert f"static/vendor/{name}: served SHA-256 {after}, the release's {release}." in err
        on_a_page = any(f"/static/vendor/{name}?" in body for _headers, body, _status in site.pages.values())
        assert ("integrity attribute" in err) is (on_a_page and not careful)
        assert f"static/vendor/{name}  matches" not in out
        shutil.copy2(VENDOR / name, site.folder / name)  # the next bundle on its own
        shutil.copy2(VENDOR / f"{name}.gz", site.folder / f"{name}.gz")
        shutil.copy2(VENDOR / f"{name}.br", site.folder / f"{name}.br")
        if careful:
            site.integrity_follows(name)


def test_a_compressed_copy_that_differs_is_named(site, tmp_path):
    name = next(iter(built_sums()))
    data = bytearray((VENDOR / name).read_bytes())
    data[-2] ^= 0x01
    (site.folder / f"{name}.gz").write_bytes(gzip.compress(bytes(data)))
    (site.folder / f"{name}.br").unlink()
    code, _out, err = verify(site, tmp_path)
    assert code == 1
    # A browser gets the gzip copy (no brotli one): the uncompressed one, asked for too, differs.
    assert f"static/vendor/{name}: the uncompressed copy differs from the one a browser gets." in err
    assert f"static/vendor/{name}: served SHA-256 {hashlib.sha256(data).hexdigest()}, the release's" in err


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_compressed_copy_that_does_not_decode_is_named(site, tmp_path, encoding):
    name = next(iter(built_sums()))
    suffix = {"gzip": ".gz", "br": ".br"}[encoding]
    (site.folder / f"{name}{suffix}").write_bytes(b"\x1f\x8b not what it says" * 100)
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    if encoding == "br":  # the copy a browser gets, which asks for br first
        assert f"static/vendor/{name} cannot be decoded as a browser gets it: not valid brotli" in err
    else:
        assert f"static/vendor/{name}: the copy served with gzip cannot be decoded: not valid gzip" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_compressed_bomb_is_named_not_decoded_whole(monkeypatch, encoding):
    import brotli

    monkeypatch.setattr(verify_site, "MAX_BYTES", 1024 * 1024)
    compress = {"gzip": lambda data: gzip.compress(data, mtime=0), "br": brotli.compress}[encoding]
    bomb = compress(bytes(64 * 1024 * 1024))  # 64 KiB of gzip, 50 bytes of brotli
    fetched = verify_site.Fetched("http://example.invalid/x.js", {"Content-Encoding": encoding}, bomb)
    with pytest.raises(verify_site.Undecodable, match="decodes to more than 1 MiB"):
        verify_site._decoded(fetched)


class _Hostile(BaseHTTPRequestHandler):
    """Answers that never end: a body sent as fast as the client takes it, one sent a byte at a
    time, or headers sent a byte at a time. Each stops when the test sets `stop`."""

    stop = threading.Event()

    def do_GET(self):  # http.server's name for it
        if self.path == "/slow-headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Long: ")
            self.trickle(b"a")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript")
        self.end_headers()  # no length: the body ends when the connection does
        if self.path == "/endless":
            while not self.stop.is_set():
                try:
                    self.wfile.write(bytes(64 * 1024))
                except OSError:
                    return
        else:
            self.trickle(b"x")

    def trickle(self, byte):
        while not self.stop.wait(0.05):
            try:
                self.wfile.write(byte)
                self.wfile.flush()
            except OSError:
                return

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/endless", "is larger than 1 MiB"),
        ("/slow-body", "did not answer within 1 s"),
        ("/slow-headers", "did not answer within 1 s"),
    ],
)
def test_a_server_that_never_ends_its_answer_is_given_up_on(monkeypatch, path, said):
    """No answer can make the check hang or fill the memory: each fetch ends after MAX_BYTES or
    FETCH_SECONDS, whatever the server does."""
    monkeypatch.setattr(verify_site, "MAX_BYTES", 1024 * 1024)
    monkeypatch.setattr(verify_site, "FETCH_SECONDS", 1)
    _Hostile.stop.clear()
    try:
        with running(ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)) as url:
            began = time.monotonic()
            with pytest.raises(verify_site.SiteError, match=said):
                verify_site.fetch(url + path)
            assert time.monotonic() - began < 5
    finally:
        _Hostile.stop.set()


@pytest.mark.parametrize(
    ("injected", "said"),
    [
        ("<script>fetch('/x?'+document.forms[0].passphrase.value)</script>", "has an inline <script>"),
        ('<img src="/favicon.svg" onload="alert(1)">', "has an inline event handler (onload) on <img>"),
        ('<script src="https://cdn.example.com/x.js"></script>', "loads a script from https://cdn.example.com/x.js"),
    ],
    ids=["inline-script", "event-handler", "third-party-script"],
)
def test_script_injected_into_a_page_fails(site, tmp_path, injected, said):
    site.edit_page("/report", lambda body: body.replace("</main>", injected + "</main>", 1))
    code, _out, err = verify(site, tmp_path)
    assert code == 1
    assert f"page /report {said}" in err


@pytest.mark.parametrize(
    ("policy", "said"),
    [
        ("script-src 'self' 'unsafe-inline'", "allows script-src 'unsafe-inline'"),
        ("script-src 'self' https://cdn.example.com", "allows script-src https://cdn.example.com"),
        ("script-src 'self' 'nonce-abc'", "allows script-src 'nonce-abc'"),
        ("default-src *", "allows script-src *"),
    ],
)
def test_a_policy_that_allows_inline_or_foreign_script_fails(site, tmp_path, policy, said):
    site.pages["/key"][0]["Content-Security-Policy"] = policy
    code, _out, err = verify(site, tmp_path)
    assert code == 1
    assert f"page /key: its policy {said}" in err


def test_a_page_without_a_policy_fails(site, tmp_path):
    del site.pages["/"][0]["Content-Security-Policy"]
    code, _out, err = verify(site, tmp_path)
    assert code == 1
    assert "page /: it sends no Content-Security-Policy." in err


def test_a_bundle_that_is_not_part_of_the_release_fails(site, tmp_path):
    shutil.copy2(VENDOR / next(iter(built_sums())), site.folder / "extra.js")
    site.edit_page("/", lambda body: body.replace("</head>", '<script src="/static/vendor/extra.js"></script></head>'))
    code, _out, err = verify(site, tmp_path)
    assert code == 1
    assert "static/vendor/extra.js is served but is not part of the build." in err


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def bare(body: str) -> str:
    return re.sub(r"<script\b[^>]*>.*?</script>", "", body, flags=re.DOTALL)


# --- A: the pages that derive must load the derive bundle, at the address they name -----------


@pytest.mark.parametrize("page", ["/report", "/replies"])
def test_a_deriving_page_without_its_bundle_fails(site, tmp_path, page):
    """Without the script, the form posts the passphrase to the server (the JS-free path)."""
    site.edit_page(page, bare)
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert f"page {page} loads no meldpunt-derive.js: the browser would send the passphrase to the server." in err


def test_pages_without_any_bundle_fail(site, tmp_path):
    for path in site.pages:
        site.edit_page(path, bare)
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert "page /report loads no meldpunt-derive.js" in err
    assert "page /mailbox (redirected to /replies) loads no meldpunt-derive.js" in err


def test_a_deriving_page_that_loads_the_other_bundle_fails(site, tmp_path):
    """meldpunt.js, with its own matching integrity, cannot derive: the passphrase would go to the server."""
    tag = site.script_tag("/report")
    other = tag.replace("meldpunt-derive.js", "meldpunt.js")
    other = re.sub(r'integrity="[^"]+"', f'integrity="{sri((VENDOR / "meldpunt.js").read_bytes())}"', other)
    site.edit_page("/report", lambda body: body.replace(tag, other))
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert "page /report loads meldpunt.js, where the release loads meldpunt-derive.js." in err


def test_a_deriving_form_the_bundle_does_not_take_over_fails(site, tmp_path):
    site.edit_page("/replies", lambda body: body.replace('data-derive="login"', "", 1))
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert "page /replies does not have exactly one form, marked data-derive=login for the bundle" in err


def test_another_script_at_the_exact_address_a_page_names_fails(site, tmp_path):
    """The bare address serves the release; the one with ?v= that the pages name does not."""
    data = bytearray((VENDOR / "meldpunt-derive.js").read_bytes())
    data[1000] ^= 1
    address = re.search(r'src="([^"]+)"', site.script_tag("/report")).group(1)
    site.exact[address] = bytes(data)
    site.integrity_follows("meldpunt-derive.js")
    site.edit_page(
        "/report", lambda body: re.sub(r'integrity="[^"]+"', f'integrity="{sri(bytes(data))}"', body, count=1)
    )
    site.edit_page(
        "/replies", lambda body: re.sub(r'integrity="[^"]+"', f'integrity="{sri(bytes(data))}"', body, count=1)
    )
    code, out, err = verify(site, tmp_path)
    assert code == 1, err
    assert f"static/vendor/meldpunt-derive.js: served SHA-256 {hashlib.sha256(data).hexdigest()}" in err
    assert "meldpunt-derive.js  matches" not in out


def test_another_mailbox_bundle_at_its_versioned_address_fails(site, tmp_path):
    """meldpunt.js is loaded by signed-in pages only; at the address they give it, it is checked too."""
    data = bytearray((VENDOR / "meldpunt.js").read_bytes())
    data[1000] ^= 1
    site.exact[f"/static/vendor/meldpunt.js?v={built_sums()['meldpunt.js'][:16]}"] = bytes(data)
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert f"static/vendor/meldpunt.js: served SHA-256 {hashlib.sha256(data).hexdigest()}" in err


def test_a_page_that_does_not_derive_must_not_load_the_derive_bundle(site, tmp_path):
    tag = site.script_tag("/report")
    site.edit_page("/key", lambda body: body.replace("</head>", tag + "</script></head>", 1))
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert "page /key loads meldpunt-derive.js, where the release loads meldpunt.js." in err


# --- B to D: what a browser would read otherwise, or run besides the bundles ---------------


@pytest.mark.parametrize(
    ("injected", "said"),
    [
        # B. The standard keeps the first of two attributes; a dict of them keeps the last.
        ('<img src="/favicon.svg" alt="a" alt="b">', "an element with a duplicate attribute (<img alt>)"),
        # C. Other documents, plug-ins, module scripts, preloads, refreshes.
        ('<iframe src="/static/x.html"></iframe>', "a <iframe> element"),
        ('<frame src="/static/x.html">', "a <frame> element"),
        ('<object data="/static/x.html"></object>', "a <object> element"),
        ('<embed src="/static/x.html">', "a <embed> element"),
        ('<div srcdoc="x"></div>', "a srcdoc attribute on <div>"),
        ('<meta http-equiv="Refresh" content="0; url=/static/x.html">', "a <meta http-equiv=refresh>"),
        ('<base href="https://evil.example/">', "a <base> element"),
        ('<link rel="modulepreload" href="/static/x.js">', "a <link rel=modulepreload>"),
        ('<link rel="preload" as="script" href="/static/x.js">', "a <link rel=preload>"),
        ('<script type="module" src="/static/vendor/meldpunt.js"></script>', "a <script type=module>"),
        ('<script type="importmap" src="/static/vendor/meldpunt.js"></script>', "a <script type=importmap>"),
        ('<svg><script href="/static/x.js"></script></svg>', "a <svg> element"),
        ('<p onclick="x()">', "an inline event handler (onclick) on <p>"),
        # D. Where Python's parser and a browser's part ways.
        ('<!-- --!><script src="/static/x.js"></script> -->', "a comment or other <! or <? markup"),
        ("<!---->", "a comment or other <! or <? markup"),
        ('<noscript><p title="</noscript><script src=/static/x.js>"></noscript>', "markup this tool reads otherwise"),
        ("<?php x ?>", "a comment or other <! or <? markup"),
    ],
    ids=lambda value: re.sub(r"\W+", "-", value)[:40],
)
def test_markup_a_browser_reads_otherwise_or_that_runs_other_code_fails(site, tmp_path, injected, said):
    site.edit_page("/key", lambda body: body.replace("</main>", injected + "</main>", 1))
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert f"page /key has {said}" in err


def test_a_duplicate_src_on_the_bundles_script_is_read_as_the_browser_reads_it(site, tmp_path):
    """The browser loads the first src; a parser that keeps the last would check the bundle."""
    site.edit_page(
        "/replies", lambda body: body.replace("<script defer src=", '<script defer src="/static/x.js" src=', 1)
    )
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert "page /replies has an element with a duplicate attribute (<script src>)." in err
    assert "page /replies loads a script from /static/x.js" in err


def test_the_title_end_trick_is_caught(site, tmp_path):
    """`</title foo>` ends a title in a browser; a parser that reads title as raw text until
    `</title>` (newer Pythons) would hide the script after it: either way it is named."""
    site.edit_page(
        "/key", lambda body: body.replace("</main>", '<title>x</title foo><script src="/static/x.js"></script></main>')
    )
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert (
        "page /key loads a script from /static/x.js" in err or "page /key has markup this tool reads otherwise" in err
    )


def test_the_script_end_trick_is_caught(site, tmp_path):
    """`</script x>` ends a script in a browser, not in Python's parser: what follows would be hidden."""
    site.edit_page(
        "/report", lambda body: body.replace("></script>", '></script x><script src="/static/x.js"></script>', 1)
    )
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert "page /report has markup this tool reads otherwise than a browser may" in err


def test_a_page_in_another_encoding_fails(site, tmp_path):
    headers, body, _status = site.pages["/key"]
    headers["Content-Type"] = "text/html; charset=utf-16"
    site.pages["/key"][1] = body.replace("</main>", "<script>steal()</script></main>").encode("utf-16")
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert "page /key is not sent as text/html; charset=utf-8" in err
    assert "page /key is not UTF-8" in err


@pytest.mark.parametrize(
    ("policy", "said"),
    [
        ("default-src 'none'; frame-src https://evil.example", "does not block frame-src ("),
        ("default-src 'none'; child-src 'self'", "does not block frame-src, child-src, worker-src ("),
        ("default-src 'none'; object-src 'self'", "does not block object-src ("),
        ("default-src 'none'; worker-src 'self'", "does not block worker-src ("),
        ("default-src 'none'; script-src 'self'", "does not block worker-src ("),
        ("script-src 'self'", "does not block frame-src, child-src, object-src, worker-src ("),
    ],
)
def test_a_policy_that_lets_frames_objects_or_workers_load_fails(site, tmp_path, policy, said):
    site.pages["/policy"][0]["Content-Security-Policy"] = policy
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert f"page /policy: its policy {said}" in err


def test_a_refresh_header_fails(site, tmp_path):
    site.pages["/hall-of-fame"][0]["Refresh"] = "0; url=/static/x.html"
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert "page /hall-of-fame sends a Refresh header." in err


# --- E: every public page, the missing page, and /mailbox's redirect ------------------------


@pytest.mark.parametrize("page", ["/policy", "/hall-of-fame", MISSING])
def test_script_on_any_public_page_fails(site, tmp_path, page):
    site.edit_page(page, lambda body: body.replace("</main>", "<script>steal()</script></main>", 1))
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    label = "a missing page" if page == MISSING else f"page {page}"
    assert f"{label} has an inline <script>." in err


def test_the_mailbox_redirect_is_followed_and_checked(site, tmp_path):
    site.pages["/elsewhere"] = [dict(site.pages["/replies"][0]), bare(site.pages["/replies"][1]), 200]
    site.pages["/mailbox"][0]["Location"] = "/elsewhere"
    code, _out, err = verify(site, tmp_path)
    assert code == 0, err  # a page without script that does not derive is fine
    site.pages["/elsewhere"][1] = site.pages["/elsewhere"][1].replace("</main>", "<script>x()</script></main>")
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert "page /mailbox (redirected to /elsewhere) has an inline <script>." in err


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("https://evil.example/replies", "page /mailbox redirects to another site (https://evil.example/replies)"),
        ("/mailbox", "page /mailbox redirects more than 3 times."),
    ],
)
def test_a_redirect_elsewhere_or_without_end_fails(site, tmp_path, location, said):
    site.pages["/mailbox"][0]["Location"] = location
    code, _out, err = verify(site, tmp_path)
    assert code == 1, err
    assert said in err


def test_a_site_that_cannot_be_reached_is_one_line_and_exit_2(tmp_path):
    built_sums()
    sums = tmp_path / "SHA256SUMS"
    sums.write_text("0" * 64 + "  static/vendor/meldpunt.js\n")
    with serving(Site({}, tmp_path)) as url:
        pass  # the port is closed again: nothing listens there now
    result = run_cli("verify-site", url, "--expect", sums)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.count("\n") == 1
    assert err.startswith(f"meldpunt-team: {url}/ cannot be reached")


def test_an_expect_file_without_sums_is_exit_2(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("nothing here\n")
    result = run_cli("verify-site", "http://127.0.0.1:9", "--expect", empty)
    assert result.returncode == 2
    assert "holds no sha256sum lines" in result.stderr.decode()


def test_the_readme_can_be_given_as_the_expected_sums(site, tmp_path):
    """What the README publishes is what the build writes (next test), so a reader can point
    --expect at a copy of it."""
    code, out, err = verify(site, tmp_path, "--expect", ROOT / "README.md")
    assert code == 0, err
    assert out.count("matches") == len(built_sums())


def test_the_readme_publishes_the_built_bundles_sums():
    readme = (ROOT / "README.md").read_text()
    assert README_SECTION in readme
    section = readme[readme.index(README_SECTION) :].split("\n## ", 1)[0]
    listed = {
        Path(m.group(2)).name: m.group(1)
        for m in map(verify_site.SUM_LINE.match, section.splitlines())
        if m and m.group(2).startswith("static/vendor/")
    }
    assert listed == built_sums(), (
        "README.md's section 'Checking the JavaScript this portal serves' lists other SHA-256 sums than the "
        "bundles the build writes (static/vendor/*.sha256): run `make bundle-sums` and paste its output into "
        "that section's code block"
    )


@pytest.mark.slow
def test_a_build_from_the_source_checkout_matches_the_served_bundles(site, tmp_path):
    """The default: `npm ci` from the lock file and the build, in a folder of their own."""
    require_npm()
    code, out, err = verify(site, tmp_path, "--source", ROOT)
    assert code == 0, err
    assert out.count("matches") == len(built_sums())
    assert "npm ci" in err  # it says what it runs


def test_the_key_page_shows_each_bundles_sum(client):
    page = client.get("/key").get_data(as_text=True)
    for name, digest in built_sums().items():
        assert f"{digest}  static/vendor/{name}" in page
