"""crypto/advisory without a child process: advisory.toml quoted, read back and checked, the
report's fields found in report.md, version ranges and vectors, the two languages of advisory.md.
The outputs against the official schemas, and the command line, are tests/test_advisory_cli.py."""

import copy
import datetime
import json
import os
import re
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from crypto import advisory, reportmd
from crypto.advisory import csaf, cve, fromreport, model, readable, template
from crypto.advisory.errors import InvalidField, NoAdvisory, NotAFolder, NotOpened, UnreadableAdvisory
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
    ("revision", "date"): DAY,
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


def filled(fields: dict[str, str | None] = FIELDS, values: dict = FILLED) -> dict:
    """advisory.toml for `fields` as init writes it, parsed, with the team's part (`values`) filled in."""
    data = tomllib.loads(template.render(fromreport.parse(report_md(fields)), DAY))
    for (table, key), value in values.items():
        target = data[table][0] if isinstance(data[table], list) else data[table]
        target[key] = value
    data["reference"] = [dict(REFERENCE)]
    return data


def fill(text: str, values: dict) -> str:
    """advisory.toml's text with the (table, key) → value pairs put in place, as a person edits it."""
    lines, table = [], None
    for line in text.split("\n"):
        if line.startswith("["):
            table = line.strip("[]")
        key = line.split(" = ", 1)[0]
        if (table, key) in values:
            value = values[(table, key)]
            line = f"{key} = {value.isoformat() if isinstance(value, datetime.date) else json.dumps(value)}"
        lines.append(line)
    reference = "".join(f"{key} = {json.dumps(value)}\n" for key, value in REFERENCE.items())
    return "\n".join(lines) + f"\n[[reference]]\n{reference}"


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
    data = tomllib.loads(template.render(fromreport.parse(report_md(FIELDS)), DAY))
    assert data["document"]["title"] == FIELDS["title"]
    assert data["document"]["tracking_id"] == "MP-2026-0042"
    assert data["vulnerability"]["description"] == FIELDS["description"]
    assert data["vulnerability"]["steps"] == FIELDS["steps"]
    assert data["vulnerability"]["publish_steps"] is False
    assert data["vulnerability"]["impact"] == FIELDS["impact"]
    assert data["product"] == [
        {"vendor": "", "name": "portal.example.nl", "version_type": "semver", "affected": "4.2.1", "fixed": ""}
    ]
    assert data["acknowledgment"] == [{"name": "Ada L."}]
    assert data["revision"] == [{"date": "", "summary": "Initial release"}]


@pytest.mark.parametrize("credit", [None, ""])
def test_no_credit_no_acknowledgment(credit):
    data = tomllib.loads(template.render(fromreport.parse(report_md({**FIELDS, "credit": credit})), DAY))
    assert "acknowledgment" not in data


def test_a_reporter_cannot_forge_a_field():
    hostile = {"title": "Real title", "description": "text\n## Credit\n\n    Mallory\n## Title\n\n    Forged"}
    fields = fromreport.parse(report_md(hostile)).fields
    assert fields["title"] == "Real title"
    assert "credit" not in fields
    assert fields["description"] == hostile["description"]


def test_fields_the_tool_does_not_know_and_the_thread_are_left_out():
    text = report_md({"title": "T", "description": "D", "extra": "not ours"})
    assert fromreport.parse(text).fields == {"title": "T", "description": "D"}


