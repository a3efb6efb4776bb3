"""`meldpunt-team advisory` as the team runs it: a bundle opened with `open`, `advisory init`, the
team's fields filled into the file, `advisory build`; the outputs checked by the official schemas
and checks, never by our own reading of them: CSAF by BSI's csaf-validator-lib (the strict OASIS
CSAF 2.0 schema and every mandatory test, run by node: tests/csaf_validate.mjs), the CVE record by
the schemas cvelib ships."""

import copy
import datetime
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest
from cvelib.cve_api import CveRecord, CveRecordValidationError

from crypto import Meta, PrivateKey, report, seal_bytes
from crypto.bundle import BundleWriter

from .conftest import run_cli
from .test_advisory import CVSS_V4, FILLED, fill
from .test_cli import assert_one_line_error

pytestmark = pytest.mark.slow  # the CLI in child processes, node, and one 256 MiB argon2id key

ROOT = Path(__file__).resolve().parent.parent
VALIDATOR = Path(__file__).with_name("csaf_validate.mjs")
NODE_LIB = ROOT / "node_modules" / "@secvisogram" / "csaf-validator-lib"
HOSTILE = {
    "title": 'Path traversal in "export" \\ download',
    "system": "Example Portal",
    "version": "2.1",
    "description": 'Line one with "quotes"\nLine two with a backslash \\n and C:\\temp\n\n  indented """ three',
    "steps": "1. GET /export?file=..\\..\\etc\\passwd\n2. Look\t(tab)",
    "impact": "Read any file.\\",
    "exploited": "no",
    "credit": 'Ada "the finder" L.\\',
}


def require_validator() -> str:
    node = shutil.which("node")
    if node is None or not NODE_LIB.is_dir():
        if os.environ.get("CI"):
            pytest.fail(
                "node or csaf-validator-lib is missing: .ci/run must install them (apt-get install nodejs; npm ci)"
            )
        pytest.skip("node or node_modules/@secvisogram/csaf-validator-lib is not installed (npm ci)")
    return node


def validate_csaf(documents: list[dict]) -> list[dict]:
    """csaf-validator-lib's verdict on each document, from one node run for all of them."""
    node = require_validator()
    result = subprocess.run(
        [node, VALIDATOR], input=json.dumps(documents).encode(), capture_output=True, cwd=ROOT, timeout=300
    )
    verdicts = json.loads(result.stdout)
    assert result.returncode == (0 if all(verdict["isValid"] for verdict in verdicts) else 1), result.stderr
    return verdicts


def validate_cve(record: dict) -> None:
    CveRecord.validate(record, schema_path=CveRecord.Schemas.V5_SCHEMA)
    CveRecord.validate(record["containers"]["cna"], schema_path=CveRecord.Schemas.CNA_PUBLISHED)


def bundle_with(path: Path, team, fields: dict) -> Path:
    reporter = PrivateKey.generate()
    day = datetime.date(2026, 11, 28)
    body = report.encode(fields)
    with BundleWriter(path, "MP-2026-0042", "resolved", day, reporter.public) as bundle:
        bundle.add("report", io.BytesIO(seal_bytes(body, [team], Meta("report", type="application/json", day=day))))
    return path


@pytest.fixture(scope="module")
def opened(tmp_path_factory, key_dir, team_file_key) -> Path:
    """A folder `meldpunt-team open` made from a bundle whose report holds quotes, backslashes and
    newlines; each test works on a copy (`workspace`)."""
    work = tmp_path_factory.mktemp("opened")
    bundle = bundle_with(work / "MP-2026-0042.zip", team_file_key.public, HOSTILE)
    key = ["--key", key_dir / "team.key", "--passphrase-file", key_dir / "passphrase"]
    run_cli("open", bundle, *key, "-o", work / "MP-2026-0042", check=True)
    return work / "MP-2026-0042"


@pytest.fixture
def workspace(opened, tmp_path) -> Path:
    return Path(shutil.copytree(opened, tmp_path / "MP-2026-0042"))


def init_and_fill(folder: Path, extra: str = "", **changes) -> Path:
    """advisory.toml made by init, filled in, with `extra` TOML tables at the end."""
    run_cli("advisory", "init", folder, check=True)
    path = folder / "advisory.toml"
    values = {**FILLED, **{tuple(name.split("__")): value for name, value in changes.items()}}
    path.write_text(fill(path.read_text(), values) + extra)
    return path


