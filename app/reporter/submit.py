"""The report form, on either upload path, then the passphrase, shown once."""

from flask import g, render_template, request, session
from flask_babel import get_locale
from flask_babel import gettext as _

from crypto import passphrase as passphrases

from ..domain import news
from ..domain.errors import AlreadyAdopted, Busy
from ..domain.models import Report
from ..domain.reports import installation_salt, store_browser_sealed_report, store_report
from ..domain.uploads import delete_unadopted
from ..web import pow as proof_of_work
from ..web import uploads
from ..web.context import settings
from ..web.csrf import csrf
from ..web.errors import RETRY_AFTER
from ..web.limits import submit_limits
from ..web.page_cache import same_for_everyone
from . import kept
from .blueprint import bp
from .forms import ReportForm, SealedReportForm
from .uploads import REPORT_KEY, report_key

KEPT = "kept_uploads"


@bp.context_processor
def _proof_of_work():
    return {
        "pow_challenge": proof_of_work.challenge,
        "pow_bits": proof_of_work.bits,
        "news_offered": _news_offered,
    }


def deriving() -> None:
    """This page derives a reporter's identity in the browser: it loads the bundle that can
    (base.html), which also encrypts, and its form carries the installation salt (below)."""
    g.encrypting = True
    g.deriving = True


@bp.context_processor
def _installation_salt_for_deriving_pages():
    """`installation_salt()` for the pages that derive (the report form, sign-in): the salt as
    hex, not secret, the same for every reporter (docs/format.md, "Reporter identity")."""
    return {"installation_salt": lambda: installation_salt().hex()}


def _news_offered() -> bool:
    """Whether the report form and the mailbox offer the news address (a notice key is set)."""
    return news.offered(settings())


def sealed_news_address(address: str | None) -> tuple[bytes, str] | None:
    """The address left on the report form (checked by the form already), sealed to the notice
    key's public half, to be stored in the report's own transaction: never in the report. Without
    a notice key the form shows no field, and nothing is kept."""
    if address and news.offered(settings()):
        return news.sealed_address(settings(), address, str(get_locale() or "en"))
    return None


@bp.route("/report", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so an expired form comes back with its text intact
@submit_limits
@uploads.accepts_uploads
def report_form():
    deriving()
    if request.method == "GET":
        return _empty_form()
    earlier = kept.recall(KEPT)
    budget = settings().max_upload_bytes - sum(item.size for item in earlier)
    files, form, new = uploads.stream(ReportForm, [settings().team_key], "attachment", budget)
    if form.website.data:  # the honeypot: a bot gets what looks like success, and nothing is kept
        files.discard()
        kept.forget(KEPT, delete=True)
        return _passphrase_page(passphrases.generate(), reference=None)
    if not form.validate() or files.refused:
        if files.refused:  # nothing of this request was stored; the text comes back
            form.attachments.errors = [*form.attachments.errors, refused_attachments()]
        kept.remember(KEPT, earlier, new)
        return render_template("reporter/report.html", form=form, kept=kept.recall(KEPT)), 400
    try:
        report, phrase = store_report(
            settings(), form.fields_for_envelope(), [*earlier, *new], sealed_news_address(form.news_address.data)
        )
    except Busy:  # nothing was stored; the form comes back with its text and attachments
        kept.remember(KEPT, earlier, new)
        form.accept_policy.errors = [_busy()]
        page = render_template("reporter/report.html", form=form, kept=kept.recall(KEPT))
        return page, 503, {"Retry-After": RETRY_AFTER}
    kept.forget(KEPT)
    return _passphrase_page(phrase, reference=report.reference)


@same_for_everyone
def _empty_form() -> str:
    return render_template("reporter/report.html", form=ReportForm(), kept=kept.recall(KEPT))


def refused_attachments() -> str:
    return _("The form had expired, so the attachments were not kept. Attach them again and send.")


def _busy() -> str:
    return _("The portal is busy; your report was not sent yet. Nothing is lost: send it again in a minute.")


@bp.post("/report/sealed")
@csrf.exempt  # the form checks its own token and says so in the page's language
@submit_limits
def report_sealed():
    """The JavaScript path: the envelopes are already uploaded; check and adopt them unchanged.
    A small url-encoded request of its own, so a proxy can buffer it (the streamed `/report` it
    cannot), and the one way a view tells the two paths apart is its address. The browser made
    the passphrase and derived the identity: it sends the lookup token's hash and the public key
    the uploads were sealed to, and this view derives nothing."""
    deriving()  # a form that comes back is the report form again
    form = SealedReportForm()
    items = uploads.claim("report")
    if form.website.data:
        delete_unadopted(items or [])
        return _passphrase_page(None, reference=None)
    reporter_key = report_key()
    sealed_to = reporter_key is not None and form.reporter_key.data == reporter_key.raw.hex()
    if not (form.validate() and proof_of_work.solved()) or items is None or not sealed_to:
        # The text was encrypted in the browser and is still in its form; this page only says why.
        # The uploads are let go: the browser seals and uploads anew when it sends again, and the
        # first ones must not count against this session's upload budget meanwhile.
        delete_unadopted(items or [])
        uploads.forget(uploads.sealed_handles())
        page = ReportForm(formdata=None)
        page.accept_policy.errors = list(form.accept_policy.errors)
        page.news_address.errors = list(form.news_address.errors)
        if form.csrf_token.errors:  # a line of the form's own, as errors_summary says it (macros.html)
            page.csrf_token.errors = [_("The form had expired. Check it and send it again.")]
        if items is None or not sealed_to or form.reporter_key.errors or form.lookup_hash.errors:
            page.form_errors.append(_("The encrypted upload is incomplete. Send again."))
        return render_template("reporter/report.html", form=page, kept=[]), 400
    reporter = (bytes.fromhex(form.lookup_hash.data), reporter_key)
    news_address = sealed_news_address(form.news_address.data)
    challenge = proof_of_work.current()
    try:
        report = store_browser_sealed_report(settings(), items[0], items[1:], reporter, challenge, news_address)
    except AlreadyAdopted:  # sent twice, or a lookup hash a mailbox has: none of this request was stored
        delete_unadopted(items)  # what another request adopted meanwhile stays with its report
        uploads.forget(uploads.sealed_handles())
        raise  # the "already sent" page (app/web/errors.py), 409
    uploads.forget(uploads.sealed_handles())
    session.pop(REPORT_KEY, None)
    proof_of_work.forget()
    return _passphrase_page(None, reference=report.reference)


def _passphrase_page(phrase: passphrases.Passphrase | None, reference: str | None):
    """The passphrase, shown once; without `phrase` (the browser made it) the page has an empty
    place the browser fills with the words."""
    return render_template(
        "reporter/passphrase.html",
        words=phrase.reveal().split(" ") if phrase else None,
        reference=reference or Report.new_reference(),
    )
