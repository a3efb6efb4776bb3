"""cve.json: the advisory as a CVE record in the CVE JSON 5 format, state PUBLISHED, with the CNA
container (`containers.cna`) the team's CNA submits; tests/test_advisory_cli.py checks it
against the schemas that `cvelib` ships (the whole record, and the CNA container on its own).

Each product's `defaultStatus` is "unknown": the record lists what the team knows, the affected
range and the fixed version, and says nothing of the versions outside them (the range often comes
from one version the reporter tested; docs/format.md, "advisory.toml").
"""

from .model import Advisory, Product, timestamp

DATA_VERSION = "5.1"
_SCORE_KEYS = {"4.0": "cvssV4_0", "3.1": "cvssV3_1"}


def record(advisory: Advisory) -> dict:
    published = timestamp(advisory.revisions[0].date)
    metadata = {"cveId": advisory.cve_id, "assignerOrgId": advisory.cna_org_id, "state": "PUBLISHED"}
    if advisory.cna_short_name:
        metadata["assignerShortName"] = advisory.cna_short_name
    return {
        "dataType": "CVE_RECORD",
        "dataVersion": DATA_VERSION,
        "cveMetadata": {**metadata, "datePublished": published},
        "containers": {"cna": container(advisory, published)},
    }


def container(advisory: Advisory, published: str) -> dict:
    """The CNA container: what `cve publish CVE-… -f FILE` (cvelib) sends to CVE Services."""
    provider = {"orgId": advisory.cna_org_id}
    if advisory.cna_short_name:
        provider["shortName"] = advisory.cna_short_name
    cna = {
        "providerMetadata": provider,
        "datePublic": published,
        "title": advisory.title,
        "descriptions": [{"lang": "en", "value": advisory.description}],
        "affected": [_affected(product) for product in advisory.products],
        "problemTypes": [
            {
                "descriptions": [
                    {
                        "lang": "en",
                        "type": "CWE",
                        "cweId": advisory.cwe,
                        "description": f"{advisory.cwe} {advisory.cwe_name}",
                    }
                ]
            }
        ],
        "references": [
            {"url": reference.url, **({"name": reference.name} if reference.name else {})}
            for reference in advisory.references
        ],
        "solutions": [{"lang": "en", "value": advisory.remediation}],
    }
    metrics = [
        {
            "format": "CVSS",
            "scenarios": [{"lang": "en", "value": "GENERAL"}],
            _SCORE_KEYS[score.version]: score.as_json(),
        }
        for score in (advisory.cvss_v4, advisory.cvss_v3)
        if score is not None
    ]
    if metrics:
        cna["metrics"] = metrics
    if advisory.workaround:
        cna["workarounds"] = [{"lang": "en", "value": advisory.workaround}]
    if advisory.impact:
        cna["impacts"] = [{"descriptions": [{"lang": "en", "value": advisory.impact}]}]
    if advisory.acknowledgments:
        cna["credits"] = [{"lang": "en", "value": name, "type": "finder"} for name in advisory.acknowledgments]
    return cna


def _affected(product: Product) -> dict:
    versions = [product.affected.cve(product.version_type)]
    if product.fixed is not None:
        versions.append({"version": product.fixed, "status": "unaffected"})
    return {"vendor": product.vendor, "product": product.name, "defaultStatus": "unknown", "versions": versions}