# A second product, still without a fix, and the advisory's own address.
MORE = """
[[product]]
vendor = "Example B.V."
name = "Example App"
version_type = "custom"
affected = "<=7"

[[reference]]
url = "https://example.nl/.well-known/csaf/white/2026/mp-2026-0042.json"
category = "self"
"""


def test_init_prefills_the_report_exactly(workspace):
    result = run_cli("advisory", "init", workspace, check=True)
    path = workspace / "advisory.toml"
    assert result.stdout.decode().strip() == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = tomllib.loads(path.read_text())
    assert data["document"]["title"] == HOSTILE["title"]
    assert data["vulnerability"]["description"] == HOSTILE["description"]
    assert data["vulnerability"]["steps"] == HOSTILE["steps"]
    assert data["vulnerability"]["publish_steps"] is False
    assert data["vulnerability"]["impact"] == HOSTILE["impact"]
    assert data["product"][0]["name"] == "Example Portal"
    assert data["product"][0]["affected"] == "2.1"
    assert data["acknowledgment"] == [{"name": HOSTILE["credit"]}]
    assert_one_line_error(run_cli("advisory", "init", workspace), "already exists")


def test_init_needs_a_folder_open_made(tmp_path):
    assert_one_line_error(run_cli("advisory", "init", tmp_path), "report.md does not exist")
    (tmp_path / "report.md").write_text("# My notes\n")
    assert_one_line_error(run_cli("advisory", "init", tmp_path), "not written by `meldpunt-team open`")
    assert_one_line_error(run_cli("advisory", "init", tmp_path / "report.md"), "report.md is not a folder")
    assert_one_line_error(run_cli("advisory", "build", tmp_path / "nowhere"), "nowhere is not a folder")


def test_an_advisory_toml_that_is_a_folder_is_said_to_be_one(workspace):
    (workspace / "advisory.toml").mkdir()
    assert_one_line_error(run_cli("advisory", "build", workspace), "advisory.toml is not a file")
    assert_one_line_error(run_cli("advisory", "init", workspace), "advisory.toml already exists")


# Advisories of several shapes, built once and validated in one node run: (name, options, changes).
SHAPES = [
    ("range", ["--lang", "en"], {"product__affected": "<2.2", "product__fixed": "2.2"}),
    ("range-nl", ["--lang", "nl"], {"product__affected": ">=2.0, <2.2", "product__fixed": "2.2"}),
    ("one-version", [], {"product__affected": "2.1"}),  # a product_version, not a range
    (
        "custom-no-fix",
        [],
        {"product__affected": ">=2.0, <=2.1", "product__version_type": "custom", "product__fixed": ""},
    ),
    ("cvss-3-only", [], {"vulnerability__cvss_v4": "", "document__tlp": "AMBER", "document__status": "interim"}),
    ("cvss-4-only", [], {"vulnerability__cvss_v3": "", "product__fixed": "3.0"}),
    ("wrong-cwe-name", [], {"vulnerability__cwe_name": "Not the name of CWE-89"}),
    (
        "steps-and-workaround",
        [],
        {
            "vulnerability__publish_steps": True,
            "vulnerability__workaround": "Block /export.",
            "document__status": "draft",
        },
    ),
    ("two-products", [], {"extra": MORE, "vulnerability__workaround": "Block /export."}),
    ("html", [], {"document__title": "<img src=x onerror=alert(1)> in ## export", "product__vendor": "<b>Ex</b>"}),
    ("team-guide", [], None),  # docs/team-guide.md's worked example, as printed there
]


def guide_example() -> str:
    """The completed advisory.toml of docs/team-guide.md's worked example (its one TOML block)."""
    guide = (ROOT / "docs" / "team-guide.md").read_text()
    block = re.search(r"\n   ```toml\n(.*?)\n   ```\n", guide, re.S).group(1)
    return "\n".join(line.removeprefix("   ") for line in block.split("\n")) + "\n"


