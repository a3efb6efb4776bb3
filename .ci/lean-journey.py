"""The offline machine's journey with nothing but `pip install meldpunt` (no extras): make the team
key, seal and open a file, open an export bundle, seal a reply. Run by .ci/lean-install with the
lean virtualenv's Python; exits non-zero on the first step that fails."""

import datetime
import importlib.util
import io
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
    print("meldpunt-team: keygen, pubkey, encrypt, decrypt, open and reply work with the lean install")


if __name__ == "__main__":
    main()
