"""crypto/advisory without a child process: advisory.toml quoted, read back and checked, the
report's fields found in report.md, version ranges and vectors, the two languages of advisory.md.
The outputs against the official schemas, and the command line, are tests/test_advisory_cli.py."""

import copy
import datetime
import re
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import reportmd
from crypto.advisory import csaf, cve, fromreport, model, readable, template
from crypto.advisory.errors import InvalidField
from crypto.advisory.texts import LANGUAGES, TEXTS
from crypto.advisory.versions import Range, RangeError
from crypto.bundle import Item, Manifest
from crypto.markdown import shown_block

DAY = datetime.date(2026, 12, 1)
CVSS_V4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
CVSS_V3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
CWE_NAME = "Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')"

# What the team fills in after `advisory init`: (table, key) → value, for tests that complete a
# template (here as data, in tests/test_advisory_cli.py in the file itself).
FILLED = {
    ("publisher", "name"): "Example B.V.",
    ("publisher", "namespace"): "https://example.nl",
    ("cve", "id"): "CVE-2026-12345",
    ("cve", "cna_org_id"): "b3476cb9-2e3d-41a6-98d0-0f47421a65b6",
    ("vulnerability", "cwe"): "CWE-89",
    ("vulnerability", "cwe_name"): CWE_NAME,
    ("vulnerability", "cvss_v4"): CVSS_V4,
    ("vulnerability", "cvss_v3"): CVSS_V3,
    ("vulnerability", "remediation"): "Update to 4.3 or later.",
    ("product", "vendor"): "Example B.V.",
    ("product", "affected"): ">=4.0, <4.3",
    ("product", "fixed"): "4.3",
}
REFERENCE = {"url": "https://example.nl/security/MP-2026-0042", "name": "Advisory"}
FIELDS = {
    "title": "SQL injection in the login form",
    "system": "portal.example.nl",
    "version": "4.2.1",
    "description": "The username field is concatenated into a query.",
    "steps": "1. Open /login\n2. Enter ' OR 1=1 --",
    "impact": "Any account can be taken over.",
    "exploited": "unknown",
    "credit": "Ada L.",
}


def report_md(fields: dict[str, str | None], reference: str = "MP-2026-0042") -> str:
    """report.md as `open` writes it for a report with these fields (crypto/reportmd.py)."""
    item = Item("items/0001.mpe", "report", "0" * 64, DAY)
    manifest = Manifest(reference, "received", DAY, (item,))
    return reportmd.render(manifest, [reportmd.Entry(item, fields=fields)])


def filled(fields: dict[str, str | None] = FIELDS) -> dict:
    """advisory.toml for `fields` as init writes it, parsed, with the team's part filled in."""
    reference, found = fromreport.parse(report_md(fields))
    data = tomllib.loads(template.render(reference, found, DAY))
    for (table, key), value in FILLED.items():
        target = data[table][0] if isinstance(data[table], list) else data[table]
        target[key] = value
    data["reference"] = [dict(REFERENCE)]
    return data


# --- TOML strings ---------------------------------------------------------------------------


@given(st.text())
def test_every_string_reads_back_the_same(text):
    assert tomllib.loads(f"value = {template.string(text)}\n")["value"] == text


@pytest.mark.parametrize(
    "text",
    [
        'say "hi"',
        "C:\\new\\table",
        'ends in a quote"',
        "ends in a backslash\\",
        '"""',
        'three """ in\na row',
        "\x7f\x00\x1b",
    ],
)
def test_awkward_strings_read_back_the_same(text):
    assert tomllib.loads(f"value = {template.string(text)}\n")["value"] == text


def test_multiline_text_is_written_over_several_lines():
    assert template.string("one\ntwo") == '"""\none\ntwo"""'


# --- from report.md -----------------------------------------------------------------------


def test_init_takes_the_reports_fields_and_the_credit_name():
    data = tomllib.loads(template.render(*fromreport.parse(report_md(FIELDS)), DAY))
    assert data["document"]["title"] == FIELDS["title"]
    assert data["document"]["tracking_id"] == "MP-2026-0042"
    assert data["vulnerability"]["description"] == FIELDS["description"]
    assert data["vulnerability"]["steps"] == FIELDS["steps"]
    assert data["vulnerability"]["impact"] == FIELDS["impact"]
    assert data["product"] == [
        {"vendor": "", "name": "portal.example.nl", "version_type": "semver", "affected": "4.2.1", "fixed": ""}
    ]
    assert data["acknowledgment"] == [{"name": "Ada L."}]
    assert data["revision"] == [{"date": DAY, "summary": "Initial release"}]


