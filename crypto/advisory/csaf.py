"""csaf.json: the advisory as a CSAF 2.0 document of the profile "Security Advisory"
(OASIS CSAF 2.0, section 4.5), which tests/test_advisory_cli.py checks with BSI's
csaf-validator-lib: the strict JSON schema and every mandatory test.

Decisions (docs/format.md, "advisory.toml"): CSAF 2.0 scores know CVSS 2 and 3 only, so a CVSS
4.0 vector goes to the CVE record and advisory.md, not here; TLP 2.0's CLEAR is CSAF 2.0's WHITE.
A product's `fixed` version is its `first_fixed`; the remediation is a `vendor_fix` for the
products that have one and `none_available` for those that do not, the team's workaround a
`workaround` for all; the advisory's own address (a reference of category "self") is a document
reference, the others the vulnerability's.
"""

from .. import __version__
from .model import Advisory, Product, timestamp

TLP_LABELS = {"CLEAR": "WHITE", "GREEN": "GREEN", "AMBER": "AMBER", "RED": "RED"}


def document(advisory: Advisory) -> dict:
    tree, ids = _product_tree(advisory.products)
    meta = {
        "category": "csaf_security_advisory",
        "csaf_version": "2.0",
        "title": advisory.title,
        "lang": "en",
        "distribution": {"tlp": {"label": TLP_LABELS[advisory.tlp]}},
        "publisher": {
            "category": advisory.publisher_category,
            "name": advisory.publisher,
            "namespace": advisory.namespace,
        },
        "notes": [{"category": "summary", "title": "Summary", "text": advisory.description}],
        "tracking": _tracking(advisory),
    }
    own = _references(advisory, "self")
    if own:
        meta["references"] = own
    return {"document": meta, "product_tree": tree, "vulnerabilities": [_vulnerability(advisory, ids)]}


def _tracking(advisory: Advisory) -> dict:
    revisions = advisory.revisions
    return {
        "id": advisory.tracking_id,
        "status": advisory.status,
        "version": str(revisions[-1].number),
        "initial_release_date": timestamp(revisions[0].date),
        "current_release_date": timestamp(revisions[-1].date),
        "revision_history": [
            {"number": str(revision.number), "date": timestamp(revision.date), "summary": revision.summary}
            for revision in revisions
        ],
        "generator": {"engine": {"name": "meldpunt-team", "version": __version__}},
    }


# Each product's (affected, fixed) product ids; fixed None without a fixed version.
Ids = list[tuple[str, str | None]]


def _product_tree(products: tuple[Product, ...]) -> tuple[dict, Ids]:
    """Vendor → product name → version (range) branches, and each product's ids, in order."""
    vendors: dict[str, dict[str, list[dict]]] = {}
    ids: Ids = []
    number = 0
    for product in products:
        vers = product.affected.vers(product.version_type)
        leaves = [
            ("product_version", str(product.affected)) if vers is None else ("product_version_range", vers),
            *([("product_version", product.fixed)] if product.fixed is not None else []),
        ]
        own = []
        for category, name in leaves:
            number += 1
            own.append(f"CSAFPID-{number:04d}")
            shown = product.affected if category == "product_version_range" else name
            full = {"name": f"{product.vendor} {product.name} {shown}", "product_id": own[-1]}
            vendors.setdefault(product.vendor, {}).setdefault(product.name, []).append(
                {"category": category, "name": name, "product": full}
            )
        ids.append((own[0], own[1] if len(own) > 1 else None))
    branches = [
        {
            "category": "vendor",
            "name": vendor,
            "branches": [
                {"category": "product_name", "name": name, "branches": leaves} for name, leaves in names.items()
            ],
        }
        for vendor, names in vendors.items()
    ]
    return {"branches": branches}, ids


def _vulnerability(advisory: Advisory, ids: Ids) -> dict:
    notes = [{"category": "description", "title": "Description", "text": advisory.description}]
    if advisory.impact:
        notes.append({"category": "details", "title": "Impact", "text": advisory.impact})
    if advisory.steps:
        notes.append({"category": "details", "title": "Steps to reproduce", "text": advisory.steps})
    all_affected = [affected for affected, _ in ids]
    first_fixed = [fixed for _, fixed in ids if fixed]
    vulnerability = {
        "cve": advisory.cve_id,
        "cwe": {"id": advisory.cwe, "name": advisory.cwe_name},
        "title": advisory.title,
        "notes": notes,
        "product_status": {"known_affected": all_affected, **({"first_fixed": first_fixed} if first_fixed else {})},
        "remediations": _remediations(advisory, ids),
    }
    if advisory.cvss_v3 is not None:
        vulnerability["scores"] = [{"cvss_v3": advisory.cvss_v3.as_json(), "products": all_affected}]
    external = _references(advisory, "external")
    if external:
        vulnerability["references"] = external
    if advisory.acknowledgments:
        vulnerability["acknowledgments"] = [{"names": list(advisory.acknowledgments)}]
    return vulnerability


def _remediations(advisory: Advisory, ids: Ids) -> list[dict]:
    """`vendor_fix` for the affected versions of products with a fixed version, `none_available`
    for the others (both with the team's remediation text), `workaround` for all if there is one."""
    with_fix = [affected for affected, fixed in ids if fixed]
    without = [affected for affected, fixed in ids if not fixed]
    remediations = [
        {"category": category, "details": advisory.remediation, "product_ids": ids}
        for category, ids in (("vendor_fix", with_fix), ("none_available", without))
        if ids
    ]
    if advisory.workaround:
        everyone = [affected for affected, _ in ids]
        remediations.append({"category": "workaround", "details": advisory.workaround, "product_ids": everyone})
    return remediations


def _references(advisory: Advisory, category: str) -> list[dict]:
    return [
        {"category": category, "summary": reference.name or reference.url, "url": reference.url}
        for reference in advisory.references
        if reference.category == category
    ]
