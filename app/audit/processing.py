"""The record of processing activities (GDPR art. 30) as a page, and as Markdown and JSON files,
in the page's language (`?lang=nl` or `?lang=en`)."""

import datetime
import json

from flask import Response, render_template
from flask_babel import get_locale, gettext

from ..domain import inventory, processing
from ..domain.clock import today
from ..web.context import settings
from .blueprint import bp


def _translate(text: str, **values: object) -> str:
    return gettext(text, **values)


def _record() -> dict:
    loaded = settings()
    language = get_locale().language if get_locale() else "en"
    return processing.record(loaded, inventory.inventory(), language, today(loaded.zone), _translate)


def _download(body: str, mimetype: str, name: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.get("/processing", endpoint="processing")
def show_processing():
    record = _record()
    # The files keep the ISO day; the page shows it as the visitor reads days.
    generated = datetime.date.fromisoformat(record["generated"])
    return render_template("audit/processing.html", record=record, generated=generated)


@bp.get("/processing.md")
def processing_markdown():
    document = _record()
    name = f"record-of-processing.{document['language']}.md"
    return _download(processing.markdown(document, _translate), "text/markdown", name)


@bp.get("/processing.json")
def processing_json():
    document = _record()
    name = f"record-of-processing.{document['language']}.json"
    return _download(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "application/json", name)