@pytest.mark.parametrize("credit", [None, ""])
def test_no_credit_no_acknowledgment(credit):
    data = tomllib.loads(template.render(*fromreport.parse(report_md({**FIELDS, "credit": credit})), DAY))
    assert "acknowledgment" not in data


def test_a_reporter_cannot_forge_a_field():
    hostile = {"title": "Real title", "description": "text\n## Credit\n\n    Mallory\n## Title\n\n    Forged"}
    _, fields = fromreport.parse(report_md(hostile))
    assert fields["title"] == "Real title"
    assert "credit" not in fields
    assert fields["description"] == hostile["description"]


def test_fields_the_tool_does_not_know_and_the_thread_are_left_out():
    text = report_md({"title": "T", "description": "D", "extra": "not ours"})
    assert fromreport.parse(text)[1] == {"title": "T", "description": "D"}


@given(st.dictionaries(st.sampled_from(["title", "description", "steps", "impact", "credit"]), st.text()))
def test_report_values_reach_advisory_toml_as_report_md_shows_them(fields):
    reference, found = fromreport.parse(report_md(fields))
    data = tomllib.loads(template.render(reference, found, DAY))
    places = {"title": data["document"], "description": data["vulnerability"], "steps": data["vulnerability"]}
    places["impact"] = data["vulnerability"]
    for key, place in places.items():
        assert place[key] == shown_block(fields.get(key, "")).rstrip()
    credit = shown_block(fields.get("credit", "")).rstrip()
    expected = [{"name": credit}] if credit else None
    assert data.get("acknowledgment") == expected or credit == fromreport.NO_CREDIT


def test_something_else_is_not_report_md():
    assert fromreport.parse("# Notes\n\nmine") is None


# --- checking advisory.toml ---------------------------------------------------------------


def test_a_complete_advisory_is_accepted():
    advisory = model.parse(filled())
    assert advisory.cvss_v3.base == 9.8
    assert advisory.cvss_v4.severity == "CRITICAL"
    assert advisory.products[0].affected == Range("4.0", "4.3")
    assert advisory.acknowledgments == ("Ada L.",)


def change(data: dict, path: str, value) -> dict:
    data = copy.deepcopy(data)
    *tables, key = re.split(r"[.\[\]]+", path.rstrip("]"))
    target = data
    for table in tables:
        target = target[int(table) - 1] if table.isdigit() else target[table]
    if value is None:
        del target[key]
    else:
        target[key] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("vulnerability.cvss_v3", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "vulnerability.cvss_v3"),
        ("vulnerability.cvss_v3", CVSS_V4, "vulnerability.cvss_v3"),
        ("vulnerability.cvss_v3", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "vulnerability.cvss_v3"),
        ("vulnerability.cvss_v4", "CVSS:4.0/AV:N", "vulnerability.cvss_v4"),
        ("vulnerability.cwe", "CWE89", "vulnerability.cwe"),
        ("vulnerability.cwe", "CWE-0", "vulnerability.cwe"),
        ("vulnerability.cwe", "89", "vulnerability.cwe"),
        ("product.1.affected", ">=4.3, <4.0", "product[1].affected"),
        ("product.1.affected", "4.0 - 4.3", "product[1].affected"),
        ("product.1.affected", ">4.0", "product[1].affected"),
        ("product.1.affected", "", "product[1].affected"),
        ("product.1.fixed", "4.2", "product[1].fixed"),
        ("product.1.fixed", ">=4.3", "product[1].fixed"),
        ("product.1.version_type", "calver", "product[1].version_type"),
        ("cve.id", "CVE-26-1", "cve.id"),
        ("cve.cna_org_id", "not-a-uuid", "cve.cna_org_id"),
        ("document.tlp", "WHITE", "document.tlp"),
        ("document.title", 42, "document.title"),
        ("publisher.namespace", "example.nl", "publisher.namespace"),
        ("vulnerability.remediation", "", "vulnerability.remediation"),
        ("vulnerability.description", "x" * 4097, "vulnerability.description"),
        ("document.title", "x" * 257, "document.title"),
        ("vulnerability.impact", "x" * 4097, "vulnerability.impact"),
        ("reference.1.url", "ftp://example.nl", "reference[1].url"),
        ("revision.1.date", "2026-12-01", "revision[1].date"),
    ],
)
def test_a_wrong_field_is_named(path, value, field):
    with pytest.raises(InvalidField) as raised:
        model.parse(change(filled(), path, value))
    assert raised.value.field == field
    message = str(raised.value)
    assert message.startswith(f"advisory.toml, {field}: ")
    assert message.endswith(".")
    assert "\n" not in message


