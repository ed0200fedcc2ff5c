"""Consent matching for access requests: the request's structured purpose, its verdicts per
dataset (stored on submit), and what the committees' optional automatic policies decide (the
submission service records those decisions: this module imports no service)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from audit import events
from governance import consent, matching
from governance.matching import Outcome, Purpose, Verdict
from governance.models import Dataset

from .answers import ETHICS_FLAG, PURPOSE_FLAGS
from .choices import DecisionOutcome
from .models import AccessRequest, ConsentMatch, Review
from .selectors import request_latest_end


def purpose_for_request(access_request: AccessRequest) -> Purpose:
    today = timezone.localdate()
    ethics = bool(
        access_request.ethics_reference.strip()
        and access_request.ethics_expiry
        and access_request.ethics_expiry >= today
    )
    return Purpose(
        diseases=frozenset(access_request.diseases.values_list("curie", flat=True)),
        **{name: getattr(access_request, name) for name in PURPOSE_FLAGS},
        **{ETHICS_FLAG: ethics},
        months=access_request.requested_months,
        country=access_request.country or None,
        other=access_request.other_purpose.strip(),
    )


def verdicts_for_request(
    access_request: AccessRequest, *, datasets: Iterable[Dataset] | None = None
) -> dict[str, Verdict]:
    """Live verdicts for each requested dataset, or for these of them, by accession."""
    chosen = access_request.datasets.select_related("consent_scope__permission")
    if datasets is not None:
        chosen = chosen.filter(pk__in=[d.pk for d in datasets])
    return consent.evaluate_datasets(list(chosen), purpose_for_request(access_request))


def _ontology_label() -> str:
    version = consent.ontology_version()
    return ", ".join(f"{k} {v[:12]}" for k, v in sorted(version.items()))


def matches_record(
    *,
    access_request: AccessRequest,
    datasets: Iterable[Dataset] | None = None,
    record_events: bool = True,
) -> list[ConsentMatch]:
    """Store the verdict for each requested dataset on submission, or refresh it for the
    datasets given (a resubmission's returned parts only, a committee's re-evaluation). With
    `record_events=False` the caller writes one ledger event for them all instead of one
    `consent_matched` per dataset (`reviews.consent_reevaluate`)."""
    verdicts = verdicts_for_request(access_request, datasets=datasets)
    ontology = _ontology_label()
    by_accession = {d.accession: d for d in access_request.datasets.all()}
    stored = []
    for accession, verdict in verdicts.items():
        data = verdict.to_dict()
        match, _ = ConsentMatch.objects.update_or_create(
            request=access_request,
            dataset=by_accession[accession],
            defaults={
                "decision": data["decision"],
                "rules": data["rules"],
                "obligations": data["obligations"],
                "engine_version": matching.ENGINE_VERSION,
                "ontology_version": ontology,
                "evaluated_at": timezone.now(),
            },
        )
        if record_events:
            events.consent_matched(
                access_request=access_request,
                dataset=match.dataset,
                decision=data["decision"],
                engine_version=matching.ENGINE_VERSION,
            )
        stored.append(match)
    return stored


def automatic_end_date(access_request: AccessRequest, committee=None) -> date:
    """The end an automatic approval gives: the latest the committee may approve
    (`selectors.request_latest_end`)."""
    return request_latest_end(
        access_request, today=timezone.localdate(), committee_id=getattr(committee, "pk", None)
    )


@dataclass(frozen=True)
class AutomaticDecision:
    """A decision a committee's automatic policy takes on a fresh review; the submission service
    records it (`decision_record(..., automatic=True)`)."""

    review: Review
    outcome: str
    reason: str = ""
    conditions: str = ""
    end_date: date | None = None


def automatic_decisions(*, access_request: AccessRequest, reviews) -> list[AutomaticDecision]:
    """What committees' automatic policies (both off by default) decide on fresh reviews."""
    matches = {m.dataset_id: m.decision for m in access_request.matches.all()}
    decided = []
    for review in reviews:
        committee = review.committee
        if not (committee.auto_reject_denied or committee.auto_approve_matching):
            continue
        verdicts = [matches.get(d.pk) for d in review.datasets()]
        if committee.auto_reject_denied and Outcome.DENY in verdicts:
            denied = sorted(
                d.accession for d in review.datasets() if matches.get(d.pk) == Outcome.DENY
            )
            decided.append(
                AutomaticDecision(
                    review=review,
                    outcome=DecisionOutcome.REJECT,
                    reason="Automatic rejection under the committee's policy: the stated purpose is outside "
                    f"the data subjects' consent for {', '.join(denied)} (see the consent-match reasons).",
                )
            )
        elif (
            committee.auto_approve_matching
            and verdicts
            and all(v == Outcome.APPROVE for v in verdicts)
        ):
            decided.append(
                AutomaticDecision(
                    review=review,
                    outcome=DecisionOutcome.APPROVE,
                    end_date=automatic_end_date(access_request, committee),
                    conditions="Automatic approval under the committee's policy: every dataset's consent matches the purpose.",
                )
            )
    return decided
