"""`meldpunt-team`: the security team's offline tool.

Every failure ends in one sentence on stderr and a non-zero exit, never a traceback: the person
running this is handling a vulnerability report, not debugging Python.
"""

import argparse
import datetime
import getpass
import mimetypes
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from . import __version__, advisory, envelope, verify_site
from .advisory.texts import LANGUAGES
from .errors import CryptoError, NothingOpened, WeakPassphrase
from .keyfile import TeamKey, check_passphrase_strength
from .keys import parse_recipients
from .meta import Meta
from .names import new_file
from .progress import CountingReader, Progress
from .terminal import safe_for_terminal
from .unpack import FAILURES_FILE, Opened, unpack
from .workspace import check_output

EXIT_FAILURE = 1
EXIT_OPENED_WITH_FAILURES = 3  # `open`: the rest is in the folder; 2 is argparse's usage error
EXIT_UNVERIFIABLE = 2  # `verify-site`: nothing could be compared (no site, no build)
EXIT_INTERRUPTED = 130
_ASCII_SPACE = " \t\r\n"
OPEN_EXIT_CODES = (
    "Exit status: 0 when everything opened; 3 when some items (or bundles of a collection) could not be "
    "opened: the rest is in DIR, and the failures are listed on stderr and at the top of report.md (for a "
    f"collection, in DIR/{FAILURES_FILE}); 1 when nothing was opened (every item or bundle failed, or the "
    "bundle, key or DIR is unusable), and nothing decrypted is kept; 130 after Ctrl-C, 143 after SIGTERM "
    "and 129 after SIGHUP, with everything written removed."
)


