"""The browser's reporter identity and envelope reader agree with Python's, byte for byte.

The built bundles from static/vendor run in Debian's Chromium under the CSP of the portal's
encrypting pages, on a page of their own: these are questions for the code, and need no portal.
One test asks the portal's deriving pages the same. What the page is asked is in
tests/vectors/identity and tests/vectors/envelope, or computed by crypto/ in this run.
"""

import base64
import datetime
import hashlib
import io
import json
import math
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.web.headers import ENCRYPTING_CSP
from crypto import Meta, PrivateKey, Sealer, errors, open_bytes, seal_bytes, spec
from crypto import passphrase as pp

from .browser import chromium, live_server
from .conftest import VECTORS
from .test_identity_vectors import (
    CODE_POINTS,
    CONTRACT_SEPARATORS,
    DERIVE,
    PARSE,
    parse_answer,
    probes,
    typed_passphrases,
    vanishing,
)

pytestmark = pytest.mark.browser

VENDOR = VECTORS.parents[1] / "static" / "vendor"
ORIGIN = "https://meldpunt.test"  # served by the route below: a secure context, never the network
WORD = re.compile("[a-z]+")


def _bundle_page(context, bundle: str):
    page = context.new_page()
    page_html = f'<!doctype html><html lang="en"><title>{bundle}</title><script src="/{bundle}"></script></html>'

    def serve(route):
        path = route.request.url.removeprefix(ORIGIN)
        if path == "/":
            route.fulfill(content_type="text/html", body=page_html, headers={"Content-Security-Policy": ENCRYPTING_CSP})
        elif path == f"/{bundle}":
            route.fulfill(content_type="text/javascript", path=VENDOR / bundle)
        else:
            route.fulfill(status=404, body="")

    page.route(f"{ORIGIN}/**", serve)
    errors_seen = []
    page.on("pageerror", lambda error: errors_seen.append(str(error)))
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("() => globalThis.Meldpunt !== undefined")
    page.evaluate("() => globalThis.Meldpunt.sodium.ready")
    assert errors_seen == []
    return page


@pytest.fixture(scope="module")
def browser():
    # One Playwright for the module: a second one cannot start while the first runs.
    with chromium() as context:
        yield context


@pytest.fixture(scope="module")
def derive_page(browser):
    page = _bundle_page(browser, "meldpunt-derive.js")
    yield page
    page.close()


@pytest.fixture(scope="module", params=["meldpunt.js", "meldpunt-derive.js"])
def opener_page(browser, request):
    page = _bundle_page(browser, request.param)
    yield page
    page.close()


# --- identity.mjs: known answers -----------------------------------------------------------


@pytest.mark.parametrize("case", DERIVE, ids=[case["name"] for case in DERIVE])
def test_derive_known_answers_in_the_browser(derive_page, case):
    result = derive_page.evaluate(
        """async (c) => {
            const {identity, sodium} = globalThis.Meldpunt;
            const parsed = identity.parse(c.typed);
            const derived = await identity.derive(parsed.words, sodium.from_hex(c.salt));
            const hex = Object.fromEntries(Object.entries(derived).map(([k, v]) =>
                [k, v instanceof Uint8Array && v.length === 32 ? sodium.to_hex(v) : `not 32 bytes: ${v}`]));
            return {normalised: identity.normalise(c.typed), parsed, ...hex};
        }""",
        case,
    )
    assert result == {
        "normalised": case["normalised"],
        "parsed": {"ok": True, "words": case["normalised"]},
        "master": case["master"],
        "lookupToken": case["lookup_token"],
        "lookupHash": case["lookup_hash"],
        "secretKey": case["secret"],
        "publicKey": case["public"],
    }


def test_parse_known_answers_in_the_browser(derive_page):
    answers = derive_page.evaluate(
        "(cases) => cases.map((c) => globalThis.Meldpunt.identity.parse(c))", [c["typed"] for c in PARSE]
    )
    assert {c["name"]: a for c, a in zip(PARSE, answers, strict=True)} == {c["name"]: c["expect"] for c in PARSE}


def test_word_list_is_pythons_in_the_same_order(derive_page):
    words = derive_page.evaluate("() => Array.from(globalThis.Meldpunt.identity.WORDS)")
    assert words == list(pp.wordlist())


