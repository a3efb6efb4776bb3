"""advisory.toml read and checked: every field the outputs need, or `InvalidField` naming it in
one sentence. What the outputs make of it is csaf.py, cve.py and readable.py.

Limits are the CVE JSON 5 schema's (a record the CNA cannot submit is no use), so that the build
refuses a field the schema would refuse. Every text but the long ones (description, impact, steps,
remediation, workaround) is one line: advisory.md puts them in headings, table cells and sentences,
where a line break could start a section of its own (readable.py).
"""

import datetime
import re
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidField, UnreadableAdvisory
from .scores import Score, VectorError, score
from .versions import VERSION_TYPES, Range, RangeError, parse_version, quoted

TLP = ("CLEAR", "GREEN", "AMBER", "RED")
STATUSES = ("final", "interim", "draft")
PUBLISHER_CATEGORIES = ("vendor", "coordinator", "discoverer", "user", "other")
REFERENCE_CATEGORIES = ("external", "self")
_CVE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,19}")
_CWE = re.compile(r"CWE-[1-9][0-9]{0,4}")  # the CVE schema's cweId: 5 to 9 characters
# An absolute http(s) address of RFC 3986's characters only: nothing a Markdown autolink `<…>`
# ends at or a terminal acts on (readable.py writes it so).
_URL = re.compile(r"https?://[A-Za-z0-9\[][A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]*")
_TRACKING = re.compile(r"[\S](.*[\S])?")
# The CVE JSON 5 schema's limits, in characters.
_TEXT_LIMIT = 4096  # description, impact, solution, workaround, credit
_TITLE_LIMIT = 256
_VENDOR_LIMIT = 512
_PRODUCT_LIMIT = 2048
_URL_LIMIT = 2048
_REFERENCE_NAME_LIMIT = 512
_SHORT_NAME = (2, 32)
_CWE_NAME_LIMIT = 4096 - len("CWE-12345 ")  # the problem type's description is "CWE-89 <name>"


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
    category: str  # CSAF's: "self" for the advisory's own address, "external" for the others


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
    steps: str  # empty unless `publish_steps` is true: the steps are a working attack
    remediation: str
    workaround: str
    products: tuple[Product, ...]
    references: tuple[Reference, ...]
    acknowledgments: tuple[str, ...]
    revisions: tuple[Revision, ...]


