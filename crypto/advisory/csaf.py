"""csaf.json: the advisory as a CSAF 2.0 document of the profile "Security Advisory"
(OASIS CSAF 2.0, section 4.5), which tests/test_advisory_outputs.py checks with BSI's
csaf-validator-lib: the strict JSON schema and every mandatory test.

Decisions (docs/format.md, "advisory.toml"): CSAF 2.0 scores know CVSS 2 and 3 only, so a CVSS
4.0 vector goes to the CVE record and advisory.md, not here; TLP 2.0's CLEAR is CSAF 2.0's WHITE.
"""

from .. import __version__
from .model import Advisory, Product

TLP_LABELS = {"CLEAR": "WHITE", "GREEN": "GREEN", "AMBER": "AMBER", "RED": "RED"}


def document(advisory: Advisory) -> dict:
    tree, affected, fixed = _product_tree(advisory.products)
    return {
        "document": {
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
        },
        "product_tree": tree,
        "vulnerabilities": [_vulnerability(advisory, affected, fixed)],
    }


def _timestamp(day) -> str:
    return f"{day.isoformat()}T00:00:00.000Z"


def _tracking(advisory: Advisory) -> dict:
    revisions = advisory.revisions
    return {
        "id": advisory.tracking_id,
        "status": advisory.status,
        "version": str(revisions[-1].number),
        "initial_release_date": _timestamp(revisions[0].date),
        "current_release_date": _timestamp(revisions[-1].date),
        "revision_history": [
            {"number": str(revision.number), "date": _timestamp(revision.date), "summary": revision.summary}
            for revision in revisions
        ],
        "generator": {"engine": {"name": "meldpunt-team", "version": __version__}},
    }


def _product_tree(products: tuple[Product, ...]) -> tuple[dict, list[str], list[str]]:
    """Vendor → product name → version (range) branches, and the ids of the affected and fixed ones."""
    vendors: dict[str, dict[str, list[dict]]] = {}
    affected, fixed = [], []

    def leaf(product: Product, category: str, name: str, shown: str, ids: list[str]) -> None:
        product_id = f"CSAFPID-{len(affected) + len(fixed) + 1:04d}"
        ids.append(product_id)
        full = {"name": f"{product.vendor} {product.name} {shown}", "product_id": product_id}
        vendors.setdefault(product.vendor, {}).setdefault(product.name, []).append(
            {"category": category, "name": name, "product": full}
        )

    for product in products:
        vers = product.affected.vers(product.version_type)
        if vers is None:
            leaf(product, "product_version", str(product.affected), str(product.affected), affected)
        else:
            leaf(product, "product_version_range", vers, str(product.affected), affected)
        if product.fixed is not None:
            leaf(product, "product_version", product.fixed, product.fixed, fixed)
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
    return {"branches": branches}, affected, fixed


def _vulnerability(advisory: Advisory, affected: list[str], fixed: list[str]) -> dict:
    notes = [{"category": "description", "title": "Description", "text": advisory.description}]
    if advisory.impact:
        notes.append({"category": "details", "title": "Impact", "text": advisory.impact})
    if advisory.steps:
        notes.append({"category": "details", "title": "Steps to reproduce", "text": advisory.steps})
    status = {"known_affected": affected, **({"fixed": fixed} if fixed else {})}
    vulnerability = {
        "cve": advisory.cve_id,
        "cwe": {"id": advisory.cwe, "name": advisory.cwe_name},
        "title": advisory.title,
        "notes": notes,
        "product_status": status,
        "remediations": [{"category": "vendor_fix", "details": advisory.remediation, "product_ids": affected}],
    }
    if advisory.cvss_v3 is not None:
        vulnerability["scores"] = [{"cvss_v3": advisory.cvss_v3.as_json(), "products": affected}]
    if advisory.references:
        vulnerability["references"] = [
            {"category": "external", "summary": reference.name or reference.url, "url": reference.url}
            for reference in advisory.references
        ]
    if advisory.acknowledgments:
        vulnerability["acknowledgments"] = [{"names": list(advisory.acknowledgments)}]
    return vulnerability