@pytest.fixture(scope="module")
def built(opened, tmp_path_factory) -> dict[str, dict]:
    shapes = {}
    for name, options, changes in SHAPES:
        folder = Path(shutil.copytree(opened, tmp_path_factory.mktemp(name) / "MP-2026-0042"))
        if changes is None:
            (folder / "advisory.toml").write_text(guide_example())
        else:
            init_and_fill(folder, **changes)
        result = run_cli("advisory", "build", *options, folder, check=True)
        shapes[name] = {
            "folder": folder,
            "stdout": result.stdout.decode(),
            "csaf": json.loads((folder / "csaf.json").read_text()),
            "cve": json.loads((folder / "cve.json").read_text()),
            "md": (folder / "advisory.md").read_text(),
        }
    for shape, verdict in zip(
        shapes.values(), validate_csaf([shape["csaf"] for shape in shapes.values()]), strict=True
    ):
        shape["verdict"] = verdict
    return shapes


@pytest.mark.parametrize("name", [name for name, _, _ in SHAPES if name != "wrong-cwe-name"])
def test_build_writes_a_valid_csaf_document_and_cve_record(built, name):
    shape = built[name]
    verdict = shape["verdict"]
    assert verdict["failures"] == [], verdict
    assert verdict["isValid"]
    assert verdict["tests"] > 30  # the schema test and the mandatory ones all ran
    validate_cve(shape["cve"])


def test_the_outputs_hold_the_report_and_the_teams_fields(built):
    shape = built["range"]
    folder = shape["folder"]
    outputs = [folder / name for name in ("csaf.json", "cve.json", "advisory.md")]
    assert shape["stdout"].split() == [str(path) for path in outputs]
    assert {stat.S_IMODE(path.stat().st_mode) for path in outputs} == {0o600}
    assert sorted(p.name for p in folder.iterdir()) == [
        "advisory.md",
        "advisory.toml",
        "csaf.json",
        "cve.json",
        "report.md",
    ]
    vulnerability = shape["csaf"]["vulnerabilities"][0]
    assert vulnerability["notes"][0]["text"] == HOSTILE["description"]
    assert [note["title"] for note in vulnerability["notes"]] == ["Description", "Impact"]  # steps kept back
    assert vulnerability["acknowledgments"] == [{"names": [HOSTILE["credit"]]}]
    leaves = shape["csaf"]["product_tree"]["branches"][0]["branches"][0]["branches"]
    assert [(leaf["category"], leaf["name"]) for leaf in leaves] == [
        ("product_version_range", "vers:semver/<2.2"),
        ("product_version", "2.2"),
    ]
    assert vulnerability["product_status"] == {"known_affected": ["CSAFPID-0001"], "first_fixed": ["CSAFPID-0002"]}
    assert [(r["category"], r["product_ids"]) for r in vulnerability["remediations"]] == [
        ("vendor_fix", ["CSAFPID-0001"])
    ]
    cna = shape["cve"]["containers"]["cna"]
    assert cna["affected"] == [
        {
            "vendor": "Example B.V.",
            "product": "Example Portal",
            "defaultStatus": "unknown",
            "versions": [
                {"version": "0", "lessThan": "2.2", "status": "affected", "versionType": "semver"},
                {"version": "2.2", "status": "unaffected"},
            ],
        }
    ]
    assert cna["metrics"][0]["cvssV4_0"]["vectorString"] == CVSS_V4
    assert cna["credits"] == [{"lang": "en", "value": HOSTILE["credit"], "type": "finder"}]
    headings = [line for line in shape["md"].split("\n") if line.startswith("#")]
    assert headings == [
        '# Security advisory MP-2026-0042: Path traversal in "export" \\\\ download',
        *("## Affected products", "## Description", "## Impact", "## Solution", "## References"),
        *("## Acknowledgments", "## Revision history"),
    ]
    assert 'We thank Ada "the finder" L.\\\\ for reporting' in shape["md"]
    assert "## Getroffen producten" in built["range-nl"]["md"]


def test_no_fix_two_products_a_workaround_and_the_advisorys_own_address(built):
    document = built["two-products"]["csaf"]
    vulnerability = document["vulnerabilities"][0]
    assert vulnerability["product_status"] == {
        "known_affected": ["CSAFPID-0001", "CSAFPID-0003"],
        "first_fixed": ["CSAFPID-0002"],
    }
    assert [(r["category"], r["product_ids"]) for r in vulnerability["remediations"]] == [
        ("vendor_fix", ["CSAFPID-0001"]),
        ("none_available", ["CSAFPID-0003"]),
        ("workaround", ["CSAFPID-0001", "CSAFPID-0003"]),
    ]
    assert [r["category"] for r in document["document"]["references"]] == ["self"]
    assert [r["category"] for r in vulnerability["references"]] == ["external"]
    no_fix = built["custom-no-fix"]["csaf"]["vulnerabilities"][0]
    assert [r["category"] for r in no_fix["remediations"]] == ["none_available"]
    assert "first_fixed" not in no_fix["product_status"]
    assert built["two-products"]["cve"]["containers"]["cna"]["workarounds"] == [
        {"lang": "en", "value": "Block /export."}
    ]


