"""The stop link in every news mail (app/domain/news.py): no more news mail to that address,
without the passphrase. For whoever reads the mail: the reporter, or someone whose address was
left by another (there is no confirmation mail: docs/threat-model.md). The page says nothing about
the report, not even whether the link still names an address.

GET only shows a button, so a mail scanner that follows links stops nothing; the button POSTs,
and so does a mail client's one-click unsubscribe (RFC 8058, `List-Unsubscribe-Post`). The POST
needs no CSRF token: the link's token is the secret, 192 random bits no other site can know."""

from flask import render_template

from ..domain import news
from ..web.context import settings
from ..web.csrf import csrf
from .blueprint import bp


@bp.get("/news/stop/<token>")
def news_stop(token: str):
    return render_template("reporter/news_stop.html", token=token, done=False)


@bp.post("/news/stop/<token>")
@csrf.exempt  # the token in the address is the proof; RFC 8058's one-click POST carries no other
def news_stop_confirmed(token: str):
    news.stop(settings(), token)
    return render_template("reporter/news_stop.html", token=token, done=True)
