"""advisory.toml read and checked: every field the outputs need, or `InvalidField` naming it in
one sentence. What the outputs make of it is csaf.py, cve.py and readable.py."""

import datetime
import re
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidField, UnreadableAdvisory
from .scores import Score, VectorError, score
from .versions import VERSION_TYPES, Range, RangeError, parse_version

TLP = ("CLEAR", "GREEN", "AMBER", "RED")
STATUSES = ("final", "interim", "draft")
PUBLISHER_CATEGORIES = ("vendor", "coordinator", "discoverer", "user", "other")
_CVE = re.compile(r"CVE-\d{4}-\d{4,19}")
_CWE = re.compile(r"CWE-[1-9]\d{0,6}")
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*")
_TRACKING = re.compile(r"[\S](.*[\S])?")
_CVE_TEXT_LIMIT = 4096  # a CVE record's description, impact and solution, at most
_CVE_TITLE_LIMIT = 256


@dataclass(frozen=True)
class Product:
    vendor: str
    name: str
    version_type: str
    affected: Range
    fixed: str | None


@dataclass(frozen=True)
class Reference:
    url: str
    name: str


@dataclass(frozen=True)
class Revision:
    number: int
    date: datetime.date
    summary: str


@dataclass(frozen=True)
class Advisory:
    title: str
    tracking_id: str
    tlp: str
    status: str
    publisher: str
    namespace: str
    publisher_category: str
    cve_id: str
    cna_org_id: str
    cna_short_name: str
    cwe: str
    cwe_name: str
    cvss_v4: Score | None
    cvss_v3: Score | None
    description: str
    impact: str
    steps: str
    remediation: str
    products: tuple[Product, ...]
    references: tuple[Reference, ...]
    acknowledgments: tuple[str, ...]
    revisions: tuple[Revision, ...]


