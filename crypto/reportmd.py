"""report.md, the page `meldpunt-team open` writes for a person to read.

Its structure is the tool's alone: every heading, list, link and note, and the reply command, built
from the manifest's parsed key and placed before anything a reporter wrote. Reporter text is only
ever inside a fence or a code span (crypto/markdown.py), so a report cannot forge a thread entry,
a heading or another reply command, nor run HTML in a viewer or escapes in a terminal.
"""

from dataclasses import dataclass, field

from . import report
from .bundle import Item, Manifest
from .errors import CryptoError
from .markdown import code_span, fence, file_link, noted_span

AUTHORS = {"report": "Reporter", "message": "Reporter", "reply": "Security team"}
THREAD = ("message", "reply")
FAILURES_HEADING = "Could not be opened"


@dataclass
class Entry:
    """One item of a bundle as report.md shows it: opened (fields, text, files) or its failure."""

    item: Item
    fields: dict | None = None
    text: str | None = None
    files: list[str] = field(default_factory=list)
    failure: CryptoError | None = None


def describe(item: Item) -> str:
    """An item as the tool names it: file, kind and day, all from the checked manifest."""
    return f"{item.file} ({item.kind}{f', {item.day.isoformat()}' if item.day else ''})"


def render(manifest: Manifest, entries: list[Entry]) -> str:
    lines = _header(manifest)
    failed = [entry for entry in entries if entry.failure is not None]
    if failed:
        lines += [f"## {FAILURES_HEADING}", ""]
        lines += [f"- {code_span(describe(entry.item))}: {noted_span(str(entry.failure))}" for entry in failed]
        lines.append("")
    lines += [
        "Everything the reporter wrote is inside the code blocks and code spans below; headings, lists,",
        "links and notes outside them are made by meldpunt-team.",
        "",
    ]
    thread = []
    for entry in entries:
        if entry.item.kind == "report":
            lines += report.markdown_sections(entry.fields) if entry.fields is not None else _unopened(entry)
            lines += _files(entry)
        elif entry.item.kind in THREAD:
            thread.append(entry)
        elif entry.item.parent is None:
            lines += _files(entry)  # an attachment that belongs to no message
    if thread:
        lines += ["## Thread", ""]
        for entry in thread:
            day = entry.item.day.isoformat() if entry.item.day else "day unknown"
            lines += [f"### {day} · {AUTHORS[entry.item.kind]}", ""]
            lines += fence(entry.text) if entry.text is not None else _unopened(entry)
            lines += _files(entry)
    return "\n".join(lines).rstrip("\n") + "\n"


def _header(manifest: Manifest) -> list[str]:
    lines = [
        f"# Report {code_span(manifest.reference)}",
        "",
        f"- State: {code_span(manifest.state)}",
        f"- Received: {manifest.received.isoformat()}",
    ]
    key = manifest.reporter_key
    if key is None:
        return [*lines, "- Reporter key: none (the reporter has no mailbox to answer)", ""]
    # str(key) re-serialises the parsed key: the command holds nothing a reporter typed.
    return [
        *lines,
        f"- Reporter key: `{key}`",
        f"- Fingerprint: `{key.fingerprint}`",
        "",
        "Answer with:",
        "",
        "```sh",
        f"meldpunt-team reply --to {key} --key team.key reply.txt -o reply.mpe",
        "```",
        "",
    ]


def _unopened(entry: Entry) -> list[str]:
    return [f"This {entry.item.kind} could not be opened; see “{FAILURES_HEADING}” above.", ""]


def _files(entry: Entry) -> list[str]:
    if not entry.files:
        return []
    return ["Attachments:", "", *[f"- {file_link(path)}" for path in entry.files], ""]