def timestamp(day: datetime.date) -> str:
    """A day as CSAF and the CVE record write a moment: its midnight, UTC."""
    return f"{day.isoformat()}T00:00:00.000Z"


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
        title=_text(document, "document.title", "title", limit=_TITLE_LIMIT),
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
        cna_short_name=_short_name(cve),
        cwe=_matching(vulnerability, "vulnerability.cwe", "cwe", _CWE, 'a CWE id such as "CWE-89"'),
        cwe_name=_text(vulnerability, "vulnerability.cwe_name", "cwe_name", limit=_CWE_NAME_LIMIT),
        cvss_v4=_score(vulnerability, "cvss_v4", "4.0"),
        cvss_v3=_score(vulnerability, "cvss_v3", "3.1"),
        description=_long(vulnerability, "description"),
        impact=_long(vulnerability, "impact", required=False),
        steps=_steps(vulnerability),
        remediation=_long(vulnerability, "remediation"),
        workaround=_long(vulnerability, "workaround", required=False),
        products=_products(data),
        references=tuple(_reference(table, f"reference[{n}]") for n, table in enumerate(_tables(data, "reference"), 1)),
        acknowledgments=tuple(
            _text(table, f"acknowledgment[{n}].name", "name", limit=_TEXT_LIMIT)
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


def _text(
    table: dict, field: str, key: str, required: bool = True, limit: int | None = None, multiline: bool = False
) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise InvalidField(field, "must be a string, in double quotes.")
    value = value.strip()
    if required and not value:
        raise InvalidField(field, "is empty; fill it in.")
    if limit is not None and len(value) > limit:
        raise InvalidField(field, f"has {len(value)} characters; a CVE record takes at most {limit}.")
    if not multiline and len(value.splitlines()) > 1:
        raise InvalidField(field, "must be one line; remove its line breaks.")
    return value


def _long(table: dict, key: str, required: bool = True) -> str:
    """One of the vulnerability's texts of several lines and paragraphs."""
    return _text(table, f"vulnerability.{key}", key, required=required, limit=_TEXT_LIMIT, multiline=True)


def _steps(table: dict) -> str:
    """The steps to reproduce if the team chose to publish them (`publish_steps = true`), else ""."""
    publish = table.get("publish_steps", False)
    if not isinstance(publish, bool):
        raise InvalidField("vulnerability.publish_steps", "must be true or false, without quotes.")
    steps = _text(table, "vulnerability.steps", "steps", required=False, multiline=True)
    if publish and not steps:
        raise InvalidField(
            "vulnerability.publish_steps", "is true but steps is empty; fill in steps or set it to false."
        )
    return steps if publish else ""


def _short_name(table: dict) -> str:
    value = _text(table, "cve.cna_short_name", "cna_short_name", required=False)
    least, most = _SHORT_NAME
    if value and not least <= len(value) <= most:
        raise InvalidField("cve.cna_short_name", f"has {len(value)} characters; a CVE record takes {least} to {most}.")
    return value


def _matching(table: dict, field: str, key: str, pattern: re.Pattern, expected: str) -> str:
    value = _text(table, field, key)
    if not pattern.fullmatch(value):
        raise InvalidField(field, f"{quoted(value)} is not {expected}.")
    return value


def _choice(table: dict, field: str, key: str, choices: tuple[str, ...]) -> str:
    value = _text(table, field, key)
    if value not in choices:
        raise InvalidField(field, f"{quoted(value)} is not one of {', '.join(choices)}.")
    return value


def _uuid(table: dict, field: str, key: str) -> str:
    value = _text(table, field, key)
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidField(field, f'{quoted(value)} is not a UUID such as "{uuid.UUID(int=0)}".') from None


def _score(table: dict, key: str, version: str) -> Score | None:
    vector = _text(table, f"vulnerability.{key}", key, required=False)
    if not vector:
        return None
    try:
        return score(vector, version)
    except VectorError as exc:
        raise InvalidField(f"vulnerability.{key}", f"{exc}.") from None


def _products(data: dict) -> tuple[Product, ...]:
    """The [[product]] tables, each version of a product listed once (affected or fixed): CSAF
    gives each its own product id, and a version both affected and fixed would contradict itself."""
    products, seen = [], {}
    for number, table in enumerate(_tables(data, "product"), 1):
        product = _product(table, f"product[{number}]")
        for version in (str(product.affected), product.fixed):
            listed = (product.vendor, product.name, version)
            if version is not None and listed in seen:
                raise InvalidField(
                    f"product[{number}]", f"{' '.join(listed)} is listed already, in {seen[listed]}; list it once."
                )
            seen.setdefault(listed, f"product[{number}]")
        products.append(product)
    return tuple(products)


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
    vendor = _text(table, f"{where}.vendor", "vendor", limit=_VENDOR_LIMIT)
    return Product(vendor, _text(table, f"{where}.name", "name", limit=_PRODUCT_LIMIT), version_type, affected, fixed)


def _reference(table: dict, where: str) -> Reference:
    url = _matching(table, f"{where}.url", "url", _URL, 'a web address such as "https://example.nl/advisory"')
    if len(url) > _URL_LIMIT:
        raise InvalidField(f"{where}.url", f"has {len(url)} characters; a CVE record takes at most {_URL_LIMIT}.")
    name = _text(table, f"{where}.name", "name", required=False, limit=_REFERENCE_NAME_LIMIT)
    category = _text(table, f"{where}.category", "category", required=False) or "external"
    if category not in REFERENCE_CATEGORIES:
        raise InvalidField(f"{where}.category", f"{quoted(category)} is not one of {', '.join(REFERENCE_CATEGORIES)}.")
    return Reference(url, name, category)


def _revisions(data: dict) -> tuple[Revision, ...]:
    revisions = []
    for number, table in enumerate(_tables(data, "revision"), 1):
        day = table.get("date", "")
        if day == "":
            raise InvalidField(
                f"revision[{number}].date",
                "is empty; fill in the day it is published, written 2026-12-15 without quotes.",
            )
        if not isinstance(day, datetime.date) or isinstance(day, datetime.datetime):
            raise InvalidField(f"revision[{number}].date", "must be a day written 2026-12-01, without quotes.")
        if revisions and day < revisions[-1].date:
            raise InvalidField(
                f"revision[{number}].date", f"{day} is before the revision above it; list them oldest first."
            )
        revisions.append(Revision(number, day, _text(table, f"revision[{number}].summary", "summary")))
    return tuple(revisions)