@pytest.mark.parametrize("path", ["/report", "/replies"])
def test_deriving_pages_derive_what_the_server_derives(browser, make_portal, path):
    """The portal's own pages (their CSP, the bundle by its integrity hash, the salt they carry)
    give the identity the server's derivation gives for the same passphrase."""
    from app.domain.db import database
    from app.domain.reports import installation_salt

    case = DERIVE[1]
    with live_server(make_portal()) as base:
        page = browser.new_page()
        problems = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.goto(base + path)
        page.wait_for_function("() => globalThis.Meldpunt?.identity !== undefined")
        answer = page.evaluate(
            """async (typed) => {
                const {identity, sodium} = globalThis.Meldpunt;
                const salt = document.querySelector("[data-installation-salt]").dataset.installationSalt;
                const derived = await identity.derive(identity.parse(typed).words, sodium.from_hex(salt));
                return {salt, token: sodium.to_hex(derived.lookupToken), hash: sodium.to_hex(derived.lookupHash),
                        public: sodium.to_hex(derived.publicKey)};
            }""",
            case["typed"],
        )
        page.close()
        with database.connection_context():
            salt = installation_salt()
    identity = pp.derive(pp.parse(case["typed"]), salt)
    assert answer == {
        "salt": salt.hex(),
        "token": identity.lookup_token.hex(),
        "hash": pp.lookup_hash(identity.lookup_token).hex(),
        "public": identity.key.public.raw.hex(),
    }
    assert problems == []


# --- identity.mjs: normalise over every code point -------------------------------------------


@pytest.fixture(scope="module")
def browser_probes(derive_page):
    """The browser's answers to the questions `probes()` and `vanishing()` ask in Python."""
    result = derive_page.evaluate(
        """() => {
            const {normalise} = globalThis.Meldpunt.identity;
            const out = [];
            const empty = [];
            for (let c = 0; c <= 0x10ffff; c++) {
                if (c >= 0xd800 && c <= 0xdfff) continue;
                const char = String.fromCodePoint(c);
                out.push(normalise("x" + char + "y"));
                if (normalise(char) === "") empty.push(c);
            }
            return {probes: out.join("\\n"), empty};
        }"""
    )
    js = result["probes"].split("\n")  # normalise never leaves a line break
    assert len(js) == len(CODE_POINTS)
    return js, result["empty"]


def _shown(pairs):
    return [(f"U+{c:04X}", py, js) for c, py, js in pairs[:20]]


def test_separators_agree_over_every_code_point(browser_probes):
    js, empty = browser_probes
    assert empty == list(vanishing())
    py_separating = [c for c, out in zip(CODE_POINTS, probes(), strict=True) if out == "x y"]
    js_separating = [c for c, out in zip(CODE_POINTS, js, strict=True) if out == "x y"]
    assert js_separating == py_separating
    # The same for the separators as written out: a typo in the JS class would show here first.
    assert {chr(c) for c in empty} >= CONTRACT_SEPARATORS


def _unknown_to_python(c: int) -> bool:
    return unicodedata.category(chr(c)) == "Cn"


def test_normalise_agrees_wherever_a_list_word_could_come_out(browser_probes):
    """Where the two normalisations differ, neither side can have made a list word of it.

    The exception is the code points Python's Unicode database (Python 3.11: Unicode 14) does not
    know yet and the browser's newer one maps to letters (U+1CCD6.. OUTLINED LATIN CAPITAL LETTER A
    is "a" in Unicode 16): a server on a newer Python will agree; no reporter types them.
    """
    js, _ = browser_probes
    parted = []
    for c, py_out, js_out in zip(CODE_POINTS, probes(), js, strict=True):
        if py_out == js_out:
            continue
        py_words, js_words = py_out.split(" "), js_out.split(" ")
        if len(py_words) != len(js_words) or any(
            a != b and (WORD.fullmatch(a) or WORD.fullmatch(b)) for a, b in zip(py_words, js_words, strict=True)
        ):
            parted.append((c, py_out, js_out))
    assert _shown([p for p in parted if not _unknown_to_python(p[0])]) == []


