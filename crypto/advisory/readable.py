"""advisory.md: the advisory for people, in Dutch or English (texts.py), from the same checked
advisory.toml as csaf.json and cve.json.

The texts started as the reporter's (report.md) and a hostile report is full of HTML and Markdown:
XSS payloads are what steps to reproduce are made of. So every text is literal in any Markdown
viewer (docs/format.md, "advisory.toml"): `&`, `<` and `>` as character references, so that no
HTML reaches the page; the punctuation that makes emphasis, code, links, tables and strike-through
backslash-escaped everywhere, and the one that makes headings, lists, quotes and rules at the start
of a line. Titles, names and summaries are one line (model.py refuses line breaks); the long texts
are paragraphs, each line without its indentation, so none becomes a code block; the steps to
reproduce a fenced code block whose fence is longer than any backtick run in them.
"""

import re

from .model import Advisory
from .texts import TEXTS

_REFERENCES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ALWAYS = "\\`*_[]|~#"  # inline constructs (and `#`, which also closes a heading)
_LINE_START = re.compile(r"[+\-=]|[0-9]{1,9}(?=[.)])")  # lists, setext underlines, ordered lists
_BACKTICKS = re.compile(r"`+")


def render(advisory: Advisory, lang: str) -> str:
    t = TEXTS[lang]
    revisions = advisory.revisions
    facts = [
        f"- CVE: {advisory.cve_id}",
        f"- {t['published']}: {revisions[0].date.isoformat()}",
        *([f"- {t['updated']}: {revisions[-1].date.isoformat()}"] if len(revisions) > 1 else []),
        f"- {t['tlp']}: {advisory.tlp}",
        f"- {t['weakness']}: {advisory.cwe} {text(advisory.cwe_name)}",
        *(
            f"- {t['severity']}: "
            + t["score"].format(version=score.version, base=f"{score.base:.1f}", severity=t[score.severity])
            + f" — `{score.vector}`"
            for score in (advisory.cvss_v4, advisory.cvss_v3)
            if score is not None
        ),
    ]
    parts = [f"# {t['advisory']} {text(advisory.tracking_id)}: {text(advisory.title)}"]
    if advisory.status != "final":
        parts.append(t[f"{advisory.status}_notice"])
    parts += ["\n".join(facts), f"## {t['products']}", _products(advisory, t)]
    for key in ("description", "impact", "steps", "remediation", "workaround"):
        value = getattr(advisory, key)
        if value:
            parts += [f"## {t[key]}", fenced(value) if key == "steps" else paragraphs(value)]
    if advisory.references:
        parts += [
            f"## {t['references']}",
            "\n".join(f"- <{r.url}>{f' {text(r.name)}' if r.name else ''}" for r in advisory.references),
        ]
    if advisory.acknowledgments:
        names = [text(name) for name in advisory.acknowledgments]
        joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {t['and']} {names[-1]}"
        parts += [f"## {t['acknowledgments']}", t["thanks"].format(names=joined)]
    rows = [f"| {r.number} | {r.date.isoformat()} | {text(r.summary)} |" for r in revisions]
    parts += [
        f"## {t['revisions']}",
        "\n".join([f"| {t['revision']} | {t['date']} | {t['summary']} |", "| --- | --- | --- |", *rows]),
    ]
    return "\n\n".join(parts) + "\n"


def text(value: str) -> str:
    """One line of text, literal wherever it is put: heading, list item, table cell or sentence."""
    line = " ".join(value.split())
    escaped = "".join(_REFERENCES.get(char) or (f"\\{char}" if char in _ALWAYS else char) for char in line)
    start = _LINE_START.match(line)  # digits and `+-=`, which the escaping above leaves as they are
    if start is None:
        return escaped
    if start.group().isdigit():
        return f"{escaped[: start.end()]}\\{escaped[start.end() :]}"  # 1\. or 1\)
    return f"\\{escaped}"


def paragraphs(value: str) -> str:
    """A text of several lines and paragraphs, each line as `text` makes it."""
    return "\n".join(text(line) for line in value.split("\n"))


def fenced(value: str) -> str:
    """A fenced code block showing `value` exactly, however many backticks it holds."""
    fence = "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(value)), default=0))
    return f"{fence}\n{value}\n{fence}"


def _products(advisory: Advisory, t: dict) -> str:
    rows = [
        f"| {text(p.vendor)} | {text(p.name)} | `{p.affected}` | {f'`{p.fixed}`' if p.fixed else t['no_fix']} |"
        for p in advisory.products
    ]
    header = f"| {t['vendor']} | {t['product']} | {t['affected']} | {t['fixed']} |"
    return "\n".join([header, "| --- | --- | --- | --- |", *rows])