def load(path: Path) -> Advisory:
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise UnreadableAdvisory(f"{path} is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise UnreadableAdvisory(f"{path} is not valid TOML ({exc}).") from None
    return parse(data)


def parse(data: dict) -> Advisory:
    """The checked advisory in `data`, the parsed advisory.toml."""
    document, publisher, cve, vulnerability = (
        _table(data, name) for name in ("document", "publisher", "cve", "vulnerability")
    )
    advisory = Advisory(
        title=_text(document, "document.title", "title", limit=_CVE_TITLE_LIMIT),
        tracking_id=_matching(
            document, "document.tracking_id", "tracking_id", _TRACKING, "a reference such as MP-2026-0042"
        ),
        tlp=_choice(document, "document.tlp", "tlp", TLP),
        status=_choice(document, "document.status", "status", STATUSES),
        publisher=_text(publisher, "publisher.name", "name"),
        namespace=_matching(
            publisher, "publisher.namespace", "namespace", _URL, 'a web address such as "https://example.nl"'
        ),
        publisher_category=_choice(publisher, "publisher.category", "category", PUBLISHER_CATEGORIES),
        cve_id=_matching(cve, "cve.id", "id", _CVE, 'a CVE id such as "CVE-2026-12345"'),
        cna_org_id=_uuid(cve, "cve.cna_org_id", "cna_org_id"),
        cna_short_name=_text(cve, "cve.cna_short_name", "cna_short_name", required=False),
        cwe=_matching(vulnerability, "vulnerability.cwe", "cwe", _CWE, 'a CWE id such as "CWE-89"'),
        cwe_name=_text(vulnerability, "vulnerability.cwe_name", "cwe_name"),
        cvss_v4=_score(vulnerability, "cvss_v4", "4.0"),
        cvss_v3=_score(vulnerability, "cvss_v3", "3.1"),
        description=_text(vulnerability, "vulnerability.description", "description", limit=_CVE_TEXT_LIMIT),
        impact=_text(vulnerability, "vulnerability.impact", "impact", required=False, limit=_CVE_TEXT_LIMIT),
        steps=_text(vulnerability, "vulnerability.steps", "steps", required=False),
        remediation=_text(vulnerability, "vulnerability.remediation", "remediation", limit=_CVE_TEXT_LIMIT),
        products=tuple(_product(table, f"product[{n}]") for n, table in enumerate(_tables(data, "product"), 1)),
        references=tuple(_reference(table, f"reference[{n}]") for n, table in enumerate(_tables(data, "reference"), 1)),
        acknowledgments=tuple(
            _text(table, f"acknowledgment[{n}].name", "name")
            for n, table in enumerate(_tables(data, "acknowledgment", 0), 1)
        ),
        revisions=_revisions(data),
    )
    if advisory.cvss_v4 is None and advisory.cvss_v3 is None:
        raise InvalidField("vulnerability.cvss_v4", "give a CVSS 4.0 vector here or a CVSS 3.1 one in cvss_v3.")
    return advisory


def _table(data: dict, name: str) -> dict:
    table = data.get(name)
    if not isinstance(table, dict):
        raise InvalidField(name, f"the table [{name}] is missing.")
    return table


def _tables(data: dict, name: str, least: int = 1) -> list[dict]:
    tables = data.get(name, [])
    if not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        raise InvalidField(name, f"write each as a [[{name}]] table.")
    if len(tables) < least:
        raise InvalidField(name, f"add at least one [[{name}]] table.")
    return tables


def _text(table: dict, field: str, key: str, required: bool = True, limit: int | None = None) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise InvalidField(field, "must be a string, in double quotes.")
    value = value.strip()
    if required and not value:
        raise InvalidField(field, "is empty; fill it in.")
    if limit is not None and len(value) > limit:
        raise InvalidField(field, f"has {len(value)} characters; a CVE record takes at most {limit}.")
    return value


def _matching(table: dict, field: str, key: str, pattern: re.Pattern, expected: str) -> str:
    value = _text(table, field, key)
    if not pattern.fullmatch(value):
        raise InvalidField(field, f"{value!r} is not {expected}.")
    return value


def _choice(table: dict, field: str, key: str, choices: tuple[str, ...]) -> str:
    value = _text(table, field, key)
    if value not in choices:
        raise InvalidField(field, f"{value!r} is not one of {', '.join(choices)}.")
    return value


def _uuid(table: dict, field: str, key: str) -> str:
    value = _text(table, field, key)
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidField(field, f'{value!r} is not a UUID such as "{uuid.UUID(int=0)}".') from None


def _score(table: dict, key: str, version: str) -> Score | None:
    vector = _text(table, f"vulnerability.{key}", key, required=False)
    if not vector:
        return None
    try:
        return score(vector, version)
    except VectorError as exc:
        raise InvalidField(f"vulnerability.{key}", f"{exc}.") from None


def _product(table: dict, where: str) -> Product:
    version_type = _choice(table, f"{where}.version_type", "version_type", tuple(VERSION_TYPES))
    try:
        affected = Range.parse(_text(table, f"{where}.affected", "affected"))
    except RangeError as exc:
        raise InvalidField(f"{where}.affected", str(exc)) from None
    fixed = _text(table, f"{where}.fixed", "fixed", required=False) or None
    if fixed is not None:
        try:
            fixed = parse_version(fixed)
        except RangeError as exc:
            raise InvalidField(f"{where}.fixed", str(exc)) from None
        if affected.covers(fixed):
            raise InvalidField(f"{where}.fixed", f"{fixed} lies in the affected range {affected}.")
    return Product(
        _text(table, f"{where}.vendor", "vendor"), _text(table, f"{where}.name", "name"), version_type, affected, fixed
    )


def _reference(table: dict, where: str) -> Reference:
    url = _matching(table, f"{where}.url", "url", _URL, 'a web address such as "https://example.nl/advisory"')
    return Reference(url, _text(table, f"{where}.name", "name", required=False))


def _revisions(data: dict) -> tuple[Revision, ...]:
    revisions = []
    for number, table in enumerate(_tables(data, "revision"), 1):
        day = table.get("date")
        if not isinstance(day, datetime.date) or isinstance(day, datetime.datetime):
            raise InvalidField(f"revision[{number}].date", "must be a day written 2026-12-01, without quotes.")
        if revisions and day < revisions[-1].date:
            raise InvalidField(
                f"revision[{number}].date", f"{day} is before the revision above it; list them oldest first."
            )
        revisions.append(Revision(number, day, _text(table, f"revision[{number}].summary", "summary")))
    return tuple(revisions)
