"""The record of processing activities (GDPR art. 30), generated from the configuration and the
data inventory (app/domain/inventory.py): controller, purposes, data subjects, categories of
personal data with their legal bases and retention, recipients, transfers and security measures.

`record` builds it as a plain dictionary (the JSON download), `markdown` writes it as Markdown.
Both take `translate`, the web layer's gettext: the texts here are English message ids marked
with `N_`, and the domain itself translates nothing.
"""

import datetime
from collections.abc import Callable

from . import inventory, proposals
from .inventory import N_, TableInventory
from .settings import Settings

Translate = Callable[..., str]
FORMAT = "meldpunt-record-of-processing"


def plain(text: str, **values: object) -> str:
    """`translate` for English: the message id itself, with its values filled in."""
    return text % values if values else text


TITLE = N_("Record of processing activities (GDPR art. 30)")
ACTIVITY = N_("Receiving and handling reports of security vulnerabilities (coordinated vulnerability disclosure)")
PURPOSES = (
    N_("Receiving reports of security vulnerabilities in the organisation's systems."),
    N_("Handling them with the reporter: questions, replies, an agreed disclosure, and credit if the reporter asks."),
    N_("Reporting actively exploited vulnerabilities where the law requires it (Cyber Resilience Act)."),
    N_("Securing the portal, and keeping an accountable history of what the team does."),
)
SUBJECTS = (
    (
        N_("Reporters"),
        N_(
            "Anonymous: known only by a mailbox that a generated passphrase opens, which only they hold. "
            "What they write is encrypted to the team's offline key."
        ),
    ),
    (
        N_("Team members and privacy officers"),
        N_("Their accounts, sessions and the history of what they did in the workspace."),
    ),
    (
        N_("People named in a report"),
        N_("Third parties whose data may be in a report or its attachments; encrypted like the rest of the report."),
    ),
)
RECIPIENTS = (
    N_("No one receives data from the portal: only the security team reads reports, on its offline machine."),
    N_(
        "The mail provider that delivers the team's notifications (%(host)s): "
        "only that there is new work, at fixed times."
    ),
    N_(
        "The designated CSIRT and ENISA, when the team reports an actively exploited vulnerability under the "
        "Cyber Resilience Act (outside the portal)."
    ),
)
TRANSFERS = (
    N_(
        "None: the portal transfers no data outside the European Economic Area. Check where the server, "
        "its backups and the mail provider are."
    ),
)
SECURITY = (
    N_(
        "Report content is encrypted to the team's key, in the browser or as it arrives; the private key never "
        "is on the server, so the portal cannot read a report."
    ),
    N_(
        "No IP addresses, browser details or times of day are stored or logged for reporters: their rows carry "
        "days and random identifiers only."
    ),
    N_("Reporters stay anonymous: a generated passphrase opens their mailbox; the server keeps a derived token only."),
    N_("Team accounts need a long password (argon2id) and a TOTP code; every page denies access by default."),
    N_(
        "Encrypted session cookies (HttpOnly, SameSite=Strict, Secure) that end on the server; a strict "
        "Content-Security-Policy, nothing from third parties."
    ),
    N_("Every team action is an entry in a hash chain whose head the privacy officer keeps outside the server."),
    N_("Rate limits and a proof of work against abuse; uploads are never written to disk in the clear."),
    N_("Retention rules delete what is no longer needed, and deleted data is overwritten."),
)
RETENTION_NOTE = N_(
    "The rules are set in the instance file (MELDPUNT_RETAIN…); the retention page shows what the next run deletes."
)
HEADINGS = {
    "controller": N_("Controller"),
    "activity": N_("Processing"),
    "generated": N_("Generated"),
    "purposes": N_("Purposes"),
    "data_subjects": N_("Categories of data subjects"),
    "personal_data": N_("Categories of personal data"),
    "other_data": N_("Other data kept (not personal data)"),
    "recipients": N_("Recipients"),
    "transfers": N_("Transfers to third countries"),
    "retention": N_("Retention"),
    "security_measures": N_("Security measures"),
    "category": N_("Category"),
    "columns": N_("Columns"),
    "granularity": N_("Granularity"),
    "legal_basis": N_("Legal basis"),
}


def _unique(values) -> list[str]:
    return list(dict.fromkeys(values))


