"""Committee reports: what a data access committee received, decided and granted over a period,
and how often its decisions agreed with the automatic consent verdict (docs/committee-reports.md).

Read by the committee workspace's report page (`access.committee.reports`) and by
`GET /api/v1/committees/{slug}/report` (`access.api.reports`); both ask `committee_for_report`
first, which answers 404 to anyone who is not a member of the committee, a steward of one of
its datasets' controllers, or an auditor.

`committee_report` costs the same number of queries whatever the number of requests
(`REPORT_QUERIES`, tested at two sizes and measured at 100,000 requests by
bench/committee_report.py): every count is an SQL aggregate, the days to decision come back as
one list of durations (the percentiles are computed here, the same on SQLite and PostgreSQL),
and the disagreements with the consent verdict are a bounded list beside their total.

The figures, per committee (one committee's part of a request is its `Review`):

- received: reviews whose request was submitted in the period;
- decided: final decisions (approve or reject) taken in the period; returns for changes are
  counted under outcomes, as steps, not as decisions;
- withdrawn: reviews withdrawn by the applicant in the period, before a decision (a withdrawn
  review never changes again, so its last change is its withdrawal);
- days to decision: from the request's submission to the final decision, for the decisions in
  the period (the applicant's time on a returned request included); median and 90th
  percentile by linear interpolation between ranks (PostgreSQL's `percentile_cont`);
- agreement with the consent verdict, per decided dataset: the committee approved a dataset
  when its decision was an approval that included it; it agreed with a verdict "approve" by
  approving it and with a verdict "deny" by not approving it; a verdict "review" asked a
  person and is counted apart, by what the committee did. Only decisions people took count:
  an automatic decision follows the verdict by construction (it would only inflate the rate);
  they are counted in `outcomes.automatic`;
- grants in force now: not revoked, within their dates (`GrantStateFilter`'s "current");
  ending soon: of those, the ones whose last instant is within `ENDING_SOON_DAYS`;
- reviews overdue now: open for decision past the committee's service level
  (`lifecycle.review_overdue`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.http import Http404
from django.utils import timezone

from audit.selectors import is_auditor
from core.exceptions import Invalid
from governance.matching import Outcome
from governance.models import DataAccessCommittee, Dataset

from . import lifecycle
from .choices import DecisionOutcome, ReviewStatus
from .models import Decision, Grant, Review

MAX_PERIOD_YEARS = 5
ENDING_SOON_DAYS = 30
# The disagreements listed in full; their total is always given.
DISAGREEMENTS_LISTED = 200
# What `committee_report` costs, whatever the number of requests (tests/access/test_committee_reports.py).
REPORT_QUERIES = 6
FINAL_OUTCOMES = (DecisionOutcome.APPROVE, DecisionOutcome.REJECT)
_EARLIEST = date(1900, 1, 1)
_LATEST_YEARS_AHEAD = 10


# --- who may read a committee's report -----------------------------------------------------------
def committees_reportable_by(user) -> QuerySet[DataAccessCommittee]:
    """The committees whose reports `user` may read: all of them for an auditor, else those
    they sit on and those governing a dataset of an organisation they are a steward of."""
    committees = DataAccessCommittee.objects.order_by("name")
    if not (user and user.is_authenticated and user.is_active):
        return committees.none()
    if is_auditor(user):
        return committees
    stewarded = Dataset.objects.filter(committee=OuterRef("pk"), controller__stewards=user)
    return committees.filter(Q(memberships__user=user) | Q(Exists(stewarded))).distinct()


def committee_for_report(user, slug) -> DataAccessCommittee:
    """The committee `slug`, if `user` may read its report; a 404 for missing and forbidden."""
    try:
        return committees_reportable_by(user).get(slug=str(slug))
    except DataAccessCommittee.DoesNotExist:
        raise Http404("No such committee.") from None


# --- the period ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """The report's days, both included, and the instants that bound them (the site's time zone)."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first, time.min))

    @property
    def end(self) -> datetime:
        """The first instant after the period (exclusive)."""
        return timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))

    def months(self) -> list[tuple[str, Period]]:
        """Each calendar month the period touches ("YYYY-MM"), as far as it lies in the period."""
        month, months = self.first.replace(day=1), []
        while month <= self.last:
            following = month + relativedelta(months=1)
            part = Period(max(month, self.first), min(following - timedelta(days=1), self.last))
            months.append((month.strftime("%Y-%m"), part))
            month = following
        return months


def _day(query: Mapping[str, Any], name: str, today: date) -> date:
    raw = query.get(name)
    if raw is None or str(raw).strip() == "":
        raise Invalid({name: f"Give the period's {_WHICH[name]} day as {name}=YYYY-MM-DD."})
    text = str(raw).strip()
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise Invalid({name: f"{text[:20]!r} is not a date written YYYY-MM-DD."}) from None
    latest = today + relativedelta(years=_LATEST_YEARS_AHEAD)
    if not _EARLIEST <= day <= latest:
        raise Invalid({name: f"Give a date between {_EARLIEST} and {latest}."})
    return day


