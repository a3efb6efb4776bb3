"""Checking replies: the passphrase opens the mailbox. With JavaScript the browser derives the
lookup token and key from it, signs in with the token and decrypts the thread itself; without, the
server derives and decrypts the thread per request.

The session (an encrypted cookie, see app/web/sessions.py) holds the mailbox id, and on the
JavaScript-free path the reporter's key, while they are signed in, never the passphrase; the
server keeps only a token's hash, so that signing out ends it.
"""

import datetime
from dataclasses import dataclass
from urllib.parse import quote

from flask import Response, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from crypto import InvalidPassphrase, NotForThisKey, Opener, PrivateKey, PublicKey
from crypto import passphrase as passphrases
from crypto.names import safe_name

from ..domain import deadlines, news
from ..domain.blobs import BlobReader
from ..domain.models import Mailbox
from ..domain.reports import (
    close_mailbox,
    find_mailbox,
    find_mailbox_by_token,
    follow_up_recipients,
    mailbox_items,
    readable_attachment,
    sealed_item,
    sealed_thread,
    store_browser_sealed_follow_up,
    store_follow_up,
    thread,
)
from ..web import sessions, uploads
from ..web.context import settings
from ..web.csrf import csrf
from ..web.limits import login_limits, per_report
from . import kept
from .blueprint import bp
from .forms import CloseMailboxForm, FollowUpForm, LoginForm, LogoutForm, report_labels
from .news_forms import NewsAddressForm
from .submit import deriving, refused_attachments

KEPT = "kept_follow_up_uploads"
PIECE_BYTES = 1024 * 1024  # a stored envelope goes out in pieces of this size, never read whole


@bp.route("/replies", methods=["GET", "POST"])
@login_limits
def login():
    """Sign-in. With JavaScript the browser derives and sends the lookup token (`token`), never the
    passphrase, and keeps the key; without, the passphrase comes and the server derives."""
    deriving()
    form = LoginForm()
    if not form.validate_on_submit():
        if form.token.errors:  # not something a person typed: the sign-in failed, said at the field they see
            form.passphrase.errors, form.token.errors = [*form.passphrase.errors, _no_mailbox()], []
        return render_template("reporter/login.html", form=form), 400 if request.method == "POST" else 200
    if form.token.data:
        mailbox = find_mailbox_by_token(settings(), bytes.fromhex(form.token.data))
        if mailbox is None:
            form.passphrase.errors = [_no_mailbox()]
            return render_template("reporter/login.html", form=form), 400
        sessions.begin_reporter(mailbox, None)
        return redirect(url_for("reporter.mailbox"))
    try:
        phrase = passphrases.parse(form.passphrase.data)
    except InvalidPassphrase as problem:
        form.passphrase.errors = [_passphrase_problem(problem)]
        return render_template("reporter/login.html", form=form), 400
    found = find_mailbox(settings(), phrase)
    if found is None:
        form.passphrase.errors = [_no_mailbox()]
        return render_template("reporter/login.html", form=form), 400
    mailbox, key = found
    sessions.begin_reporter(mailbox, key)
    return redirect(url_for("reporter.mailbox"))


def _no_mailbox() -> str:
    return _("No mailbox opens with this passphrase. Check the seven words and try again.")


def _passphrase_problem(problem: InvalidPassphrase) -> str:
    if problem.unknown:
        positions = ", ".join(str(n) for n in problem.unknown)
        return _("Word %(positions)s is not one of the passphrase words. Check the spelling.", positions=positions)
    return _("A passphrase has seven words; you typed %(count)s.", count=problem.words)


def _signed_in() -> tuple[Mailbox, PrivateKey | None]:
    """The signed-in reporter's mailbox, and their key on the server path (None when the browser
    keeps it)."""
    found = sessions.reporter()
    if found is None:
        abort(redirect(url_for("reporter.login")))
    return found


def _this_mailbox() -> str | None:
    mailbox = session.get(sessions.MAILBOX)
    return f"mailbox:{mailbox}" if mailbox else None


@bp.route("/mailbox", methods=["GET", "POST"])
@csrf.exempt  # the follow-up form checks its own token and keeps its text when it fails
@per_report("FOLLOW_UP", _this_mailbox)
@uploads.accepts_uploads
def mailbox():
    box, key = _signed_in()
    g.encrypting = True
    form, status = FollowUpForm(formdata=None), 200
    if request.method == "POST":
        earlier = kept.recall(KEPT)
        budget = settings().max_upload_bytes - sum(item.size for item in earlier)
        recipients = follow_up_recipients(settings(), box)
        files, form, attachments = uploads.stream(FollowUpForm, recipients, "attachment", budget, report=box.report)
        if files.refused:  # nothing of this request was stored; the text comes back
            form.validate()
            form.attachments.errors = [*form.attachments.errors, refused_attachments()]
        elif form.validate():
            store_follow_up(settings(), box, form.message.data, [*earlier, *attachments])
            kept.forget(KEPT)
            flash(_("Your message was sealed and sent to the security team."))
            return redirect(url_for("reporter.mailbox"))
        kept.remember(KEPT, earlier, attachments)  # sealed already; kept for the next try
        status = 400
    return _page(box, key, form, NewsAddressForm(formdata=None)), status