def test_normalise_differs_only_where_casefold_and_lower_case_do(browser_probes):
    """The contract folds case with str.casefold() in Python and toLowerCase() plus ß → ss in the
    browser. They part for some letters no list word has (final sigma, Cherokee, iota subscript, the
    decomposed full foldings): everywhere else the outputs must be the same, character for character."""
    js, _ = browser_probes
    separators = re.compile("[" + re.escape("".join(sorted(CONTRACT_SEPARATORS))) + "]+")

    def lower_rule(text: str) -> str:
        folded = unicodedata.normalize("NFKC", text).lower().replace("ß", "ss")
        return " ".join(part for part in separators.split(folded) if part)

    unexplained = [
        (c, py_out, js_out)
        for c, py_out, js_out in zip(CODE_POINTS, probes(), js, strict=True)
        if js_out != py_out and not _unknown_to_python(c) and js_out != lower_rule(f"x{chr(c)}y")
    ]
    assert _shown(unexplained) == []


# --- identity.mjs: parse on generated input ----------------------------------------------------

NOISE = st.text(st.characters(exclude_categories=("Cs", "Cn")), min_size=1, max_size=3)


@st.composite
def messy_input(draw):
    """Mostly passphrases as typed, sometimes with a word too many or too few, or stray characters."""
    _, typed = draw(typed_passphrases(draw(st.sampled_from([7, 7, 7, 7, 6, 8, 1, 0]))))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(typed)))
        typed = typed[:at] + draw(NOISE) + typed[at:]
    return typed


@settings(max_examples=6, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(messy_input(), min_size=60, max_size=60))
def test_parse_agrees_on_generated_input(derive_page, batch):
    answers = derive_page.evaluate("(batch) => batch.map((t) => globalThis.Meldpunt.identity.parse(t))", batch)
    disagreements = [
        (typed, parse_answer(typed), js) for typed, js in zip(batch, answers, strict=True) if js != parse_answer(typed)
    ]
    assert disagreements == []


# --- identity.mjs: randomIndex and generate ---------------------------------------------------


def _limit(n: int) -> int:
    return 2**32 - (2**32 % n)


FAKE_FILL = """([n, values]) => {
    const queue = values.slice();
    let calls = 0;
    const fill = (array) => {
        if (!queue.length) throw new Error("randomIndex asked for more values than given");
        calls++;
        array[0] = queue.shift();
        return array;
    };
    const out = [];
    while (queue.length) out.push(globalThis.Meldpunt.identity.randomIndex(n, fill));
    return {out, calls};
}"""


@pytest.mark.parametrize("n", [1, 2, 3, 6, 7, 7772, 2**31, 2**31 + 1, 3 * 2**30, 2**32 - 1, 2**32])
def test_random_index_rejects_exactly_the_values_at_or_above_the_limit(derive_page, n):
    limit = _limit(n)
    rejected = sorted({v for v in (limit, limit + 1, 2**32 - 1) if limit <= v < 2**32})
    # The rejected values first, then one that is kept: one index from that run, then one each.
    values = [*rejected, limit - 1, 0, 12_345_678, 2**31 - 1]
    result = derive_page.evaluate(FAKE_FILL, [n, values])
    assert result == {"out": [v % n for v in values if v < limit], "calls": len(values)}
    assert len(result["out"]) == 4


@pytest.mark.parametrize("n", [6, 7772])
def test_random_index_is_exactly_uniform_over_the_top_of_the_range(derive_page, n):
    """The top of the 32-bit range is where modulo bias lives: feed the last values kept and all
    the rejected ones (each followed by a kept one): every index comes out equally often."""
    limit = _limit(n)
    window = list(range(limit - 4 * n, limit))
    rejected = list(range(limit, 2**32))
    values = [v for pair in zip(rejected, window, strict=False) for v in pair] + window[len(rejected) :]
    result = derive_page.evaluate(FAKE_FILL, [n, values])
    assert result["calls"] == len(values)
    counts = [0] * n
    for index in result["out"]:
        counts[index] += 1
    assert counts == [4] * n


def _chi_square_bounds(dof: int, z: float = 4.753) -> tuple[float, float]:
    """Wilson-Hilferty: the chi-square quantiles at about one in a million on each side."""
    spread = math.sqrt(2 / (9 * dof))
    return tuple(dof * (1 - 2 / (9 * dof) + sign * z * spread) ** 3 for sign in (-1, 1))