def test_published_steps_and_a_draft(built):
    shape = built["steps-and-workaround"]
    notes = shape["csaf"]["vulnerabilities"][0]["notes"]
    assert notes[-1] == {"category": "details", "title": "Steps to reproduce", "text": HOSTILE["steps"]}
    assert shape["csaf"]["document"]["tracking"]["status"] == "draft"
    assert f"## Steps to reproduce\n\n```\n{HOSTILE['steps']}\n```\n" in shape["md"]
    assert shape["md"].split("\n\n")[1].startswith("**Draft**")


def test_html_in_a_title_is_text_in_advisory_md(built):
    page = built["html"]["md"]
    assert page.startswith("# Security advisory MP-2026-0042: &lt;img src=x onerror=alert(1)&gt; in \\#\\# export\n")
    assert "| &lt;b&gt;Ex&lt;/b&gt; |" in page


def test_the_checks_are_real(built):
    """The validators do refuse: a wrong CWE name fails CSAF's mandatory test 6.1.11, a record
    without its CNA's id the CVE schema."""
    verdict = built["wrong-cwe-name"]["verdict"]
    assert not verdict["isValid"]
    assert {failure["test"] for failure in verdict["failures"]} == {"mandatoryTest_6_1_11"}
    record = copy.deepcopy(built["range"]["cve"])
    del record["containers"]["cna"]["providerMetadata"]
    with pytest.raises(CveRecordValidationError):
        validate_cve(record)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"vulnerability__cvss_v3": "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}, "vulnerability.cvss_v3"),
        ({"vulnerability__cvss_v4": "CVSS:4.0/AV:N/AC:L"}, "vulnerability.cvss_v4"),
        ({"vulnerability__cwe": "CWE 89"}, "vulnerability.cwe"),
        ({"product__affected": "from 1.0 to 2.0"}, "product[1].affected"),
        ({"product__fixed": "4.1"}, "product[1].fixed"),
    ],
)
def test_a_wrong_field_is_one_sentence_naming_it(workspace, changes, field):
    init_and_fill(workspace, **changes)
    result = run_cli("advisory", "build", workspace)
    assert_one_line_error(result, f"advisory.toml, {field}: ")
    assert not (workspace / "csaf.json").exists()


def test_a_failed_build_keeps_the_earlier_outputs(workspace):
    path = init_and_fill(workspace)
    run_cli("advisory", "build", workspace, check=True)
    before = (workspace / "csaf.json").read_bytes()
    path.write_text(path.read_text().replace('cwe = "CWE-89"', 'cwe = "89"'))
    assert_one_line_error(run_cli("advisory", "build", workspace), "vulnerability.cwe")
    assert (workspace / "csaf.json").read_bytes() == before
    path.write_text("title = \n")
    assert_one_line_error(run_cli("advisory", "build", workspace), "is not valid TOML")
    assert sorted(p.name for p in workspace.iterdir()) == [
        "advisory.md",
        "advisory.toml",
        "csaf.json",
        "cve.json",
        "report.md",
    ]


def test_build_needs_advisory_toml(workspace):
    assert_one_line_error(run_cli("advisory", "build", workspace), "advisory init")


def test_the_team_guides_error_example_is_what_the_tool_says(workspace):
    (workspace / "advisory.toml").write_text(guide_example().replace("CVSS:3.1/AV:N", "CVSS:3.1/AV:Q"))
    said = run_cli("advisory", "build", workspace).stderr.decode().strip()
    assert said in (ROOT / "docs" / "team-guide.md").read_text()


@pytest.mark.parametrize("step", [[], ["init"], ["build"]])
def test_every_advisory_step_has_help(step):
    assert b"usage: meldpunt-team advisory" in run_cli("advisory", *step, "--help", check=True).stdout