@given(st.dictionaries(st.sampled_from(["title", "description", "steps", "impact", "credit"]), st.text()))
def test_report_values_reach_advisory_toml_as_report_md_shows_them(fields):
    data = tomllib.loads(template.render(fromreport.parse(report_md(fields)), DAY))
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
        ("revision.1.date", "", "revision[1].date"),
        # One line where advisory.md puts a text in a heading, a cell or a sentence.
        ("document.title", "Real title\n## Acknowledgments", "document.title"),
        ("document.title", "Real title\r# Forged", "document.title"),
        ("acknowledgment.1.name", "Ada\n\n## Solution", "acknowledgment[1].name"),
        ("product.1.vendor", "Example\u2028B.V.", "product[1].vendor"),
        ("product.1.name", "portal\n---", "product[1].name"),
        ("reference.1.name", "Advisory\n# Forged", "reference[1].name"),
        ("revision.1.summary", "Initial\nrelease", "revision[1].summary"),
        ("vulnerability.cwe_name", "SQL\nInjection", "vulnerability.cwe_name"),
        ("publisher.name", "Example\nB.V.", "publisher.name"),
        # Digits are ASCII digits: `\d` would take Arabic-Indic ones, which no CVE id has.
        ("cve.id", "CVE-\u0662\u0660\u0662\u0666-\u0661\u0662\u0663\u0664\u0665", "cve.id"),
        ("cve.id", "CVE-2026-\uff11\uff12\uff13\uff14", "cve.id"),
        ("vulnerability.cwe", "CWE-\u0668\u0669", "vulnerability.cwe"),
        ("vulnerability.cwe", "CWE-123456", "vulnerability.cwe"),  # the CVE schema's cweId: at most 9
        # The CVE JSON 5 schema's lengths.
        ("cve.cna_short_name", "X", "cve.cna_short_name"),
        ("cve.cna_short_name", "x" * 33, "cve.cna_short_name"),
        ("vulnerability.cwe_name", "x" * 4087, "vulnerability.cwe_name"),
        ("product.1.vendor", "x" * 513, "product[1].vendor"),
        ("product.1.name", "x" * 2049, "product[1].name"),
        ("reference.1.name", "x" * 513, "reference[1].name"),
        ("reference.1.url", "https://example.nl/" + "x" * 2030, "reference[1].url"),
        ("acknowledgment.1.name", "x" * 4097, "acknowledgment[1].name"),
        ("vulnerability.workaround", "x" * 4097, "vulnerability.workaround"),
        ("product.1.affected", "x" * 1025, "product[1].affected"),
        ("product.1.fixed", "9" * 1025, "product[1].fixed"),
        ("product.1.affected", ">=1, <1" + "0" * 5000, "product[1].affected"),  # not int()'s digit limit
        # An address a Markdown autolink `<…>` would end at, with HTML after it.
        ("reference.1.url", "https://example.nl/><img src=x onerror=alert(1)>", "reference[1].url"),
        ("reference.1.url", 'https://example.nl/"onmouseover="x', "reference[1].url"),
        ("reference.1.category", "canonical", "reference[1].category"),
        ("vulnerability.publish_steps", "yes", "vulnerability.publish_steps"),
        ("cve.id", "CVE-2026-" + "x" * 5000, "cve.id"),  # quoted short in the sentence
        ("product.1.affected", ">=2.0" + "0" * 900 + ", <1.0", "product[1].affected"),
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
    assert len(message) < 300  # one sentence, however long the value


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


def test_duplicate_products_are_refused():
    data = filled()
    data["product"].append(dict(data["product"][0]))
    with pytest.raises(InvalidField) as raised:
        model.parse(data)
    assert raised.value.field == "product[2]"
    data["product"][1] = {**data["product"][0], "affected": "4.3", "fixed": ""}  # product[1]'s fixed version
    with pytest.raises(InvalidField) as raised:
        model.parse(data)
    assert raised.value.field == "product[2]"
    data["product"][1] = {**data["product"][0], "name": "another product"}
    assert len(model.parse(data).products) == 2


# --- publishing defaults ----------------------------------------------------------------------


def test_the_steps_are_published_only_when_the_team_says_so():
    kept = model.parse(filled())
    assert kept.steps == ""
    assert [note["title"] for note in csaf.document(kept)["vulnerabilities"][0]["notes"]] == ["Description", "Impact"]
    assert "## Steps to reproduce" not in readable.render(kept, "en")
    published = model.parse(change(filled(), "vulnerability.publish_steps", True))
    assert published.steps == FIELDS["steps"]
    assert "## Steps to reproduce" in readable.render(published, "en")
    with pytest.raises(InvalidField) as raised:
        model.parse(change(change(filled(), "vulnerability.publish_steps", True), "vulnerability.steps", ""))
    assert raised.value.field == "vulnerability.publish_steps"


def test_the_template_leaves_the_publication_day_to_the_team():
    values = {place: value for place, value in FILLED.items() if place != ("revision", "date")}
    with pytest.raises(InvalidField) as raised:
        model.parse(filled(values=values))
    assert raised.value.field == "revision[1].date"
    assert "is empty" in str(raised.value)


# --- escapes report.md showed -----------------------------------------------------------------