@pytest.mark.parametrize(("n", "draws"), [(6, 600_000), (7772, 200_000)])
def test_random_index_distribution(derive_page, n, draws):
    counts = derive_page.evaluate(
        """([n, draws]) => {
            const counts = new Array(n).fill(0);
            for (let i = 0; i < draws; i++) counts[globalThis.Meldpunt.identity.randomIndex(n)]++;
            return counts;
        }""",
        [n, draws],
    )
    expected = draws / n
    chi_square = sum((count - expected) ** 2 / expected for count in counts)
    low, high = _chi_square_bounds(n - 1)
    assert low < chi_square < high


def test_random_index_has_no_modulo_bias(derive_page):
    """With n = 3 * 2**30, v % n without rejection puts half the draws below 2**30, not a third."""
    draws = 30_000
    below = derive_page.evaluate(
        """(draws) => {
            let below = 0;
            const {randomIndex} = globalThis.Meldpunt.identity;
            for (let i = 0; i < draws; i++) if (randomIndex(3 * 2 ** 30) < 2 ** 30) below++;
            return below;
        }""",
        draws,
    )
    assert abs(below / draws - 1 / 3) < 0.02  # 7 standard deviations; the biased answer is 1/2


def test_generate_gives_seven_list_words(derive_page):
    phrases = derive_page.evaluate(
        "() => Array.from({length: 300}, () => globalThis.Meldpunt.identity.generate())"
        ".concat([globalThis.Meldpunt.identity.generate(3)])"
    )
    *sevens, three = phrases
    for phrase in sevens:
        assert pp.parse(phrase).reveal() == phrase
    assert len(set(sevens)) == len(sevens)
    assert len(three.split(" ")) == 3
    assert set(three.split(" ")) <= set(pp.wordlist())
    # 2,100 draws over 7,772 words: a generator stuck on a few words would repeat much more.
    assert len({word for phrase in sevens for word in phrase.split(" ")}) > 1500


# --- opener.mjs ----------------------------------------------------------------------------------

ENVELOPES = VECTORS / "envelope"
ENVELOPE_CASES = json.loads((ENVELOPES / "vectors.json").read_text())

OPEN = """([envelopes, publicHex, secretHex]) => {
    const {opener, sodium} = globalThis.Meldpunt;
    const publicKey = sodium.from_hex(publicHex);
    const secretKey = sodium.from_hex(secretHex);
    return envelopes.map((b64) => {
        const bytes = sodium.from_base64(b64, sodium.base64_variants.ORIGINAL);
        try {
            const {meta, body} = opener.open(bytes, publicKey, secretKey);
            return {meta, body: sodium.to_hex(body)};
        } catch (error) {
            const known = error instanceof opener.BrokenEnvelope || error instanceof opener.NotARecipient;
            return {error: known ? error.name : `unexpected ${error}`, reason: error.reason ?? null};
        }
    });
}"""


def _open_in_browser(page, envelopes: list[bytes], key: PrivateKey) -> list[dict]:
    encoded = [base64.b64encode(data).decode() for data in envelopes]
    return page.evaluate(OPEN, [encoded, key.public.raw.hex(), key.secret_bytes().hex()])


def _expected_error(python_class: str) -> dict:
    if python_class == "NotForThisKey":
        return {"error": "NotARecipient", "reason": None}
    return {"error": "BrokenEnvelope", "reason": python_class}


def test_opener_reads_the_envelope_vectors(opener_page):
    by_key = {}
    for case in ENVELOPE_CASES:
        by_key.setdefault(case["secret_key"], []).append(case)
    for secret, cases in by_key.items():
        key = PrivateKey(bytes.fromhex(secret))
        answers = _open_in_browser(opener_page, [(ENVELOPES / c["file"]).read_bytes() for c in cases], key)
        for case, answer in zip(cases, answers, strict=True):
            if case["expect"] != "ok":
                assert answer == _expected_error(case["expect"]), case["file"]
                continue
            assert "error" not in answer, (case["file"], answer)
            body = bytes.fromhex(answer["body"])
            assert (len(body), hashlib.sha256(body).hexdigest()) == (case["body_length"], case["body_sha256"])
            meta = case["meta"]
            assert answer["meta"]["kind"] == meta["kind"], case["file"]
            assert answer["meta"]["name"] == meta.get("name"), case["file"]
            assert answer["meta"]["type"] == meta.get("type"), case["file"]


DAY = datetime.date(2026, 11, 28)