def record(
    settings: Settings,
    tables: list[TableInventory],
    language: str,
    day: datetime.date,
    translate: Translate = plain,
) -> dict:
    """The record as a dictionary: English keys, texts in the language `translate` speaks."""
    labelled = [(table.name, column) for table in tables for column in table.columns if column.label is not None]
    personal, other = [], []
    for category in inventory.CATEGORIES:
        columns = [(table, column) for table, column in labelled if column.label.category == category]
        mine = [(table, column) for table, column in columns if column.label.personal]
        if mine:
            personal.append(
                {
                    "category": translate(category),
                    "columns": [f"{table}.{column.name}" for table, column in mine],
                    "granularity": _unique(translate(column.label.granularity) for _, column in mine),
                    "legal_basis": _unique(translate(column.label.basis) for _, column in mine),
                    "retention": _unique(translate(column.label.retention) for _, column in mine),
                }
            )
        elif columns:
            other.append(translate(category))
    # The periods in effect: a value below its default counts only once a second person approved it.
    rules = proposals.retention_days(settings)
    host = settings.get("MELDPUNT_SMTP_HOST") or translate(N_("not configured"))
    return {
        "format": FORMAT,
        "version": 1,
        "language": language,
        "title": translate(TITLE),
        "generated": day.isoformat(),
        "controller": {
            "name": str(settings.get("MELDPUNT_ORGANISATION") or ""),
            "contact": str(settings.get("MELDPUNT_CONTACT") or settings.get("MELDPUNT_BASE_URL") or ""),
        },
        "activity": translate(ACTIVITY),
        "purposes": [translate(text) for text in PURPOSES],
        "data_subjects": [{"category": translate(who), "description": translate(what)} for who, what in SUBJECTS],
        "personal_data": personal,
        "other_data": other,
        "recipients": [
            translate(RECIPIENTS[0]),
            translate(RECIPIENTS[1], host=str(host)),
            translate(RECIPIENTS[2]),
        ],
        "transfers": [translate(text) for text in TRANSFERS],
        "retention": {
            "rules": {key: str(value) for key, value in rules.items()},
            "note": translate(RETENTION_NOTE),
            "per_category": {entry["category"]: entry["retention"] for entry in personal},
        },
        "security_measures": [translate(text) for text in SECURITY],
    }


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def markdown(document: dict, translate: Translate = plain) -> str:
    """The record as a Markdown file."""
    heading = {key: translate(text) for key, text in HEADINGS.items()}
    controller = document["controller"]
    lines = [
        f"# {document['title']}",
        "",
        f"- **{heading['controller']}:** {_cell(controller['name'])}"
        + (f" ({_cell(controller['contact'])})" if controller["contact"] else ""),
        f"- **{heading['activity']}:** {document['activity']}",
        f"- **{heading['generated']}:** {document['generated']}",
        "",
        f"## {heading['purposes']}",
        "",
        *[f"- {text}" for text in document["purposes"]],
        "",
        f"## {heading['data_subjects']}",
        "",
        *[f"- **{entry['category']}:** {entry['description']}" for entry in document["data_subjects"]],
        "",
        f"## {heading['personal_data']}",
        "",
        f"| {heading['category']} | {heading['columns']} | {heading['granularity']} | {heading['legal_basis']} "
        f"| {heading['retention']} |",
        "| --- | --- | --- | --- | --- |",
        *[
            "| "
            + " | ".join(
                _cell(value)
                for value in (
                    entry["category"],
                    ", ".join(f"`{name}`" for name in entry["columns"]),
                    "; ".join(entry["granularity"]),
                    "; ".join(entry["legal_basis"]),
                    "; ".join(entry["retention"]),
                )
            )
            + " |"
            for entry in document["personal_data"]
        ],
        "",
        f"## {heading['other_data']}",
        "",
        *[f"- {text}" for text in document["other_data"]],
        "",
        f"## {heading['recipients']}",
        "",
        *[f"- {text}" for text in document["recipients"]],
        "",
        f"## {heading['transfers']}",
        "",
        *[f"- {text}" for text in document["transfers"]],
        "",
        f"## {heading['retention']}",
        "",
        document["retention"]["note"],
        "",
        *[f"- `{key}` = `{_cell(value)}`" for key, value in document["retention"]["rules"].items()],
        "",
        f"## {heading['security_measures']}",
        "",
        *[f"- {text}" for text in document["security_measures"]],
        "",
    ]
    return "\n".join(lines)