_WHICH = {"from": "first", "to": "last"}
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def report_period(query: Mapping[str, Any], *, today: date | None = None) -> Period:
    """The period named by `from` and `to` (YYYY-MM-DD, both included), or `Invalid` (a 400)
    saying what is wrong: a date missing or malformed, `from` after `to`, or a period longer
    than `MAX_PERIOD_YEARS` years."""
    today = today or timezone.localdate()
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for name in ("from", "to"):
        try:
            days[name] = _day(query, name, today)
        except Invalid as exc:
            errors.update({field: messages[0] for field, messages in exc.field_errors.items()})
    if errors:
        raise Invalid(errors)
    first, last = days["from"], days["to"]
    if first > last:
        raise Invalid({"from": f"The period starts ({first}) after it ends ({last})."})
    if last >= first + relativedelta(years=MAX_PERIOD_YEARS):
        raise Invalid(
            {"to": f"A report covers at most {MAX_PERIOD_YEARS} years; ask for several periods."}
        )
    return Period(first, last)


def default_period(today: date | None = None) -> Period:
    """The last twelve months, today included (the workspace's report before a choice)."""
    today = today or timezone.localdate()
    return Period(today - relativedelta(years=1) + timedelta(days=1), today)


# --- the figures ---------------------------------------------------------------------------------
def percentile(values: Iterable[float], fraction: float) -> float | None:
    """The `fraction` percentile of `values` by linear interpolation between the closest ranks
    (PostgreSQL's `percentile_cont`, numpy's default); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _in(field: str, period: Period) -> Q:
    return Q(**{f"{field}__gte": period.start, f"{field}__lt": period.end})


def _decided_matches(committee: DataAccessCommittee, period: Period) -> QuerySet[Decision]:
    """One row per final decision in the period and consent match of a dataset of the
    committee (the request's other committees' datasets are theirs to report), with the
    match's `verdict`, `accession`, `engine_version` and `rules`, and whether the committee
    approved that dataset (`approved`).

    The join to the matches is made once, in one filter() call, and the annotations reuse it;
    a later filter() on the matches' own fields would join them again (Django's multi-valued
    relation rule) and pair one match's verdict with another's dataset: filter on the
    annotations' names instead."""
    matches = "review__request__matches"
    return (
        Decision.objects.filter(
            _in("decided_at", period),
            review__committee=committee,
            outcome__in=FINAL_OUTCOMES,
            decided_by__isnull=False,  # people's decisions only (see the module)
            **{f"{matches}__dataset__committee": committee},
        )
        .annotate(
            verdict=F(f"{matches}__decision"),
            accession=F(f"{matches}__dataset__accession"),
            engine_version=F(f"{matches}__engine_version"),
            rules=F(f"{matches}__rules"),
            approved=Exists(
                Decision.approved_datasets.through.objects.filter(
                    decision_id=OuterRef("pk"), dataset_id=OuterRef(f"{matches}__dataset")
                )
            ),
        )
        .order_by()
    )


def _disagreeing() -> Q:
    return Q(approved=True, verdict=Outcome.DENY) | Q(approved=False, verdict=Outcome.APPROVE)


