# ruff: noqa: F401, F811  (fixtures are imported from token_support, then used as parameters)
"""docs/operations.md's alert rules and docs/grafana-dashboard.json: they parse, and every metric
they query is one that `/metrics` exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.tokens.token_support import grant, token_keys
from tokens.issue import token_issue

DOCS = Path(__file__).resolve().parent.parent / "docs"
METRIC = re.compile(r"\b((?:tessera|django)_[a-z_]+)")
SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def alert_rules() -> dict:
    text = (DOCS / "operations.md").read_text()
    section = text[text.index("## Alert rules") :]
    (block,) = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)[:1]
    return yaml.safe_load(block)


def dashboard() -> dict:
    return json.loads((DOCS / "grafana-dashboard.json").read_text())


def exposed_names() -> set[str]:
    """Every family and sample name a scrape shows, after a page, a query and a cache read (a
    labelled counter nothing has counted yet shows its family, without samples)."""
    client = Client()
    client.get("/api/schema/")
    response = client.get("/metrics")
    assert response.status_code == 200
    families = list(text_string_to_metric_families(response.content.decode()))
    return {f.name for f in families} | {s.name for f in families for s in f.samples}


def queried(expr: str) -> set[str]:
    return set(METRIC.findall(expr))


def test_alert_rules_are_a_prometheus_rule_file():
    rules = alert_rules()
    (group,) = rules["groups"]
    assert group["name"] == "tessera"
    names = [rule["alert"] for rule in group["rules"]]
    for wanted in (
        "TesseraLedgerSequencerLagging",
        "TesseraCheckpointLagging",
        "TesseraOutboxFailing",
        "TesseraSigningKeyTooOld",
    ):
        assert wanted in names
    for rule in group["rules"]:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}
        assert rule["labels"]["severity"] in {"page", "ticket", "info"}
        assert rule["annotations"]["summary"]


def test_dashboard_is_grafana_importable_json():
    board = dashboard()
    assert board["title"] == "Tessera" and board["uid"]
    assert board["__inputs"][0]["pluginId"] == "prometheus"
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert len(panels) >= 12
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])
    for panel in panels:
        assert panel["targets"] and all(t["expr"] for t in panel["targets"])
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}


@pytest.mark.django_db
def test_every_metric_the_rules_and_the_dashboard_query_is_exposed(grant, researcher):
    token_issue(grant=grant, actor=researcher)
    exposed = exposed_names()
    exprs = [rule["expr"] for rule in alert_rules()["groups"][0]["rules"]]
    exprs += [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]
    wanted = set().union(*map(queried, exprs))
    assert wanted, "no metric found in the expressions"
    missing = set()
    for name in wanted:
        # A counter's family drops its _total, a histogram's samples add _bucket, _sum, _count.
        family = next((name[: -len(s)] for s in SUFFIXES if name.endswith(s)), name)
        if name not in exposed and family not in exposed:
            missing.add(name)
    assert not missing


def test_the_readme_links_the_operations_guide():
    readme = (DOCS.parent / "README.md").read_text()
    assert "docs/operations.md" in readme