def test_at_least_one_vector():
    data = change(change(filled(), "vulnerability.cvss_v3", ""), "vulnerability.cvss_v4", "")
    with pytest.raises(InvalidField) as raised:
        model.parse(data)
    assert raised.value.field == "vulnerability.cvss_v4"


def test_at_least_one_reference_product_and_revision():
    for name in ("reference", "product", "revision"):
        data = filled()
        del data[name]
        with pytest.raises(InvalidField) as raised:
            model.parse(data)
        assert raised.value.field == name


def test_revisions_oldest_first():
    data = filled()
    data["revision"].append({"date": DAY - datetime.timedelta(days=1), "summary": "Earlier?"})
    with pytest.raises(InvalidField) as raised:
        model.parse(data)
    assert raised.value.field == "revision[2].date"


# --- version ranges -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cve_entry", "vers"),
    [
        (
            ">=4.0, <4.3",
            {"version": "4.0", "lessThan": "4.3", "status": "affected", "versionType": "semver"},
            "vers:semver/>=4.0|<4.3",
        ),
        (
            "<4.3",
            {"version": "0", "lessThan": "4.3", "status": "affected", "versionType": "semver"},
            "vers:semver/<4.3",
        ),
        (
            "<= 4.2.1",
            {"version": "0", "lessThanOrEqual": "4.2.1", "status": "affected", "versionType": "semver"},
            "vers:semver/<=4.2.1",
        ),
        ("4.2.1", {"version": "4.2.1", "status": "affected"}, None),
        (
            ">=1.0-rc1, <1.0",
            {"version": "1.0-rc1", "lessThan": "1.0", "status": "affected", "versionType": "semver"},
            "vers:semver/>=1.0-rc1|<1.0",
        ),
    ],
)
def test_ranges_in_the_cve_record_and_csaf(text, cve_entry, vers):
    parsed = Range.parse(text)
    assert parsed.cve("semver") == cve_entry
    assert parsed.vers("semver") == vers
    assert Range.parse(str(parsed)) == parsed


@pytest.mark.parametrize("text", ["", ">=1.0", ">=2, <1", ">=2, <=1.9", "1.0, 2.0", "<", "1.0 beta", "<4.3,"])
def test_not_a_range(text):
    with pytest.raises(RangeError):
        Range.parse(text)


@pytest.mark.parametrize(
    ("text", "version", "covered"),
    [(">=4.0, <4.3", "4.3", False), (">=4.0, <4.3", "4.2.9", True), ("<=4.2", "4.2.0", True), ("4.2", "4.3", False)],
)
def test_covers(text, version, covered):
    assert Range.parse(text).covers(version) is covered


# --- the outputs' content -------------------------------------------------------------------


def test_cvss_4_goes_to_the_cve_record_only():
    advisory = model.parse(filled())
    metrics = cve.record(advisory)["containers"]["cna"]["metrics"]
    assert [sorted(set(m) - {"format", "scenarios"}) for m in metrics] == [["cvssV4_0"], ["cvssV3_1"]]
    assert metrics[0]["cvssV4_0"] == {
        "version": "4.0",
        "vectorString": CVSS_V4,
        "baseScore": 9.3,
        "baseSeverity": "CRITICAL",
    }
    scores = csaf.document(advisory)["vulnerabilities"][0]["scores"]
    assert [list(score) for score in scores] == [["cvss_v3", "products"]]


def test_tlp_clear_is_csaf_20s_white():
    assert csaf.document(model.parse(filled()))["document"]["distribution"]["tlp"]["label"] == "WHITE"


def test_every_language_has_every_text():
    assert set(TEXTS) == set(LANGUAGES)
    assert all(set(TEXTS[lang]) == set(TEXTS["en"]) for lang in LANGUAGES)


@pytest.mark.parametrize(("lang", "heading"), [("en", "## Affected products"), ("nl", "## Getroffen producten")])
def test_advisory_md_in_either_language(lang, heading):
    page = readable.render(model.parse(filled()), lang)
    assert heading in page
    assert page.startswith(f"# {TEXTS[lang]['advisory']} MP-2026-0042: SQL injection in the login form\n")
    assert "| Example B.V. | portal.example.nl | `>=4.0, <4.3` | `4.3` |" in page
    assert TEXTS[lang]["thanks"].format(names="Ada L.") in page
