"""Attachments already received and sealed when a form comes back with an error: kept (listed by
name in the encrypted session) so the reporter does not lose them on the next try."""

from flask import session

from ..domain.models import Item
from ..domain.uploads import delete_items


def remember(key: str, kept: list[Item], new: list[Item]) -> None:
    session[key] = [{"id": item.id, "name": item.name} for item in kept] + [
        {"id": item.id, "name": item.upload_name} for item in new
    ]


def recall(key: str) -> list[Item]:
    names = {entry["id"]: entry["name"] for entry in session.get(key) or []}
    rows = Item.select().where(Item.id.in_(list(names)), Item.report.is_null(), Item.complete)
    items = []
    for row in rows:
        row.name = names[row.id]
        items.append(row)
    return items


def forget(key: str, delete: bool = False) -> None:
    if delete:
        delete_items(recall(key))
    session.pop(key, None)
