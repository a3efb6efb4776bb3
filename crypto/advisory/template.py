"""advisory.toml as `meldpunt-team advisory init` writes it: a commented template, pre-filled from
the report, for the team to complete (docs/format.md, "advisory.toml").

Written as text, not by a TOML library (the standard library reads TOML but does not write it), so
the comments can say what each field is for. Every value from the report goes through `string`,
which quotes it so that tomllib reads back exactly the same text.
"""

import datetime

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


def render(reference: str, fields: dict[str, str], today: datetime.date) -> str:
    """The template for the report `reference`, its texts taken from the report's `fields`."""

    def value(key: str) -> str:
        return string(fields.get(key, ""))

    credit = fields.get("credit", "")
    acknowledgment = (
        f"[[acknowledgment]]\nname = {string(credit)}  # the reporter asked to be credited under this name\n"
        if credit
        else '# [[acknowledgment]]  # the reporter asked for no credit\n# name = ""\n'
    )
    return f"""\
# advisory.toml: the advisory for report {reference}, made by `meldpunt-team advisory init`.
# Confidential until publication, like report.md beside it. Complete it, then run
#     meldpunt-team advisory build FOLDER
# which writes csaf.json, cve.json and advisory.md here. Texts in English: a CVE record needs an
# English description. Strings are TOML: "…" on one line, \"\"\"…\"\"\" over several lines;
# inside either, write a backslash as \\\\ and a double quote as \\".

[document]
title = {value("title")}
tracking_id = {string(reference)}  # the CSAF document's id: the report's reference
tlp = "CLEAR"  # who may see it: CLEAR (public), GREEN, AMBER or RED
status = "final"  # final, interim or draft

[publisher]
name = ""  # the organisation that publishes the advisory
namespace = ""  # its web address, e.g. "https://example.nl"
category = "vendor"  # vendor, coordinator, discoverer, user or other

[cve]
id = ""  # as assigned, e.g. "CVE-2026-12345"
cna_org_id = ""  # the UUID of the CNA that assigned it (CVE Services)
cna_short_name = ""  # optional: the CNA's short name

[vulnerability]
cwe = ""  # e.g. "CWE-89"
cwe_name = ""  # its name exactly as in the CWE list, e.g. "Improper Neutralization of …"
cvss_v4 = ""  # "CVSS:4.0/AV:…": CVE record and advisory.md only (CSAF 2.0 knows no CVSS 4.0)
cvss_v3 = ""  # "CVSS:3.1/AV:…": CVE record, CSAF and advisory.md; give at least one of the two
description = {value("description")}
impact = {value("impact")}
# Published too: empty it ("") to keep the steps to reproduce out of the advisory.
steps = {value("steps")}
remediation = ""  # what users should do: the fixed version, a workaround

# One [[product]] per product (or vendor); versions like "4.2.1", "1.0-rc1".
[[product]]
vendor = ""
name = {value("system")}
version_type = "semver"  # semver, or custom for another numbering
affected = {value("version")}  # ">=4.0, <4.3", "<4.3", "<=4.2.1" or one version "4.2.1"
fixed = ""  # the first fixed version, e.g. "4.3"; empty while there is none

# At least one: the CVE record needs a reference.
# [[reference]]
# url = "https://example.nl/security/advisories/{reference}"
# name = ""  # optional

{acknowledgment}
# One [[revision]] per published version of the advisory, oldest first; numbered 1, 2, … in order.
[[revision]]
date = {today.isoformat()}
summary = "Initial release"
"""
