"""The offline machine's journey with nothing but `pip install meldpunt` (no extras): make the team
key, seal and open a file, open an export bundle, build its advisory, seal a reply. Run by .ci/lean-install with the
lean virtualenv's Python; exits non-zero on the first step that fails."""

import datetime
import importlib.util
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

TOOL = str(Path(sys.executable).parent / "meldpunt-team")
PORTAL_ONLY = ("flask", "werkzeug", "peewee", "gunicorn", "jinja2", "flask_wtf", "pyotp", "segno")


def tool(*args: str) -> str:
    result = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=120)  # noqa: S603  (our tool, fixed argv)
    if result.returncode != 0:
        sys.exit(f"meldpunt-team {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


# What the team fills into advisory.toml after `advisory init` (docs/team-guide.md's example).
ADVISORY_FIELDS = {
    'name = ""  # the organisation': 'name = "Example B.V."  # the organisation',
    'namespace = ""': 'namespace = "https://example.nl"',
    'id = ""  # as': 'id = "CVE-2026-12345"  # as',
    'cna_org_id = ""': 'cna_org_id = "b3476cb9-2e3d-41a6-98d0-0f47421a65b6"',
    'cwe = ""': 'cwe = "CWE-200"',
    'cwe_name = ""': 'cwe_name = "Exposure of Sensitive Information to an Unauthorized Actor"',
    'cvss_v4 = ""': 'cvss_v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N"',
    'remediation = ""': 'remediation = "Update to 1.1."',
    'vendor = ""': 'vendor = "Example B.V."',
    'affected = ""': 'affected = "<1.1"',
    'fixed = ""': 'fixed = "1.1"',
    "# [[reference]]\n# url": "[[reference]]\nurl",
    'date = ""  # the day it is published': "date = 2026-12-15  # the day it is published",
}


def advisory(folder: Path) -> None:
    """`advisory init` and `advisory build` on the opened report: CVSS scored by the lean install's `cvss`."""
    tool("advisory", "init", str(folder))
    path = folder / "advisory.toml"
    text = path.read_text()
    for before, after in ADVISORY_FIELDS.items():
        if before not in text:
            sys.exit(f"advisory init wrote no {before!r}")
        text = text.replace(before, after, 1)
    path.write_text(text)
    tool("advisory", "build", "--lang", "nl", str(folder))
    record = json.loads((folder / "cve.json").read_text())
    if record["containers"]["cna"]["metrics"][0]["cvssV4_0"]["baseScore"] != 5.1:
        sys.exit("advisory build did not score the CVSS 4.0 vector")
    if json.loads((folder / "csaf.json").read_text())["document"]["title"] != "Lean install":
        sys.exit("advisory build did not take the report's title")
    path.write_text(text.replace('cwe = "CWE-200"', 'cwe = "XSS"'))
    refused = subprocess.run([TOOL, "advisory", "build", str(folder)], capture_output=True, text=True, timeout=60)  # noqa: S603  (our tool, fixed argv)
    if refused.returncode != 1 or "vulnerability.cwe" not in refused.stderr or "Traceback" in refused.stderr:
        sys.exit(f"a bad CWE id should be one sentence naming the field: {refused.stderr}")


def main() -> None:
    present = [name for name in PORTAL_ONLY if importlib.util.find_spec(name)]
    if present:
        sys.exit(f"the lean install brought portal dependencies: {', '.join(present)}")
    from crypto import Meta, PrivateKey, report, seal_bytes
    from crypto.bundle import BundleWriter

    work = Path(tempfile.mkdtemp())
    (work / "pw").write_text("an offline passphrase for this check only\n")
    key = ["--key", str(work / "team.key"), "--passphrase-file", str(work / "pw")]
    public = tool("keygen", "-o", str(work / "team.key"), "--passphrase-file", str(work / "pw")).strip()
    if tool("pubkey", str(work / "team.key"), "--passphrase-file", str(work / "pw")).strip() != public:
        sys.exit("pubkey does not print the key that keygen made")

    (work / "note.txt").write_text("lean install check\n")
    tool("encrypt", "--to", public, "-o", str(work / "note.mpe"), str(work / "note.txt"))
    tool("decrypt", *key, "-o", str(work / "note.out"), str(work / "note.mpe"))
    if (work / "note.out").read_text() != "lean install check\n":
        sys.exit("decrypt did not give back what encrypt sealed")

    from crypto import PublicKey

    team = PublicKey.parse(public)
    reporter = PrivateKey.generate()
    day = datetime.date(2026, 11, 29)
    body = report.encode({"title": "Lean install", "system": "offline machine", "description": "works"})
    with BundleWriter(work / "bundle.zip", "MP-LEAN-TEST", "received", day, reporter.public) as bundle:
        bundle.add("report", io.BytesIO(seal_bytes(body, [team], Meta("report", type="application/json", day=day))))
    tool("open", *key, "-o", str(work / "opened"), str(work / "bundle.zip"))
    if "Lean install" not in (work / "opened" / "report.md").read_text():
        sys.exit("open did not write the report")

    advisory(work / "opened")

    (work / "reply.txt").write_text("Thank you.\n")
    tool("reply", *key, "--to", str(reporter.public), "-o", str(work / "reply.mpe"), str(work / "reply.txt"))
    from crypto import open_bytes

    if open_bytes((work / "reply.mpe").read_bytes(), reporter)[1] != b"Thank you.\n":
        sys.exit("the reporter cannot open the reply")
    # The portal's own command is installed too, and says what it needs instead of a traceback.
    portal = subprocess.run(  # noqa: S603  (our tool, fixed argv)
        [str(Path(sys.executable).parent / "meldpunt"), "check"], capture_output=True, text=True, timeout=60
    )
    if portal.returncode == 0 or "meldpunt[portal]" not in portal.stderr or "Traceback" in portal.stderr:
        sys.exit(f"`meldpunt` without the portal extra should say so in one sentence: {portal.stderr}")
    print("meldpunt-team: keygen, pubkey, encrypt, decrypt, open, advisory and reply work with the lean install")


if __name__ == "__main__":
    main()
