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
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crypto import verify_site

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


class Site:
    """Copies of the portal's pages (headers and bodies) and of static/vendor/, to change at will."""

    def __init__(self, pages: dict, folder: Path):
        self.pages = pages  # path -> [headers dict, body str]
        self.folder = folder

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
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        headers = {"Content-Type": response.headers["Content-Type"]}
        headers["Content-Security-Policy"] = response.headers["Content-Security-Policy"]
        pages[path] = [headers, response.get_data(as_text=True)]
    folder = tmp_path / "vendor"
    shutil.copytree(VENDOR, folder)
    return Site(pages, folder)


@contextmanager
def serving(site: Site):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # http.server's name for it
            path = urlsplit(self.path).path
            if path in site.pages:
                headers, body = site.pages[path]
                self.answer(200, headers, body.encode())
                return
            name = path.removeprefix("/static/vendor/")
            file = site.folder / name
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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


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
    assert not err
    lines = out.splitlines()
    for name, digest in built_sums().items():
        assert f"static/vendor/{name}  matches  {digest}" in out
    assert len(lines) == len(built_sums())
    # The bundle the portal's pages load is checked through them, with its integrity attribute.
    assert any("matches" in line and "fetched at its address" not in line for line in lines)


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
        on_a_page = any(f"/static/vendor/{name}?" in body for _headers, body in site.pages.values())
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
    assert f"static/vendor/{name}: the copy served with gzip differs from the uncompressed one." in err


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


def test_pages_without_a_bundle_are_one_line_and_exit_2(site, tmp_path):
    for path in PAGES:
        site.edit_page(path, lambda body: re.sub(r"<script\b[^>]*>.*?</script>", "", body, flags=re.DOTALL))
    code, out, err = verify(site, tmp_path)
    assert code == 2
    assert not out
    assert err.count("\n") == 1
    assert "loads a bundle from /static/vendor/" in err


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
