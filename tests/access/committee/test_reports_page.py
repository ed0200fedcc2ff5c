"""The committee reports in the workspace (/admin/reports/): the page shows the report's figures,
its charts as SVG with their words and tables, and the disagreements; only to those who may read
the report (404 for anyone else, as in the API); a bad period is a 400 that says why."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from access.committee.charts import Series, bar_chart
from tests.access.report_history import PERIOD, history_fixture, second_dataset_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


def page(client, committee, **query):
    return client.get(reverse("admin:committee_report", args=[committee.slug]), query)


def test_the_report_page_shows_the_figures_and_the_charts(client, history, committee, chair):
    client.force_login(chair)
    response = page(client, committee, **PERIOD)
    assert response.status_code == 200
    html = response.text
    for key, value in {
        "received": "8",
        "decided": "5",
        "withdrawn": "1",
        "median": "20.0",
        "p90": "36.0",
        "grants": "4",
        "ending": "1",
        "overdue": "1",
    }.items():
        assert re.search(rf'id="fig-{key}">{re.escape(value)}<', html), key
    assert "60% (3 of 5 datasets)" in html
    # Three charts, each an image named by its title and described by its figures.
    assert html.count('role="img"') == 3
    assert (
        '<desc id="chart-outcomes-desc">Approved 3; Rejected 2; Returned 1; Withdrawn 1.</desc>'
        in html
    )
    assert "2026-03: received 2, decided 2" in html
    # The disagreements, for calibration.
    table = html[html.index('id="disagreements"') :]
    assert history["r3"].reference in table and history["r4"].reference in table
    assert (
        "/api/v1/committees/radboud-dac/report?from=2026-01-01&amp;to=2026-06-30&amp;format=csv"
        in html
    )
    assert "<script" not in html.split("</head>")[1]


def test_without_a_period_the_page_shows_the_last_twelve_months(client, committee, chair):
    client.force_login(chair)
    response = page(client, committee)
    assert response.status_code == 200
    assert response.context["report"]["by_month"], "months"
    assert len(response.context["report"]["by_month"]) in (12, 13)


def test_a_bad_period_is_shown_with_what_is_wrong(client, committee, chair):
    client.force_login(chair)
    response = page(client, committee, **{"from": "2026-06-01", "to": "2026-01-01"})
    assert response.status_code == 400
    assert "after it ends" in response.text
    assert "report" not in response.context or response.context.get("report") is None


@pytest.mark.parametrize(
    ("persona", "status"), [("steward", 200), ("other_chair", 404), ("outsider", 404)]
)
def test_only_those_who_may_read_the_report_see_the_page(
    request, client, committee, dataset, persona, status
):
    client.force_login(request.getfixturevalue(persona))
    assert page(client, committee, **PERIOD).status_code == status


def test_the_list_names_the_committees_the_person_may_read(
    client, committee, other_committee, chair, outsider
):
    client.force_login(chair)
    html = client.get(reverse("admin:committee_reports")).text
    assert committee.name in html and other_committee.name not in html
    client.force_login(outsider)
    assert (
        "You may read no committee's report" in client.get(reverse("admin:committee_reports")).text
    )


def test_the_workspace_home_links_to_the_reports(client, chair):
    client.force_login(chair)
    assert reverse("admin:committee_reports") in client.get(reverse("admin:index")).text


# --- the chart's geometry (pure) ----------------------------------------------------------------
def test_bars_stand_on_the_baseline_in_proportion_to_a_round_scale():
    chart = bar_chart(key="k", title="T", categories=["a", "b"], series=[Series("n", "c", [3, 6])])
    assert [t.value for t in chart.ticks] == ["0", "5", "10"]
    a, b = chart.bars
    assert a.y + a.height == pytest.approx(chart.baseline) == b.y + b.height
    assert b.height == pytest.approx(2 * a.height)
    assert chart.description == "a 3; b 6."


def test_an_empty_chart_has_a_scale_and_no_bars():
    chart = bar_chart(key="k", title="T", categories=["a"], series=[Series("n", "c", [0])])
    assert chart.bars[0].height == 0
    assert chart.ticks[-1].value == "1"


def test_sixty_months_name_every_fifth_month():
    months = [f"m{i}" for i in range(60)]
    chart = bar_chart(key="k", title="T", categories=months, series=[Series("n", "c", [1] * 60)])
    assert len(chart.labels) == 12
