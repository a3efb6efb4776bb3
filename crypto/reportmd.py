"""report.md, the page `meldpunt-team open` writes for a person to read, and a collection's
failures.md.

Their structure is the tool's alone: every heading, list, link and note, and the reply command,
built from the manifest's parsed key and placed before anything a reporter wrote. Reporter text is
only ever an indented code block or a code span (crypto/markdown.py), so a report cannot forge a
thread entry, a heading or another reply command, in a Markdown viewer or read as plain text, nor
run HTML in a viewer or escapes in a terminal.

The page is written block by block, each reporter text fetched when its turn comes (`Content`):
however many texts a bundle holds, one at a time is in memory.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from . import report
from .bundle import Item, Manifest
from .errors import CryptoError
from .markdown import block, code_span, file_link, noted_span

# (key, heading) in the order a reader wants them; report.KEYS lists the same keys.
FIELDS = tuple(
    zip(
        report.KEYS,
        (
            "Title",
            "Affected system or product",
            "Version",
            "Description",
            "Steps to reproduce",
            "Impact",
            "Actively exploited",
            "Credit",
        ),
        strict=True,
    )
)
EXPLOITED = {"yes": "Yes", "no": "No", "unknown": "Don't know"}
AUTHORS = {"report": "Reporter", "message": "Reporter", "reply": "Security team"}
THREAD = ("message", "reply")
FAILURES_HEADING = "Could not be opened"
INTRO = (
    "Lines indented by four spaces are what the reporter wrote, shown as code blocks; every other line is\n"
    "meldpunt-team's own, and a reporter value on it (such as the name of a form field) is in backticks."
)


@dataclass
class Entry:
    """One item of a bundle as report.md shows it: opened (its files) or its failure.

    `fields` and `text` are what `render` shows; `open` leaves them empty and hands `write` a
    `Content` that decrypts each text again when its turn comes.
    """

    item: Item
    fields: dict | None = None
    text: str | None = None
    files: list[str] = field(default_factory=list)
    failure: CryptoError | None = None


# The report's fields (a `report` entry) or the text (a message or reply) of an opened entry.
Content = Callable[[Entry], "dict[str, str | None] | str"]


def describe(item: Item) -> str:
    """An item as the tool names it: file, kind and day, all from the checked manifest."""
    return f"{item.file} ({item.kind}{f', {item.day.isoformat()}' if item.day else ''})"


def render(manifest: Manifest, entries: list[Entry]) -> str:
    """report.md as one string, from the entries' own `fields` and `text`."""
    return _page(blocks(manifest, entries, lambda entry: entry.fields if entry.item.kind == "report" else entry.text))


def write(handle: BinaryIO, manifest: Manifest, entries: list[Entry], content: Content) -> None:
    """report.md into `handle`, one block at a time."""
    _write(handle, blocks(manifest, entries, content))


def blocks(manifest: Manifest, entries: list[Entry], content: Content) -> Iterator[str]:
    """The Markdown blocks of report.md, to be joined by blank lines."""
    yield from _header(manifest)
    failed = [entry for entry in entries if entry.failure is not None]
    if failed:
        yield f"## {FAILURES_HEADING}"
        yield "\n".join(f"- {code_span(describe(entry.item))}: {noted_span(str(entry.failure))}" for entry in failed)
    yield INTRO
    thread = []
    for entry in entries:
        if entry.item.kind == "report":
            yield from _sections(content(entry)) if entry.failure is None else _unopened(entry)
            yield from _files(entry)
        elif entry.item.kind in THREAD:
            thread.append(entry)
        elif entry.item.parent is None:
            yield from _files(entry)  # an attachment that belongs to no message
    if thread:
        yield "## Thread"
        for entry in thread:
            day = entry.item.day.isoformat() if entry.item.day else "day unknown"
            yield f"### {day} · {AUTHORS[entry.item.kind]}"
            yield from block(content(entry)) if entry.failure is None else _unopened(entry)
            yield from _files(entry)


def shown_value(key: str, value: str | None) -> str | None:
    """What report.md shows for a field: `exploited` in words, and an empty credit said as such."""
    if key == "exploited" and value is not None:
        return EXPLOITED.get(value, value)
    if key == "credit" and not value:
        return "No credit wanted"
    return value


def write_failures(handle: BinaryIO, failures: Iterable[tuple[str, CryptoError]]) -> None:
    """failures.md of a collection: what could not be opened, bundles and items, and why."""
    _write(
        handle,
        [
            f"# {FAILURES_HEADING}",
            "These bundles and items of the collection could not be opened; everything else is in this folder.",
            "\n".join(f"- {code_span(where)}: {noted_span(str(error))}" for where, error in failures),
        ],
    )


def _sections(fields: dict[str, str | None]) -> Iterator[str]:
    """One section per filled-in field; fields this version does not know come last.

    Headings are the tool's own words; every value, and the name of a field the tool does not know
    (a hostile browser can send any), is a code block or code span (crypto/markdown.py).
    """
    for key, heading in FIELDS:
        value = shown_value(key, fields.get(key)) if key in fields else None
        if value:
            yield f"## {heading}"
            yield from block(value)
    for key in sorted(set(fields) - set(report.KEYS)):
        if fields[key]:
            yield "## Other field"
            yield f"The reporter's browser named this field {noted_span(key)}."
            yield from block(fields[key])


def _header(manifest: Manifest) -> list[str]:
    facts = [
        f"- State: {code_span(manifest.state)}",
        f"- Received: {manifest.received.isoformat()}",
    ]
    heading = f"# Report {code_span(manifest.reference)}"
    key = manifest.reporter_key
    if key is None:
        return [heading, "\n".join([*facts, "- Reporter key: none (the reporter has no mailbox to answer)"])]
    # str(key) re-serialises the parsed key: the command holds nothing a reporter typed.
    facts += [f"- Reporter key: `{key}`", f"- Fingerprint: `{key.fingerprint}`"]
    command = f"meldpunt-team reply --to {key} --key team.key reply.txt -o reply.mpe"
    return [heading, "\n".join(facts), "Answer with:", f"```sh\n{command}\n```"]


def _unopened(entry: Entry) -> list[str]:
    return [f"This {entry.item.kind} could not be opened; see “{FAILURES_HEADING}” above."]


def _files(entry: Entry) -> list[str]:
    if not entry.files:
        return []
    return ["Attachments:", "\n".join(f"- {file_link(path)}" for path in entry.files)]


def _page(parts: Iterable[str]) -> str:
    return "\n\n".join(parts) + "\n"


def _write(handle: BinaryIO, parts: Iterable[str]) -> None:
    for number, part in enumerate(parts):
        if number:
            handle.write(b"\n\n")
        handle.write(part.encode("utf-8"))
    handle.write(b"\n")
