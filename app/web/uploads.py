"""Uploads, on the HTTP side: which request may send what, and one way for a view to accept a
submission whichever path it took.

    @bp.post("/report")                 # a browser without JavaScript: multipart/form-data
    def report_form():
        files, form, items = uploads.stream(FormClass, recipients, kind, budget)   # server-sealed

    @bp.post("/report/sealed")          # the script: the envelopes it sealed and uploaded in parts
    def report_sealed():
        items = uploads.claim(purpose)

The address tells the two paths apart, nothing else. The script posts a small url-encoded form
naming its finished uploads (`sealed`, then any number of `sealed_attachments`) to the form's
`data-sealed-action`; a browser without JavaScript posts `multipart/form-data` to the form's
action, whose file parts are server-sealed as they stream in (app/domain/uploads.py). A proxy can
so buffer the first and stream only the second. A request that sends a file part
where no view called `stream` first is refused: the parser would otherwise spool it to a
temporary file in the clear.

The part endpoints (start, part, status) are the same for every purpose; each blueprint mounts
them behind its own access rules and says whose keys an upload must be sealed to.
"""

from collections.abc import Callable

from flask import Request, g, jsonify, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from wtforms.validators import ValidationError

from crypto import PublicKey

from ..domain import uploads
from ..domain.clock import today
from ..domain.errors import CutOff, DiskFull, UploadRefused
from ..domain.models import Item, Report
from . import anonymous
from .context import settings

OWNED = "uploads"  # session key: {handle: purpose} for this browser's uploads
MAX_UPLOADS_PER_SESSION = 64
# The padding adds at most 6.25 %, the chunks 17 bytes in 64 KiB; this covers both, with room.
SIZE_MARGIN = 1.07


def accepts_uploads(view):
    """Mark a view whose requests may be large: file parts, or envelope parts. Every other view
    gets a small body limit before anything reads the body (`init_app`): deny by default."""
    view.accepts_uploads = True
    return view


def small_body_limit() -> int:
    """The most a request to any other view may send: the longest text a form takes, UTF-8 and
    then percent-encoded (up to 12 bytes a character), and room for the other fields."""
    return 12 * settings().max_text_chars + 64 * 1024


def init_app(app) -> None:
    app.request_class = MeldpuntRequest
    app.jinja_env.globals["form_address"] = form_address

    def bound_body() -> None:
        view = app.view_functions.get(request.endpoint)
        if not getattr(view, "accepts_uploads", False):
            request.max_content_length = small_body_limit()

    # First of all before_request hooks: the global CSRF check reads the form, and with it the body.
    app.before_request_funcs.setdefault(None, []).insert(0, bound_body)


class MeldpuntRequest(Request):
    def _load_form_data(self) -> None:
        super()._load_form_data()
        # A multipart part without a name (`Content-Disposition: form-data`) is kept under the key
        # None, which the CSRF check (`key.endswith`) and WTForms cannot take: that was a 500. No
        # form has such a field and no browser sends one: the part is dropped like any unknown field.
        for name in ("form", "files"):
            parsed = self.__dict__[name]
            if None in parsed:
                self.__dict__[name] = type(parsed)(
                    (key, value) for key, value in parsed.items(multi=True) if key is not None
                )

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        # No view takes JSON, but Flask-WTF reads a JSON body as a form's data when there is no
        # other: a list, a string or a nested object there, or nesting deep enough for a
        # RecursionError in the parser, was a 500. Every form posts url-encoded or multipart.
        if silent:
            return None
        raise BadRequest("This address does not take JSON.")

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        files = g.get("streamed_files")
        if files is None:
            raise BadRequest("This address does not take files.")
        return files.part(filename, content_type)


def stream(
    make_form, recipients: list[PublicKey], kind: str, budget: int, seal: bool = True, report: Report | None = None
):
    """Parse a multipart request, its file parts server-sealed (or, with `seal=False`, kept as the
    envelopes they are) while they stream in. Returns the `StreamedFiles`, the form and the
    completed items. If parsing fails or the body was cut off in a file, nothing is kept: rows,
    writer threads and their connections are released before the error page (CutOff: 400).

    The budget is also the server's (`room`: the report's quota, all pending uploads, free disk).
    Nothing is stored unless the form's address carries a valid CSRF token (`?csrf=`, see
    `form_address`): the token inside the body would be read only after the files. Then
    `files.refused` is True, and the view answers as for an expired form."""
    config = settings()
    budget = min(budget, uploads.room(config, report, disk=False))
    allowed = token_in_address_valid()
    files = uploads.StreamedFiles(
        recipients,
        kind,
        budget,
        today(config.zone),
        seal,
        store=allowed,
        check_disk=lambda: uploads.ensure_disk(config),
    )
    files.refused = not allowed
    g.streamed_files = files
    try:
        form = make_form()
        if files.cut_off():
            raise CutOff()
        return files, form, files.completed()
    except BaseException:
        files.discard()
        raise


def form_address(endpoint: str, **values) -> str:
    """The address a form that streams files posts to: with its CSRF token in the query, so the
    server can check it before it stores a byte of the body."""
    token = anonymous.form_token() if endpoint in anonymous.ENDPOINTS else generate_csrf()
    return url_for(endpoint, csrf=token, **values)


def token_in_address_valid() -> bool:
    if anonymous.applies():
        return anonymous.form_token_valid(request.args.get("csrf", ""))
    try:
        validate_csrf(request.args.get("csrf", ""))
    except ValidationError:
        return False
    return True