def _page(box: Mailbox, key: PrivateKey | None, form: FollowUpForm, news_form: NewsAddressForm) -> str:
    """The mailbox: decrypted here on the server path; on the browser path (no key) the entries
    as stored, each with its address, for the browser to fetch and open."""
    report = box.report
    entries = thread(box, key) if key is not None else sealed_thread(box)
    assessment = next((entry for entry in entries if entry.assessment), None)
    return render_template(
        "reporter/mailbox.html",
        report=report,
        browser=key is None,
        # The assessment has a place of its own, above the other messages.
        entries=[entry for entry in entries if entry is not assessment],
        assessment=assessment,
        answered=any(entry.author == "team" for entry in entries),
        items=listed_items(box),
        form=form,
        news_form=news_form,
        has_news_address=news.has_address(box),
        logout=LogoutForm(),
        reporter_key=PublicKey.parse(box.public_key).raw.hex(),
        report_labels=report_labels(),
        kept=kept.recall(KEPT),
        disclosure=deadlines.disclosure_day(settings(), report),
    )


@bp.post("/mailbox/news")
def news_address():
    """Leave, change or remove the address for news mail (no JavaScript needed). A bad address
    comes back as the form's error, 400; the address is never shown back, only that one is kept."""
    box, key = _signed_in()
    form = NewsAddressForm()
    if not news.offered(settings()) and form.action.data != "remove":
        abort(404)
    if form.action.data == "remove":  # the address field is not read: the global CSRF check ran
        news.remove_address(box)
        flash(_("Your address is removed. You will get no more mail from us."))
        return redirect(url_for("reporter.mailbox"), code=303)
    if form.validate_on_submit() and form.action.data == "save" and form.news_address.data:
        news.set_address(settings(), box, form.news_address.data, str(get_locale() or "en"))
        flash(_("Your address is kept. We mail you when there is news, without saying what it is."))
        return redirect(url_for("reporter.mailbox"), code=303)
    if form.csrf_token.errors:  # the real reason, in the page's language, as a line of the form's own
        form.csrf_token.errors = [_("The form had expired. Check it and send it again.")]
    elif not form.news_address.errors:
        form.news_address.errors = [_("Fill in an e-mail address, or remove the one kept.")]
    g.encrypting = True
    return _page(box, key, FollowUpForm(formdata=None), form), 400


@bp.post("/mailbox/sealed")
@per_report("FOLLOW_UP", _this_mailbox)
def mailbox_sealed():
    """A follow-up sealed in the browser: its envelopes are uploaded already; adopt them unchanged."""
    box, _key = _signed_in()
    if not FlaskForm().validate_on_submit():
        abort(400)
    items = uploads.claim("message")
    if items is None:
        abort(400)
    store_browser_sealed_follow_up(settings(), box, items[0], items[1:])
    uploads.forget(uploads.sealed_handles())
    flash(_("Your message was sealed and sent to the security team."))
    return redirect(url_for("reporter.mailbox"), code=303)


@bp.get("/mailbox/files/<int:number>")
def download(number: int):
    """An attachment decrypted on the server path; on the browser path the server holds no key,
    and the browser opens `/mailbox/envelopes/<n>` itself."""
    box, key = _signed_in()
    item = readable_attachment(box, number) if key is not None else None
    if item is None:
        abort(404)
    try:
        opener = Opener(BlobReader(item), key)
    except NotForThisKey:  # sealed to the team only (a report's attachment sent without JavaScript)
        abort(404)
    name = safe_name(opener.meta.name)
    # Always a download, never shown inline: the file came from someone else.
    return Response(
        iter(opener),
        mimetype="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}"},
    )


@bp.get("/mailbox/envelopes/<int:number>")
def envelope(number: int):
    """Item `number` of this mailbox (the list of items sent and received, from 1) as stored: the
    envelope, for the browser to open with the key it keeps. Either path may fetch it; it is
    ciphertext the reporter's key opens, or the team's only."""
    box, _key = _signed_in()
    item = sealed_item(box, number)
    if item is None:
        abort(404)
    reader = BlobReader(item)
    return Response(
        iter(lambda: reader.read(PIECE_BYTES), b""),
        mimetype="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename=item-{number}.mpe", "Content-Length": str(item.size)},
    )


@dataclass(frozen=True)
class Listed:
    kind: str  # "report", "message", "attachment", "reply"
    size: int  # ciphertext bytes, as stored
    day: datetime.date


def listed_items(box: Mailbox) -> list[Listed]:
    """What the reporter sent and received, as the portal holds it: kind, size and day, in the
    thread's order, so they can see their report and its attachments arrived. Item n of this list
    is `/mailbox/envelopes/<n>`."""
    return [Listed(item.kind, item.size, item.day) for item in mailbox_items(box)]


@bp.route("/mailbox/close", methods=["GET", "POST"])
def close():
    """The reporter needs no replies any more: a page that asks to confirm, then the mailbox's row
    (lookup hash and public key) is deleted and the reporter signed out. The report stays with the team;
    nothing records when this happened."""
    box, _key = _signed_in()
    form = CloseMailboxForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        g.encrypting = True  # the bundle forgets the key this tab keeps when the form is sent (mailbox.mjs)
        return render_template("reporter/close_mailbox.html", form=form, report=box.report), status
    news.remove_address(box)  # goes with the row anyway (ON DELETE CASCADE); said here, too
    close_mailbox(box)
    sessions.end()
    flash(_("Your mailbox is closed. The security team keeps your report and goes on handling it."))
    return redirect(url_for("reporter.home"), code=303)


@bp.post("/logout")
def logout():
    LogoutForm().validate_on_submit() or abort(400)
    sessions.end()
    flash(_("You are signed out. Close this window if others use this computer."))
    return redirect(url_for("reporter.home"))