def test_init_points_the_team_at_the_characters_report_md_escaped():
    fields = {**FIELDS, "steps": "1. \x1b[2J clear\n2. \u202eevil", "credit": "Ada\u200b L."}
    report = fromreport.parse(report_md(fields))
    assert report.escaped == {"steps": 2, "credit": 1}
    assert report.fields["steps"] == "1. \\x1b[2J clear\n2. \\u202eevil"
    lines = template.render(report, DAY).split("\n")
    steps = next(n for n, line in enumerate(lines) if line.startswith("steps = "))
    name = next(n for n, line in enumerate(lines) if line.startswith("name = ") and "Ada" in line)
    for line in (steps, name):
        review = max(n for n in range(line) if lines[n].startswith("# Review: "))
        assert all(lines[n].startswith("# ") for n in range(review, line))
    assert sum(line.startswith("# Review: ") for line in lines) == 2  # not above the other fields


@pytest.mark.parametrize("status", ["draft", "interim"])
def test_advisory_md_says_when_it_is_not_final(status):
    for lang in LANGUAGES:
        page = readable.render(model.parse(change(filled(), "document.status", status)), lang)
        assert page.split("\n\n")[1] == TEXTS[lang][f"{status}_notice"]
    assert "_notice" not in readable.render(model.parse(filled()), "en")
    assert TEXTS["en"]["draft_notice"] not in readable.render(model.parse(filled()), "en")


# --- what the outputs say -------------------------------------------------------------------


def test_csaf_product_tree_status_and_remediations():
    data = filled()
    data["vulnerability"]["workaround"] = "Block /login at the firewall."
    data["product"].append({"vendor": "Example B.V.", "name": "app", "version_type": "custom", "affected": "2.0"})
    data["reference"].append({"url": "https://example.nl/csaf/mp-2026-0042.json", "category": "self"})
    document = csaf.document(model.parse(data))
    products = document["product_tree"]["branches"][0]["branches"]
    assert products[0]["branches"] == [
        {
            "category": "product_version_range",
            "name": "vers:semver/>=4.0|<4.3",
            "product": {"name": "Example B.V. portal.example.nl >=4.0, <4.3", "product_id": "CSAFPID-0001"},
        },
        {
            "category": "product_version",
            "name": "4.3",
            "product": {"name": "Example B.V. portal.example.nl 4.3", "product_id": "CSAFPID-0002"},
        },
    ]
    assert products[1]["branches"] == [
        {
            "category": "product_version",
            "name": "2.0",
            "product": {"name": "Example B.V. app 2.0", "product_id": "CSAFPID-0003"},
        }
    ]
    vulnerability = document["vulnerabilities"][0]
    assert vulnerability["product_status"] == {
        "known_affected": ["CSAFPID-0001", "CSAFPID-0003"],
        "first_fixed": ["CSAFPID-0002"],
    }
    assert vulnerability["remediations"] == [
        {"category": "vendor_fix", "details": "Update to 4.3 or later.", "product_ids": ["CSAFPID-0001"]},
        {"category": "none_available", "details": "Update to 4.3 or later.", "product_ids": ["CSAFPID-0003"]},
        {
            "category": "workaround",
            "details": "Block /login at the firewall.",
            "product_ids": ["CSAFPID-0001", "CSAFPID-0003"],
        },
    ]
    assert document["document"]["references"] == [
        {
            "category": "self",
            "summary": "https://example.nl/csaf/mp-2026-0042.json",
            "url": "https://example.nl/csaf/mp-2026-0042.json",
        }
    ]
    assert vulnerability["references"] == [{"category": "external", "summary": "Advisory", "url": REFERENCE["url"]}]


def test_no_fixed_version_is_no_vendor_fix():
    vulnerability = csaf.document(model.parse(change(filled(), "product.1.fixed", "")))["vulnerabilities"][0]
    assert vulnerability["product_status"] == {"known_affected": ["CSAFPID-0001"]}
    assert [r["category"] for r in vulnerability["remediations"]] == ["none_available"]


def test_the_cve_record_claims_nothing_outside_the_range():
    cna = cve.record(model.parse(filled()))["containers"]["cna"]
    assert cna["affected"] == [
        {
            "vendor": "Example B.V.",
            "product": "portal.example.nl",
            "defaultStatus": "unknown",
            "versions": [
                {"version": "4.0", "lessThan": "4.3", "status": "affected", "versionType": "semver"},
                {"version": "4.3", "status": "unaffected"},
            ],
        }
    ]
    assert "workarounds" not in cna
    with_workaround = change(filled(), "vulnerability.workaround", "Block /login.")
    assert cve.record(model.parse(with_workaround))["containers"]["cna"]["workarounds"] == [
        {"lang": "en", "value": "Block /login."}
    ]


