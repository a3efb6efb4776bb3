"""advisory.md: the advisory for people, in Dutch or English (texts.py), from the same checked
advisory.toml as csaf.json and cve.json. The texts are the team's (pre-filled from the report and
reviewed by them), so they are written as paragraphs; table cells have their `|` escaped."""

from .model import Advisory
from .texts import TEXTS


def render(advisory: Advisory, lang: str) -> str:
    t = TEXTS[lang]
    revisions = advisory.revisions
    facts = [
        f"- CVE: {advisory.cve_id}",
        f"- {t['published']}: {revisions[0].date.isoformat()}",
        *([f"- {t['updated']}: {revisions[-1].date.isoformat()}"] if len(revisions) > 1 else []),
        f"- {t['tlp']}: {advisory.tlp}",
        f"- {t['weakness']}: {advisory.cwe} {advisory.cwe_name}",
        *(
            f"- {t['severity']}: "
            + t["score"].format(version=score.version, base=f"{score.base:.1f}", severity=t[score.severity])
            + f" — `{score.vector}`"
            for score in (advisory.cvss_v4, advisory.cvss_v3)
            if score is not None
        ),
    ]
    parts = [f"# {t['advisory']} {advisory.tracking_id}: {advisory.title}", "\n".join(facts)]
    parts += [f"## {t['products']}", _products(advisory, t)]
    for key in ("description", "impact", "steps", "remediation"):
        text = getattr(advisory, key)
        if text:
            parts += [f"## {t[key]}", text]
    if advisory.references:
        parts += [
            f"## {t['references']}",
            "\n".join(f"- <{r.url}>{f' {r.name}' if r.name else ''}" for r in advisory.references),
        ]
    if advisory.acknowledgments:
        names = list(advisory.acknowledgments)
        joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {t['and']} {names[-1]}"
        parts += [f"## {t['acknowledgments']}", t["thanks"].format(names=joined)]
    rows = [f"| {r.number} | {r.date.isoformat()} | {_cell(r.summary)} |" for r in revisions]
    parts += [
        f"## {t['revisions']}",
        "\n".join([f"| {t['revision']} | {t['date']} | {t['summary']} |", "| --- | --- | --- |", *rows]),
    ]
    return "\n\n".join(parts) + "\n"


def _products(advisory: Advisory, t: dict) -> str:
    rows = [
        f"| {_cell(p.vendor)} | {_cell(p.name)} | `{p.affected}` | {f'`{p.fixed}`' if p.fixed else t['no_fix']} |"
        for p in advisory.products
    ]
    header = f"| {t['vendor']} | {t['product']} | {t['affected']} | {t['fixed']} |"
    return "\n".join([header, "| --- | --- | --- | --- |", *rows])


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
