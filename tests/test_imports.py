import subprocess
import sys


def test_crypto_imports_without_flask_or_anything_beyond_its_dependencies():
    code = (
        "import sys, crypto, crypto.cli, crypto.bundle, crypto.passphrase, crypto.unpack\n"
        "top = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(top & {'flask', 'werkzeug', 'peewee', 'jinja2', 'flask_wtf'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_importing_crypto_reads_no_files_and_makes_no_keys():
    # The word list is loaded on first use, not at import time.
    code = "import crypto.passphrase as p; print(p.wordlist.cache_info().currsize)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "0"


def test_the_offline_tool_installs_without_the_portal():
    """`pip install meldpunt` (no extras) brings only what crypto/ needs; the portal's libraries
    are the `portal` extra. .ci/lean-install runs the tool from such an install."""
    import re
    from importlib.metadata import requires

    plain = {
        re.split(r"[<>=!~ ;\[]", line, maxsplit=1)[0].lower() for line in requires("meldpunt") if "extra ==" not in line
    }
    assert plain == {"pynacl", "argon2-cffi", "xkcdpass", "cvss"}
    portal = {
        re.split(r"[<>=!~ ;\[]", line, maxsplit=1)[0].lower()
        for line in requires("meldpunt")
        if 'extra == "portal"' in line
    }
    assert {"flask", "peewee", "gunicorn"} <= portal
