"""advisory.toml as `meldpunt-team advisory init` writes it: a commented template, pre-filled from
the report, for the team to complete (docs/format.md, "advisory.toml").

Written as text, not by a TOML library (the standard library reads TOML but does not write it), so
the comments can say what each field is for. Every value from the report goes through `string`,
which quotes it so that tomllib reads back exactly the same text.
"""

import datetime

from .fromreport import Report

# TOML basic strings may hold neither controls (but tab) nor DEL unescaped; " and \ are escaped too.
_SHORT = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def string(value: str) -> str:
    """`value` as a TOML string: one line `"…"`, or `\"\"\"…\"\"\"` over several lines when it has any."""
    if "\n" not in value:
        return f'"{_escaped(value, keep="")}"'
    # A newline right after the opening quotes is dropped by TOML: the text starts on the next line.
    return f'"""\n{_escaped(value, keep=chr(10))}"""'


def _escaped(value: str, keep: str) -> str:
    out = []
    for char in value:
        if char in keep:
            out.append(char)
        elif char in _SHORT:
            out.append(_SHORT[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def render(report: Report, today: datetime.date) -> str:
    """The template for `report`, its texts taken from the report's fields."""

    def value(key: str) -> str:
        return string(report.fields.get(key, ""))

    def review(key: str) -> str:
        """A comment line above a value in which report.md showed characters as escapes."""
        count = report.escaped.get(key)
        if not count:
            return ""
        return (
            f"# Review: report.md showed {count} control or format character{'s' if count > 1 else ''} the reporter\n"
            "# sent in the next text as escapes (\\x1b, \\u202e, …): remove them or say what they stand for.\n"
        )

    credit = report.fields.get("credit", "")
    acknowledgment = (
        f"[[acknowledgment]]\n{review('credit')}"
        "# The reporter asked to be credited under this name, which they typed: check it is theirs and fit\n"
        "# to publish (no one else's name, no link or advertisement) before you publish.\n"
        f"name = {string(credit)}\n"
        if credit
        else '# [[acknowledgment]]  # the reporter asked for no credit\n# name = ""\n'
    )
    return f"""\
# advisory.toml: the advisory for report {report.reference}, made by `meldpunt-team advisory init`
# on {today.isoformat()}. Confidential until publication, like report.md beside it. Complete it, then run
#     meldpunt-team advisory build FOLDER
# which writes csaf.json, cve.json and advisory.md here. Texts in English: a CVE record needs an
# English description. Strings are TOML: "…" on one line, \"\"\"…\"\"\" over several lines;
# inside either, write a backslash as \\\\ and a double quote as \\".

[document]
{review("title")}title = {value("title")}
tracking_id = {string(report.reference)}  # the CSAF document's id: the report's reference
tlp = "CLEAR"  # who may see it: CLEAR (public), GREEN, AMBER or RED
status = "final"  # final, interim or draft

[publisher]
name = ""  # the organisation that publishes the advisory
namespace = ""  # its web address, e.g. "https://example.nl"
category = "vendor"  # vendor, coordinator, discoverer, user or other

[cve]
id = ""  # as assigned, e.g. "CVE-2026-12345"
cna_org_id = ""  # the UUID of the CNA that assigned it (CVE Services)
cna_short_name = ""  # optional: the CNA's short name, 2 to 32 characters

[vulnerability]
cwe = ""  # e.g. "CWE-89"
cwe_name = ""  # its name exactly as in the CWE list, e.g. "Improper Neutralization of …"
cvss_v4 = ""  # "CVSS:4.0/AV:…": CVE record and advisory.md only (CSAF 2.0 knows no CVSS 4.0)
cvss_v3 = ""  # "CVSS:3.1/AV:…": CVE record, CSAF and advisory.md; give at least one of the two
{review("description")}description = {value("description")}
{review("impact")}impact = {value("impact")}
# The steps to reproduce are a working attack: kept here, published only with publish_steps = true.
publish_steps = false
{review("steps")}steps = {value("steps")}
remediation = ""  # what users should do: update to the fixed version, or why there is no fix
workaround = ""  # optional: what users can do until they can update

# One [[product]] per product (or vendor); versions like "4.2.1", "1.0-rc1". The report gives the
# version the reporter tested: widen it to every affected version you know of.
[[product]]
vendor = ""
{review("system")}name = {value("system")}
version_type = "semver"  # semver, or custom for another numbering
{review("version")}affected = {value("version")}  # ">=4.0, <4.3", "<4.3", "<=4.2.1" or one version "4.2.1"
fixed = ""  # the first fixed version, e.g. "4.3"; empty while there is none

# At least one: the CVE record needs a reference. Category "self" for this advisory's own address.
# [[reference]]
# url = "https://example.nl/security/advisories/{report.reference}"
# name = ""  # optional
# category = "self"  # self, or external (the default) for another page

{acknowledgment}
# One [[revision]] per published version of the advisory, oldest first; numbered 1, 2, … in order.
[[revision]]
date = ""  # the day it is published, without quotes: date = 2026-12-15
summary = "Initial release"
"""
