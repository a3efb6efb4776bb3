"""Advisories built offline, next to the decrypted report (docs/team-guide.md, "Publishing an
advisory"): `init` writes advisory.toml pre-filled from report.md, `build` checks it and writes
csaf.json (CSAF 2.0), cve.json (CVE JSON 5) and advisory.md. The details stay confidential until
publication, so none of this touches the portal.
"""

import datetime
import json
import os
import tempfile
from pathlib import Path

from ..names import new_file
from . import csaf, cve, fromreport, model, readable, template
from .errors import NotOpened

ADVISORY_FILE = "advisory.toml"
REPORT_FILE = "report.md"  # what `meldpunt-team open` writes (crypto/unpack.py)
OUTPUTS = ("csaf.json", "cve.json", "advisory.md")


def init(folder: Path, today: datetime.date) -> Path:
    """Write `folder`/advisory.toml from `folder`/report.md; never over an existing one."""
    _check_folder(folder)
    reference, fields = fromreport.read(folder / REPORT_FILE)
    path = folder / ADVISORY_FILE
    text = template.render(reference, fields, today)
    with os.fdopen(new_file(path), "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def build(folder: Path, lang: str) -> list[Path]:
    """Check `folder`/advisory.toml and write the three outputs beside it, replacing earlier ones.

    All three are made before any is written, so a field in error leaves the earlier ones as they were.
    """
    _check_folder(folder)
    path = folder / ADVISORY_FILE
    if not path.is_file():
        raise NotOpened(f"{path} does not exist; make it with `meldpunt-team advisory init {folder}`.")
    advisory = model.load(path)
    contents = (
        _json(csaf.document(advisory)),
        _json(cve.record(advisory)),
        readable.render(advisory, lang),
    )
    written = []
    for name, text in zip(OUTPUTS, contents, strict=True):
        written.append(_replace(folder / name, text))
    return written


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise NotOpened(f"{folder} is not a folder; give the folder that `meldpunt-team open` made.")


def _json(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _replace(path: Path, text: str) -> Path:
    """`path` with `text`, 0600 like everything in the folder, swapped in whole."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