def _sealed_now(recipients) -> list[tuple[bytes, Meta, bytes]]:
    """What the portal seals to [team, reporter] today, made by crypto.Sealer in this run."""
    report = json.dumps({"title": "XSS in search", "description": "Ünïcode ✓ " * 50}).encode()
    attachment = bytes(range(256)) * 800  # 204,800 bytes: four chunks
    made = []
    for meta, body in [
        (Meta("report", type="application/json", day=DAY), report),
        (Meta("attachment", name="poc (1).html", type="text/html", day=DAY), attachment),
        (Meta("message", type="text/plain; charset=utf-8", day=DAY), b""),
        (Meta("reply", type="text/plain; charset=utf-8", day=DAY), b"Fixed in 4.2.2.\n"),
    ]:
        out = io.BytesIO()
        with Sealer(out, [key.public for key in recipients], meta) as sealer:
            for start in range(0, len(body), 50_000):  # written in pieces, as the portal streams
                sealer.write(body[start : start + 50_000])
        made.append((out.getvalue(), meta, body))
    return made


def test_opener_opens_what_python_seals_to_team_and_reporter(opener_page, team_key, other_key):
    reporter = other_key
    made = _sealed_now([team_key, reporter])
    for key in (reporter, team_key):
        answers = _open_in_browser(opener_page, [data for data, _, _ in made], key)
        for (_, meta, body), answer in zip(made, answers, strict=True):
            assert answer == {
                "meta": {"kind": meta.kind, "name": meta.name, "type": meta.type, "day": DAY.isoformat()},
                "body": body.hex(),
            }


def _flip(data: bytes, offset: int) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 0x01
    return bytes(changed)


def test_opener_refuses_damaged_envelopes_as_python_does(opener_page, team_key, other_key):
    reporter = other_key
    data = _sealed_now([team_key, reporter])[1][0]  # the four-chunk attachment
    stanzas = spec.FIXED_HEADER_BYTES
    mac = stanzas + 2 * spec.STANZA_BYTES
    body = spec.header_length(2)
    chunk = spec.SEALED_CHUNK_BYTES
    assert body == mac + spec.MAC_BYTES
    damaged = {
        "magic": _flip(data, 0),
        "version": _flip(data, 8),
        "recipient count": _flip(data, 9),
        "header length": _flip(data, 11),
        "salt": _flip(data, 14),
        "stream header": _flip(data, spec.PREAMBLE_BYTES + spec.SALT_BYTES + 3),
        "team stanza key id": _flip(data, stanzas + 2),
        "team stanza sealed key": _flip(data, stanzas + spec.KEY_ID_BYTES + 20),
        "reporter stanza key id": _flip(data, stanzas + spec.STANZA_BYTES + 2),
        "reporter stanza sealed key": _flip(data, stanzas + spec.STANZA_BYTES + spec.KEY_ID_BYTES + 20),
        "header mac": _flip(data, mac + 5),
        "first chunk": _flip(data, body + 100),
        "second chunk": _flip(data, body + chunk + 100),
        "last chunk": _flip(data, len(data) - 1),
        "cut in the header": data[: body - 10],
        "cut after the header": data[:body],
        "cut at a chunk boundary": data[: body + 2 * chunk],
        "cut in the last chunk": data[:-5],
        "cut to a few bytes of the last chunk": data[: body + 3 * chunk + 3],
        "a byte appended": data + b"\x00",
    }
    expected = {}
    for name, bad in damaged.items():
        with pytest.raises(errors.CryptoError) as caught:
            open_bytes(bad, reporter)
        expected[name] = _expected_error(type(caught.value).__name__)
    answers = _open_in_browser(opener_page, list(damaged.values()), reporter)
    assert dict(zip(damaged, answers, strict=True)) == expected
    assert all(answer["error"] == "BrokenEnvelope" for answer in answers)


def test_opener_says_not_a_recipient_for_a_key_not_sealed_to(opener_page, team_key, other_key):
    reporter = PrivateKey(hashlib.sha256(b"a reporter nothing was sealed to").digest())
    to_team = seal_bytes(b"team only", [team_key.public], Meta("attachment", name="x.txt"))
    to_others = seal_bytes(b"not for the reporter", [team_key.public, other_key.public], Meta("message"))
    answers = _open_in_browser(opener_page, [to_team, to_others], reporter)
    assert answers == [{"error": "NotARecipient", "reason": None}] * 2