class Failure(Exception):
    """A problem with the command line or the files, said in one sentence."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised like Ctrl-C's KeyboardInterrupt so that `open` cleans up first."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code = args.run(args)
    except (CryptoError, Failure) as exc:
        return _fail(str(exc))
    except FileNotFoundError as exc:
        return _fail(f"{exc.filename}: no such file.")
    except FileExistsError as exc:
        return _fail(f"{exc.filename or exc.args[0]} already exists; it is not overwritten.")
    except IsADirectoryError as exc:
        return _fail(f"{exc.filename} is a folder, not a file.")
    except PermissionError as exc:
        return _fail(f"{exc.filename}: permission denied.")
    except BrokenPipeError:
        return EXIT_FAILURE
    except OSError as exc:
        return _fail(f"{exc.filename or 'input/output'}: {exc.strerror or exc}.")
    except KeyboardInterrupt:
        return _fail("Interrupted.", EXIT_INTERRUPTED)
    except Terminated as exc:
        return _fail("Terminated.", 128 + exc.signum)
    return code or 0


def _fail(sentence: str, code: int = EXIT_FAILURE) -> int:
    # A sentence may quote what a bundle or envelope holds (a file name): made safe like reporter text.
    print(f"meldpunt-team: {safe_for_terminal(sentence)}", file=sys.stderr)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meldpunt-team",
        description="Offline tool of the security team: team key, decrypting reports, sealing replies, advisories.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run, summary: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.set_defaults(run=run)
        return sub

    def recipients(sub: argparse.ArgumentParser, metavar: str, summary: str) -> None:
        sub.add_argument("--to", action="append", required=True, metavar=metavar, help=summary)

    def key_options(sub: argparse.ArgumentParser, key_option: bool = True) -> None:
        if key_option:
            sub.add_argument("--key", required=True, type=Path, metavar="team.key")
        sub.add_argument(
            "--passphrase-file",
            metavar="F",
            type=Path,
            help="read the key passphrase from the first line of F instead of asking",
        )

    sub = command("keygen", cmd_keygen, "Create the team key: private key to a file, public key line on stdout.")
    sub.add_argument("-o", "--output", required=True, type=Path, metavar="team.key", help="new private key file")
    key_options(sub, key_option=False)

    sub = command("pubkey", cmd_pubkey, "Print the public key line of a team key file.")
    sub.add_argument("key", type=Path, metavar="team.key")
    key_options(sub, key_option=False)

    sub = command("encrypt", cmd_encrypt, "Seal a file (or stdin) to one or more public keys.")
    recipients(sub, "PUBKEY", "recipient public key line (mpk1…) or a file holding one; repeatable")
    sub.add_argument("-o", "--output", type=Path, metavar="OUT", help="envelope to write (default: stdout)")
    sub.add_argument("input", nargs="?", type=Path, metavar="IN", help="file to seal (default: stdin)")

    sub = command("decrypt", cmd_decrypt, "Open an envelope with the team key.")
    sub.add_argument("-o", "--output", type=Path, metavar="OUT", help="file to write (default: stdout)")
    sub.add_argument("input", nargs="?", type=Path, metavar="IN", help="envelope (default: stdin)")
    key_options(sub)

    sub = command("open", cmd_open, "Check and decrypt an export bundle (or a collection) into a readable folder.")
    sub.epilog = OPEN_EXIT_CODES
    sub.add_argument("bundle", type=Path, metavar="BUNDLE", help="a report's bundle, or a collection of bundles")
    sub.add_argument(
        "-o",
        "--output",
        required=True,
        type=Path,
        metavar="DIR",
        help="new or empty folder (made 0700); a collection opens into DIR/REFERENCE/",
    )
    key_options(sub)

    sub = command("reply", cmd_reply, "Seal a reply to the reporter and the team, ready to upload.")
    recipients(sub, "REPORTER_PUBKEY", "the reporter's public key line, from report.md")
    sub.add_argument("message", type=Path, metavar="MESSAGE.txt", help="the reply, as UTF-8 text")
    sub.add_argument("-o", "--output", required=True, type=Path, metavar="reply.mpe")
    key_options(sub)

    sub = command(
        "verify-site",
        cmd_verify_site,
        "Check that a portal serves exactly the JavaScript of a reproducible build of this release.",
    )
    sub.epilog = (
        "Exit status: 0 when every bundle matches (one line each); 1 when a page could run other code than the "
        "release's bundles (its policy, its markup, a page that derives without its bundle, a redirect elsewhere), "
        "an integrity attribute is wrong or a bundle differs (each named, with both hashes); 2 when the site cannot "
        "be reached or the build fails. It checks what the site sends this tool now: not signed-in pages, service "
        "workers, or what other visitors are sent."
    )
    sub.add_argument("url", metavar="URL", help="the portal's address, e.g. https://report.example.nl")
    expected = sub.add_mutually_exclusive_group()
    expected.add_argument(
        "--source",
        type=Path,
        metavar="DIR",
        help="build from this checkout of the release (default: the checkout this tool runs from); needs npm",
    )
    expected.add_argument(
        "--expect", type=Path, metavar="FILE", help="compare with these sha256sum lines (the README's) instead"
    )

    _advisory_commands(command("advisory", None, "Write a report's advisory offline: CSAF 2.0, CVE record, Markdown."))
    return parser


def _advisory_commands(parser: argparse.ArgumentParser) -> None:
    steps = parser.add_subparsers(required=True, metavar="STEP")
    folder = {"type": Path, "metavar": "DIR", "help": "the folder `open` wrote the report into"}
    sub = steps.add_parser("init", help="Write DIR/advisory.toml, pre-filled from DIR/report.md, to complete.")
    sub.set_defaults(run=cmd_advisory_init)
    sub.add_argument("folder", **folder)
    sub = steps.add_parser("build", help="Check DIR/advisory.toml; write csaf.json, cve.json and advisory.md.")
    sub.set_defaults(run=cmd_advisory_build)
    sub.add_argument("folder", **folder)
    sub.add_argument("--lang", choices=LANGUAGES, default="en", help="advisory.md's language")


# --- commands -----------------------------------------------------------------------------


def cmd_keygen(args: argparse.Namespace) -> None:
    if args.output.exists():
        raise FileExistsError(args.output)
    passphrase = _passphrase(args, "Passphrase for the new team key: ", confirm=True)
    key = TeamKey.generate()
    key.save(args.output, passphrase)
    print(key.public)
    print(f"Fingerprint: {key.public.fingerprint}", file=sys.stderr)


def cmd_pubkey(args: argparse.Namespace) -> None:
    key = _team_key(args)
    print(key.public)
    print(f"Fingerprint: {key.public.fingerprint}", file=sys.stderr)


def cmd_encrypt(args: argparse.Namespace) -> None:
    recipients = parse_recipients([_key_line(value) for value in args.to])
    name = args.input.name if args.input else None
    meta = Meta("attachment", name=name, type=_content_type(name), day=_today())
    with _input(args.input, "Encrypting") as reader, _output(args.output) as writer:
        envelope.seal(reader, writer, recipients, meta)


def cmd_decrypt(args: argparse.Namespace) -> None:
    if args.output is None and sys.stdout.isatty():
        # The plaintext is the reporter's: escape sequences in it would reach the terminal as is.
        raise Failure("Refusing to write decrypted content to the terminal; use -o FILE or a pipe.")
    key = _team_key(args)
    with _input(args.input, "Decrypting") as reader:
        opener = envelope.Opener(reader, key)
        with _output(args.output) as writer:
            opener.copy_to(writer)
    meta = opener.meta
    details = [meta.kind] + [str(v) for v in (meta.name, meta.type, meta.day) if v]
    # The name and type are the reporter's words: shown, never acted on by the terminal.
    print(f"Decrypted: {safe_for_terminal(', '.join(details))}", file=sys.stderr)


def cmd_open(args: argparse.Namespace) -> int:
    if not args.bundle.is_file():
        raise FileNotFoundError(2, "No such file", str(args.bundle))
    check_output(args.output)  # said before the passphrase is asked, not after
    key = _team_key(args)
    signals = _Interruptions()
    # Printing happens inside: once the run is complete a signal is only noted, never turned into
    # a failure of a run whose output stays.
    with signals.caught():
        try:
            opened = unpack(args.bundle, key, args.output, settle=signals.settle)
        except NothingOpened as exc:
            print(f"meldpunt-team: {safe_for_terminal(str(exc))}", file=sys.stderr)
            _list(exc.failures)
            return EXIT_FAILURE
        except OSError as exc:  # the machine's problem (disk full, permissions): unpack removed its output
            where = f" ({exc.filename})" if exc.filename else ""
            raise Failure(f"Opening stopped: {exc.strerror or exc}{where}; nothing decrypted was kept.") from None
        return _report(opened, args.output)


def _report(opened: Opened, output: Path) -> int:
    for path in opened.reports:
        print(path)
    if not opened.failures:
        return 0
    count = len(opened.failures)
    failures = "1 failure" if count == 1 else f"{count} failures"
    listed = f"in {opened.failures_file}" if opened.failures_file else "at the top of report.md"
    print(
        f"meldpunt-team: opened with {failures}, listed here and {safe_for_terminal(listed)}; "
        f"the rest is in {safe_for_terminal(str(output))}.",
        file=sys.stderr,
    )
    _list(opened.failures)
    return EXIT_OPENED_WITH_FAILURES


def _list(failures) -> None:
    for failure in failures:
        print(f"  {safe_for_terminal(str(failure))}", file=sys.stderr)  # a reason may quote a bundle's names


def cmd_reply(args: argparse.Namespace) -> None:
    recipients = parse_recipients([_key_line(value) for value in args.to])
    try:
        text = args.message.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise Failure(f"{args.message} is not UTF-8 text.") from None
    if not text.strip():
        raise Failure(f"{args.message} is empty.")
    key = _team_key(args)
    if key.public in recipients:
        raise Failure("The reply is sealed to the team key anyway; give the reporter's key with --to.")
    meta = Meta("reply", type="text/plain; charset=utf-8", day=_today())
    with _output(args.output) as writer, envelope.Sealer(writer, [*recipients, key.public], meta) as sealer:
        sealer.write(text.encode("utf-8"))
    print(f"Sealed to the reporter and the team: {args.output}", file=sys.stderr)


def cmd_advisory_init(args: argparse.Namespace) -> None:
    print(advisory.init(args.folder, _today()))


def cmd_advisory_build(args: argparse.Namespace) -> None:
    for path in advisory.build(args.folder, args.lang):
        print(path)


def cmd_verify_site(args: argparse.Namespace) -> int:
    try:
        if args.expect is not None:
            expected = verify_site.read_sums(args.expect)
        else:
            source = args.source or verify_site.default_source()
            if source is None:
                raise verify_site.SiteError(
                    "This install has no source checkout to build from: give --source DIR or --expect FILE."
                )
            expected = verify_site.build_sums(source, log=lambda line: print(line, file=sys.stderr))
        outcome = verify_site.verify(args.url, expected)
    except verify_site.SiteError as exc:
        return _fail(str(exc), EXIT_UNVERIFIABLE)
    for line in outcome.matches:
        print(safe_for_terminal(line))  # names come from the site's pages
    for note in outcome.notes:
        print(f"meldpunt-team: note: {note}", file=sys.stderr)
    for problem in outcome.problems:
        _fail(problem)
    return EXIT_FAILURE if outcome.problems else 0


# --- helpers ------------------------------------------------------------------------------


class _Interruptions:
    """SIGINT, SIGTERM and SIGHUP raise like Ctrl-C while `open` works, so that a killed run still
    removes what it wrote. Only the first: after it, and once the run is settled (complete, or
    removing what it wrote; crypto/workspace.py), a signal is ignored, so that none can cut the
    cleanup short or turn a finished run into a failure while its output stays."""

    def __init__(self) -> None:
        self.settled = False

    def settle(self) -> None:
        self.settled = True

    def _interrupt(self, signum: int, _frame) -> None:
        if self.settled:
            return
        self.settled = True
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated(signum)

    @contextmanager
    def caught(self):
        numbers = [signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
        previous = {number: signal.signal(number, self._interrupt) for number in numbers}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def _team_key(args: argparse.Namespace) -> TeamKey:
    if not args.key.is_file():
        raise FileNotFoundError(2, "No such file", str(args.key))
    return TeamKey.load(args.key, _passphrase(args, f"Passphrase for {args.key}: "))


def _passphrase(args: argparse.Namespace, prompt: str, confirm: bool = False) -> str:
    if args.passphrase_file is not None:
        # The first line without its LF or CRLF, nothing trimmed (docs/format.md): read as bytes, so
        # that a lone CR, U+2028, a form feed and the like stay part of the passphrase (read_text
        # and splitlines() would end the line there).
        passphrase = _text_file(args.passphrase_file).split("\n", 1)[0].removesuffix("\r")
        if confirm:
            check_passphrase_strength(passphrase)
        return passphrase
    try:
        os.close(os.open("/dev/tty", os.O_RDWR))  # getpass would fall back to an echoing stdin
    except OSError:
        raise Failure("There is no terminal to ask for the passphrase; use --passphrase-file.") from None
    passphrase = getpass.getpass(prompt)
    if confirm:
        check_passphrase_strength(passphrase)
        if getpass.getpass("Same passphrase again: ") != passphrase:
            raise WeakPassphrase("The two passphrases differ.")
    return passphrase


def _key_line(value: str) -> str:
    """A public key line given on the command line, or read from the file it names.

    From a file, the text as it is: PublicKey.parse strips the ASCII white space around a line and
    refuses everything else, no-break spaces and line separators included (str.strip() would
    quietly take them away)."""
    if value.strip(_ASCII_SPACE).lower().startswith("mpk1"):
        return value
    path = Path(value)
    if path.is_file():
        return _text_file(path)
    return value  # let PublicKey.parse say what is wrong with it


def _text_file(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise Failure(f"{path} is not UTF-8 text.") from None


def _today() -> datetime.date:
    """The day on the team's offline machine: the tool runs there, so its local zone is the team's."""
    return datetime.date.today()  # noqa: DTZ011  (the machine's local day is the team's day)


def _content_type(name: str | None) -> str | None:
    return mimetypes.guess_type(name)[0] if name else None


@contextmanager
def _input(path: Path | None, label: str):
    if path is None:
        yield sys.stdin.buffer
        return
    with open(path, "rb") as handle:
        progress = Progress(os.fstat(handle.fileno()).st_size, label)
        yield CountingReader(handle, progress)
        progress.finish()


@contextmanager
def _output(path: Path | None):
    """stdout, or a new file that is removed again if anything fails before it is complete."""
    if path is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    fd = new_file(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
    except BaseException:
        path.unlink(missing_ok=True)
        raise


if __name__ == "__main__":
    sys.exit(main())
