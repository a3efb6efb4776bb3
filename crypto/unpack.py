"""`meldpunt-team open`: turn an export bundle into a folder a person can read.

Everything is checked before anything is written: the bundle's hashes first, then each envelope
as it is decrypted into a hidden sibling folder, which is renamed into place only when all of it
opened. A failure leaves no half-written plaintext behind.
"""

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import report
from .bundle import Bundle, Item
from .envelope import Opener
from .errors import MalformedBundle
from .keys import PrivateKey
from .names import create_in, safe_name
from .progress import Progress

MAX_TEXT_BYTES = 16 * 1024 * 1024
AUTHORS = {"report": "Reporter", "message": "Reporter", "reply": "Security team"}


@dataclass
class _Entry:
    item: Item
    text: str | None = None
    fields: dict | None = None
    files: list[str] = field(default_factory=list)


def unpack(bundle_path: str | os.PathLike, key: PrivateKey, folder: str | os.PathLike) -> Path:
    """Decrypt a bundle into `folder` (new or empty); returns the path of report.md."""
    target = Path(folder)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} exists and is not an empty folder; choose a new one")
    staging = target.parent / f".{target.name}.partial"
    with Bundle(bundle_path) as bundle:
        bundle.verify()
        staging.mkdir(mode=0o700)
        try:
            entries = _decrypt_all(bundle, key, staging)
            # Like the attachments: readable by the team member alone, whatever the umask says.
            descriptor = os.open(staging / "report.md", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(descriptor, "w", encoding="utf-8") as handle:
                handle.write(_render(bundle, entries))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    if target.exists():
        target.rmdir()
    staging.rename(target)
    return target / "report.md"


def _decrypt_all(bundle: Bundle, key: PrivateKey, staging: Path) -> dict[str, _Entry]:
    entries: dict[str, _Entry] = {}
    attachments = staging / "attachments"
    for item in bundle.manifest.items:
        entry = entries[item.file] = _Entry(item)
        with bundle.open_item(item) as stream:
            opener = Opener(stream, key)
            if opener.meta.kind != item.kind:
                raise MalformedBundle(f"Item {item.file} is a {opener.meta.kind}, not a {item.kind} as listed.")
            if item.kind == "attachment":
                attachments.mkdir(mode=0o700, exist_ok=True)
                path, handle = create_in(attachments, safe_name(opener.meta.name))
                progress = Progress(bundle.item_size(item), f"{path.name[:24]:<24}")
                with handle:
                    opener.copy_to(handle, progress)
                progress.finish()
                owner = entries.get(item.parent) if item.parent else None
                (owner or entry).files.append(f"attachments/{path.name}")
            else:
                body = _bounded(opener, item)
                if item.kind == "report":
                    entry.fields = report.decode(body)
                else:
                    entry.text = body.decode("utf-8", errors="replace")
    return entries


def _bounded(opener: Opener, item: Item) -> bytes:
    parts, size = [], 0
    for piece in opener:
        size += len(piece)
        if size > MAX_TEXT_BYTES:
            raise MalformedBundle(f"Item {item.file} is too long for a {item.kind}.")
        parts.append(piece)
    return b"".join(parts)


def _render(bundle: Bundle, entries: dict[str, _Entry]) -> str:
    manifest = bundle.manifest
    lines = [f"# Report {manifest.reference}", "", f"- State: {manifest.state}", f"- Received: {manifest.received}"]
    if manifest.reporter_key:
        lines += [
            f"- Reporter key: `{manifest.reporter_key}`",
            "",
            "Answer with:",
            "",
            f"    meldpunt-team reply --to {manifest.reporter_key} --key team.key reply.txt -o reply.mpe",
        ]
    lines.append("")
    thread = []
    for entry in entries.values():
        if entry.fields is not None:
            lines += report.markdown_sections(entry.fields)
            lines += _files(entry)
        elif entry.item.kind in AUTHORS:
            thread.append(entry)
        elif entry.item.parent is None:
            lines += _files(entry)  # an attachment that belongs to no message
    if thread:
        lines += ["## Thread", ""]
        for entry in thread:
            day = entry.item.day or "day unknown"
            lines += [f"### {day} · {AUTHORS[entry.item.kind]}", "", (entry.text or "").rstrip(), ""]
            lines += _files(entry)
    return "\n".join(lines).rstrip() + "\n"


def _files(entry: _Entry) -> list[str]:
    if not entry.files:
        return []
    return ["Attachments:", "", *[f"- [{path}]({path.replace(' ', '%20')})" for path in entry.files], ""]