@pytest.mark.parametrize(
    ("text", "version", "covered"),
    [(">=9, <10", "9.5", True), (">=9, <10", "10", False), ("<" + "1" + "0" * 1000, "9" * 1000, True)],
)
def test_versions_compare_as_numbers_of_any_length(text, version, covered):
    assert Range.parse(text).covers(version) is covered


# --- advisory.md ------------------------------------------------------------------------------

ADVISORY_MD = """\
# Security advisory MP-2026-0042: SQL injection in the login form

- CVE: CVE-2026-12345
- Published: 2026-12-01
- TLP: CLEAR
- Weakness: CWE-89 Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')
- Severity: CVSS 4.0 base score 9.3 (critical) — `CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N`
- Severity: CVSS 3.1 base score 9.8 (critical) — `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`

## Affected products

| Vendor | Product | Affected versions | Fixed in |
| --- | --- | --- | --- |
| Example B.V. | portal.example.nl | `>=4.0, <4.3` | `4.3` |

## Description

The username field is concatenated into a query.

## Impact

Any account can be taken over.

## Steps to reproduce

```
1. Open /login
2. Enter ' OR 1=1 --
```

## Solution

Update to 4.3 or later.

## Workaround

Block /login at the firewall.

## References

- <https://example.nl/security/MP-2026-0042> Advisory

## Acknowledgments

We thank Ada L. for reporting this vulnerability.

## Revision history

| Version | Date | Summary |
| --- | --- | --- |
| 1 | 2026-12-01 | Initial release |
"""


def test_advisory_md_in_full():
    data = change(filled(), "vulnerability.publish_steps", True)
    data["vulnerability"]["workaround"] = "Block /login at the firewall."
    assert readable.render(model.parse(data), "en") == ADVISORY_MD


def markdown() -> MarkdownIt:
    """How a viewer reads advisory.md: CommonMark with GFM's tables and strike-through."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def structure(page: str) -> list[tuple[str, str]]:
    """The page's headings and every token that is not text, code or table: what a text could forge."""
    tokens = markdown().parse(page)
    found = []
    for number, token in enumerate(tokens):
        if token.type == "heading_open":
            found.append((token.tag, "".join(child.content for child in tokens[number + 1].children)))
        for child in [token, *(token.children or [])]:
            if child.type.startswith(("html", "link", "image", "em_", "strong_", "s_", "blockquote", "hr")):
                found.append((child.type, child.content or str(child.attrs)))
    return found


HTML = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(document.cookie)</script>",
    '<a href="javascript:alert(1)">click</a>',
    "<!-- hidden -->",
    "&lt;img src=x onerror=alert(1)&gt;",
]
MARKDOWN = [
    "## Acknowledgments",
    "We thank Mallory\n\n## Solution\n\n[Download the fix](https://evil.example/fix.exe)",
    "![x](https://evil.example/pixel.png) *loud* __bold__ ~~gone~~ `code`",
    "<https://evil.example> [ref]\n\n[ref]: https://evil.example",
    "Text\n===\nmore\n---\n* * *\n> quoted\n1. listed\n- listed\n    indented code\n```\nfence\n```",
    "| a | b |\n| --- | --- |\n| c | d |",
    "trailing backslash\\\nnext \\<img src=x onerror=alert(1)\\>",
]


@pytest.mark.parametrize("payload", HTML + MARKDOWN)
def test_hostile_text_stays_text_in_advisory_md(payload):
    one_line = " ".join(payload.split())
    data = change(filled(), "vulnerability.publish_steps", True)
    data["document"]["title"] = one_line
    data["document"]["tracking_id"] = one_line
    data["publisher"]["name"] = one_line
    data["vulnerability"]["cwe_name"] = one_line
    data["acknowledgment"] = [{"name": one_line}, {"name": one_line + " 2"}]
    data["product"][0].update(vendor=one_line, name=one_line + " product")
    data["reference"][0]["name"] = one_line
    data["revision"][0]["summary"] = one_line
    for key in ("description", "impact", "steps", "remediation", "workaround"):
        data["vulnerability"][key] = payload
    page = readable.render(model.parse(data), "en")
    clean = change(change(filled(), "vulnerability.publish_steps", True), "vulnerability.workaround", "Wait.")
    expected = structure(readable.render(model.parse(clean), "en"))
    assert structure(page) == [
        (kind, content.replace("MP-2026-0042: SQL injection in the login form", f"{one_line}: {one_line}"))
        for kind, content in expected
    ]
    html = markdown().render(page)
    for tag in ("<img", "<script", '<a href="javascript', "<!--", "<h1>Acknow", "<h2>Solution</h2>\n<p><a"):
        assert tag not in html
    assert markdown().render(page).count("<table>") == 2
    assert f"<code>{escapeHtml(payload)}\n</code>" in html  # the steps, exactly


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc"))))
def test_any_line_is_shown_as_typed(value):
    shown = " ".join(value.split())
    rendered = markdown().render(readable.text(value))
    assert rendered == (f"<p>{escapeHtml(shown)}</p>\n" if shown else "")