def sealed_handles() -> list[str]:
    """The uploads the request names: the main envelope (`sealed`) first, then its attachments; no
    main envelope, no handles (and `claim` answers None)."""
    main = request.form.getlist("sealed")[:1]
    return [*main, *request.form.getlist("sealed_attachments")] if main else []


def claim(purpose: str) -> list[Item] | None:
    """The completed uploads this request names (main envelope first), all started in this
    session for `purpose`; None unless every one is."""
    handles = sealed_handles()
    owned = session.get(OWNED) or {}
    if any(owned.get(handle) != purpose for handle in handles):
        return None
    return uploads.completed_uploads(handles)


def forget(handles: list[str]) -> None:
    owned = dict(session.get(OWNED) or {})
    for handle in handles:
        owned.pop(handle, None)
    session[OWNED] = owned


# --- the part endpoints, shared by the blueprints ---------------------------------------------


def budget() -> int:
    """What one session may declare in total: the upload and text limits, plus envelope overhead."""
    config = settings()
    return int((config.max_upload_bytes + 8 * config.max_text_chars) * SIZE_MARGIN) + 2**20


def refusal(code: str, status: int = 400, **extra):
    messages = {
        "not-an-envelope": _("This upload is not an envelope sealed by this page. Reload the page and try again."),
        "wrong-recipients": _("This upload is not sealed to this portal's keys. Reload the page and try again."),
        "unsupported-version": _(
            "This upload was sealed by another version of this page. Reload the page and try again."
        ),
        "impossible-size": _(
            "The size declared for this upload is not one a sealed envelope can have. Reload the page and try again."
        ),
        "unopenable": _("This upload is sealed so that nobody could open it. Reload the page and try again."),
        "too-large": _("What you sent is larger than this portal accepts."),
        "unknown-upload": _("This upload is unknown or has expired. Reload the page and try again."),
        "out-of-order": _("A part arrived out of order; the upload continues from the last stored part."),
        "wrong-part-size": _("A part has the wrong size. Reload the page and try again."),
        "proof-of-work": _("The anti-spam check did not succeed. Reload the page and try again."),
        "no-room": _("The portal has no room for uploads right now. Nothing was lost: try again later."),
    }
    return jsonify(error=code, message=messages[code], **extra), status


def declared_size() -> int:
    try:
        size = int(request.form.get("size", ""))
    except ValueError:
        raise BadRequest() from None
    if size <= 0:
        raise BadRequest()
    return size


def start(purpose: str, size: int, report: Report | None = None):
    """A new upload of `size` bytes for `purpose`, owned by this session (the handle alone is not
    enough to send parts)."""
    owned = dict(session.get(OWNED) or {})
    if size + uploads.declared_bytes(owned) > budget() or len(owned) >= MAX_UPLOADS_PER_SESSION:
        return refusal("too-large", 413)
    try:
        fits = size <= uploads.room(settings(), report)  # the server's budgets, whatever the cookie says
    except DiskFull:
        return refusal("no-room", 507)
    if not fits:
        return refusal("too-large" if report is not None else "no-room", 413 if report is not None else 507)
    item = uploads.start_browser_upload(size, today(settings().zone))
    owned[item.handle] = purpose
    session[OWNED] = owned
    return jsonify(id=item.handle, part_size=uploads.PART_BYTES, received=0)


def _owned(handle: str) -> tuple[Item, str] | None:
    purpose = (session.get(OWNED) or {}).get(handle)
    item = uploads.find_browser_upload(handle) if purpose else None
    return (item, purpose) if item else None


def put_part(handle: str, number: int, recipients_for: Callable[[str], list[PublicKey]]):
    """Store part `number`; `recipients_for(purpose)` says whose keys the envelope must name."""
    owned = _owned(handle)
    if owned is None:
        return refusal("unknown-upload", 404)
    item, purpose = owned
    # A part is at most PART_BYTES: a larger body is refused before it is read, instead of being
    # read whole and compared afterwards; the browser always sends the length.
    if request.content_length is None:
        raise BadRequest()
    if request.content_length > uploads.PART_BYTES:
        raise RequestEntityTooLarge()
    try:
        uploads.check_part(settings(), request.content_length)
        data = request.get_data(cache=False)
        item = uploads.store_part(item, number, data, recipients_for(purpose))
    except (UploadRefused, DiskFull) as refused:
        if isinstance(refused, DiskFull):
            refused = UploadRefused("no-room", status=507)
        return refusal(refused.code, refused.status, received=refused.received)
    return jsonify(received=item.parts, complete=item.complete)


def add_part_routes(bp, recipients_for: Callable[[str], list[PublicKey]]) -> None:
    """`PUT /uploads/<handle>/<n>` (a part) and `GET /uploads/<handle>` (what arrived) on `bp`,
    behind that blueprint's access rules; `recipients_for(purpose)` is its say on the keys."""

    @accepts_uploads  # at most one part; put_part refuses more before reading
    def upload_part(handle: str, number: int):
        return put_part(handle, number, recipients_for)

    bp.add_url_rule("/uploads/<handle>/<int:number>", view_func=upload_part, methods=["PUT"])
    bp.add_url_rule("/uploads/<handle>", view_func=status, endpoint="upload_status", methods=["GET"])


def status(handle: str):
    owned = _owned(handle)
    if owned is None:
        return refusal("unknown-upload", 404)
    item, _purpose = owned
    return jsonify(received=item.parts, size=item.size, complete=item.complete)
