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
from ..unpack import REPORT_FILE
from . import csaf, cve, fromreport, model, readable, template
from .errors import NoAdvisory, NotAFolder, UnreadableAdvisory

ADVISORY_FILE = "advisory.toml"
OUTPUTS = ("csaf.json", "cve.json", "advisory.md")


def init(folder: Path, today: datetime.date) -> Path:
    """Write `folder`/advisory.toml from `folder`/report.md; never over an existing one."""
    _check_folder(folder)
    report = fromreport.read(folder / REPORT_FILE)
    path = folder / ADVISORY_FILE
    text = template.render(report, today)
    with os.fdopen(new_file(path), "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def build(folder: Path, lang: str) -> list[Path]:
    """Check `folder`/advisory.toml and write the three outputs beside it, replacing earlier ones.

    All three are made, then written to temporary files and flushed to disk, before any earlier
    one is replaced: a field in error, a full disk or an interruption until then leaves the earlier
    outputs as they were. The three renames that follow are not one step: a crash between them
    leaves some outputs new and some old, each whole (docs/format.md, "advisory.toml").
    """
    _check_folder(folder)
    path = folder / ADVISORY_FILE
    if not path.exists():
        raise NoAdvisory(f"{path} does not exist; make it with `meldpunt-team advisory init {folder}`.")
    if not path.is_file():
        raise UnreadableAdvisory(f"{path} is not a file; remove or rename it, then run `advisory init`.")
    advisory = model.load(path)
    contents = (
        _json(csaf.document(advisory)),
        _json(cve.record(advisory)),
        readable.render(advisory, lang),
    )
    temporaries: list[str] = []
    try:
        for name, text in zip(OUTPUTS, contents, strict=True):
            temporaries.append(_written(folder / name, text))
        for name, temporary in zip(OUTPUTS, temporaries, strict=True):
            os.replace(temporary, folder / name)
    finally:
        for temporary in temporaries:
            Path(temporary).unlink(missing_ok=True)
    _sync(folder)
    return [folder / name for name in OUTPUTS]


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise NotAFolder(f"{folder} is not a folder; give the folder that `meldpunt-team open` made.")


def _json(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _written(path: Path, text: str) -> str:
    """A temporary file beside `path` holding `text` on disk, 0600 like everything in the folder."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return temporary


def _sync(folder: Path) -> None:
    """The renames on disk too."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