@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00")))
def test_any_steps_are_one_code_block(value):
    tokens = markdown().parse(readable.fenced(value))
    assert [token.type for token in tokens] == ["fence"]
    assert tokens[0].content == value + "\n"


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\n")))
def test_any_paragraphs_are_paragraphs(value):
    tokens = markdown().parse(readable.paragraphs(value))
    assert {token.type for token in tokens} <= {"paragraph_open", "inline", "paragraph_close"}
    assert {child.type for token in tokens for child in token.children or []} <= {"text", "softbreak"}
    shown = [" ".join(line.split()) for line in value.split("\n")]
    words = [child.content if child.type == "text" else " " for token in tokens for child in token.children or []]
    assert " ".join(words).split() == " ".join(shown).split()


def test_a_forged_field_in_report_md_is_no_section_of_advisory_md():
    hostile = {
        **FIELDS,
        "description": "text\n## Credit\n\n    Mallory\n## Title\n\n    Forged\n<img src=x onerror=alert(1)>",
        "credit": None,
    }
    page = readable.render(model.parse(filled(hostile)), "en")
    headings = [content for kind, content in structure(page) if kind.startswith("h")]
    assert headings == [
        f"Security advisory MP-2026-0042: {FIELDS['title']}",
        *("Affected products", "Description", "Impact", "Solution", "References", "Revision history"),
    ]
    assert [kind for kind, _ in structure(page) if kind.startswith("html")] == []
    assert "Mallory" in page
    assert "Acknowledgments" not in page


# --- the folder -------------------------------------------------------------------------------


def test_each_missing_thing_has_its_own_error(tmp_path):
    with pytest.raises(NotAFolder):
        advisory.build(tmp_path / "nowhere", "en")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotAFolder):
        advisory.init(tmp_path / "file", DAY)
    with pytest.raises(NotOpened):
        advisory.init(tmp_path, DAY)
    with pytest.raises(NoAdvisory):
        advisory.build(tmp_path, "en")
    (tmp_path / "report.md").write_text(report_md(FIELDS))
    (tmp_path / "advisory.toml").mkdir()
    with pytest.raises(UnreadableAdvisory):
        advisory.build(tmp_path, "en")
    with pytest.raises(FileExistsError):  # "already exists": init and build agree
        advisory.init(tmp_path, DAY)


def write_advisory(folder: Path) -> None:
    (folder / "report.md").write_text(report_md(FIELDS))
    path = advisory.init(folder, DAY)
    path.write_text(fill(path.read_text(), FILLED))


def test_a_failed_write_replaces_no_output(tmp_path, monkeypatch):
    write_advisory(tmp_path)
    advisory.build(tmp_path, "en")
    before = {name: (tmp_path / name).read_bytes() for name in advisory.OUTPUTS}
    (tmp_path / "advisory.toml").write_text((tmp_path / "advisory.toml").read_text().replace("Ada L.", "Ada"))
    real = tempfile.mkstemp

    def full_disk(*args, prefix="", **kwargs):
        if prefix.startswith(".cve.json"):
            raise OSError(28, os.strerror(28))
        return real(*args, prefix=prefix, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", full_disk)
    with pytest.raises(OSError):
        advisory.build(tmp_path, "en")
    assert {name: (tmp_path / name).read_bytes() for name in advisory.OUTPUTS} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([*advisory.OUTPUTS, "advisory.toml", "report.md"])
    monkeypatch.undo()
    advisory.build(tmp_path, "en")
    assert b"Ada L." not in (tmp_path / "csaf.json").read_bytes()