def committee_report(
    *, committee: DataAccessCommittee, period: Period, now: datetime | None = None
) -> dict[str, Any]:
    """The committee's report for `period`, as plain data (the JSON the API answers): the
    figures of the module's docstring, and `by_month` (received and decided per month) for the
    charts. The figures "now" (grants, overdue) are at `now`. `REPORT_QUERIES` queries."""
    now = now or timezone.now()
    in_period_review = _in("request__submitted_at", period)
    # Open for decision past the service level (lifecycle.review_overdue, as a condition).
    overdue_before = now - timedelta(days=committee.service_level_days)
    months = period.months()
    # The months' figures are filtered counts in the same aggregates, not a GROUP BY on a
    # truncated date: SQLite truncates dates in Python, row by row (3 of 4 tenths of a
    # second of the report at 20,000 requests).
    reviews = Review.objects.filter(committee=committee).aggregate(
        received=Count("pk", filter=in_period_review),
        **{
            f"received_{name}": Count("pk", filter=_in("request__submitted_at", part))
            for name, part in months
        },
        withdrawn=Count("pk", filter=Q(status=ReviewStatus.WITHDRAWN) & _in("updated_at", period)),
        open_now=Count("pk", filter=Q(status__in=lifecycle.OPEN_REVIEW_STATES)),
        overdue_now=Count(
            "pk",
            filter=Q(
                status__in=lifecycle.DECIDABLE_STATES, request__submitted_at__lt=overdue_before
            ),
        ),
    )
    decisions_in_period = Decision.objects.filter(
        _in("decided_at", period), review__committee=committee
    )
    final = Q(outcome__in=FINAL_OUTCOMES)
    outcomes = decisions_in_period.aggregate(
        approve=Count("pk", filter=Q(outcome=DecisionOutcome.APPROVE)),
        reject=Count("pk", filter=Q(outcome=DecisionOutcome.REJECT)),
        return_=Count("pk", filter=Q(outcome=DecisionOutcome.RETURN)),
        automatic=Count("pk", filter=final & Q(decided_by__isnull=True)),
        **{
            f"decided_{name}": Count("pk", filter=final & _in("decided_at", part))
            for name, part in months
        },
    )
    durations = [
        d.total_seconds() / 86400
        for d in decisions_in_period.filter(final, review__request__submitted_at__isnull=False)
        .annotate(
            taken=ExpressionWrapper(
                F("decided_at") - F("review__request__submitted_at"), output_field=DurationField()
            )
        )
        .values_list("taken", flat=True)
        .order_by()
    ]
    matches = _decided_matches(committee, period)
    agreement = {(True, v): 0 for v in Outcome} | {(False, v): 0 for v in Outcome}
    for row in matches.values("approved", "verdict").annotate(n=Count("pk")):
        agreement[(bool(row["approved"]), row["verdict"])] = row["n"]
    agree = agreement[(True, Outcome.APPROVE)] + agreement[(False, Outcome.DENY)]
    disagree = agreement[(True, Outcome.DENY)] + agreement[(False, Outcome.APPROVE)]
    listed = (
        matches.filter(_disagreeing())
        .values(
            "review__request_id",
            "outcome",
            "decided_at",
            "approved",
            "decided_by_id",
            "accession",
            "verdict",
            "engine_version",
            "rules",
        )
        .order_by("-decided_at", "review__request_id", "accession")[:DISAGREEMENTS_LISTED]
    )
    disagreements = [_disagreement(row) for row in listed]
    soon = now + timedelta(days=ENDING_SOON_DAYS)
    grants = Grant.objects.filter(
        dataset__committee=committee,
        revoked_at__isnull=True,
        valid_from__lte=now,
        valid_until__gt=now,
    ).aggregate(active=Count("pk"), ending_soon=Count("pk", filter=Q(valid_until__lte=soon)))
    decided = outcomes["approve"] + outcomes["reject"]
    return {
        "committee": {"slug": committee.slug, "name": committee.name},
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "generated_at": now.isoformat(),
        "requests": {
            "received": reviews["received"],
            "decided": decided,
            "withdrawn": reviews["withdrawn"],
        },
        "days_to_decision": {
            "decisions": len(durations),
            "median": _days(percentile(durations, 0.5)),
            "p90": _days(percentile(durations, 0.9)),
        },
        "outcomes": {
            "approved": outcomes["approve"],
            "rejected": outcomes["reject"],
            "returned": outcomes["return_"],
            "automatic": outcomes["automatic"],
        },
        "consent_agreement": {
            "agreed": agree,
            "disagreed": disagree,
            "rate": round(agree / (agree + disagree), 3) if agree + disagree else None,
            "review_verdicts_approved": agreement[(True, Outcome.REVIEW)],
            "review_verdicts_not_approved": agreement[(False, Outcome.REVIEW)],
            "disagreements_listed": len(disagreements),
            "disagreements": disagreements,
        },
        "now": {
            "grants_active": grants["active"],
            "grants_ending_soon": grants["ending_soon"],
            "ending_soon_days": ENDING_SOON_DAYS,
            "reviews_open": reviews["open_now"],
            "reviews_overdue": reviews["overdue_now"],
        },
        "by_month": [
            {
                "month": name,
                "received": reviews[f"received_{name}"],
                "decided": outcomes[f"decided_{name}"],
            }
            for name, _ in months
        ],
    }


def _disagreement(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "request": f"TSR-AR-{row['review__request_id']:06d}",
        "dataset": row["accession"],
        "verdict": row["verdict"],
        "committee": "approved" if row["approved"] else "not approved",
        "decision": row["outcome"],
        "decided_at": row["decided_at"].isoformat(),
        "automatic": row["decided_by_id"] is None,
        "engine_version": row["engine_version"],
        "rules": "; ".join(
            f"{rule.get('term')}: {rule.get('outcome')}" for rule in row["rules"] or []
        ),
    }


# --- the CSV's rows ------------------------------------------------------------------------------
def report_rows(report: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, str]]:
    """The report as (figure, value) pairs, one per leaf of its JSON: `requests.received`,
    `by_month.0.month`, `consent_agreement.disagreements.3.dataset`. The CSV's rows; an empty
    value is JSON's null."""
    for key, value in report.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from report_rows(value, f"{name}.")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    yield from report_rows(item, f"{name}.{index}.")
                else:
                    yield f"{name}.{index}", _text(item)
        else:
            yield name, _text(value)


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): such a
# text cell (a committee's or a request's name) gets a leading apostrophe. Numbers are left be.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return str(value)
