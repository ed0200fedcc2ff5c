"""The consent-matching engine: does a research purpose fit what the data subjects consented to?

Pure Python, no ORM: inputs are `ConsentInput` and `Purpose` (terms as CURIEs), plus an injected
ancestor lookup for disease terms, so the rules can be tested without a database and the same
verdict is reproducible from stored inputs. `governance.consent` is the ORM-facing side that builds
the inputs from a `ConsentScope` or from JSON.

The semantics follow GA4GH's Data Use Ontology (DUO) as applied by Tessera's consent-matching issue:
exactly one permission term, judged by the purpose's columns (diseases, methods development only,
general health research, population/ancestry), then every modifier, then the sensitive-research
flags (each a `review`, as DUOS v4 abstains on them). Any `deny` denies; else any `review` sends the
verdict to a human; else it approves. `docs/consent-matching.md` sets every rule beside DUOS v4's.

Why one module of about 600 lines: the rule table and the code that applies it are read side by
side, cell by cell, against DUO and DUOS; the next step if it grows is the evaluation class
(`_Evaluation`) in a module of its own, with the public types and `evaluate()` left here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum
from typing import Any

from core.exceptions import Invalid

from .rules import EEA_COUNTRIES, EU_COUNTRIES

# Bump when a rule's outcome can change for the same inputs (stored matches record it).
# 2.0.0: DS without NMDS allows methods development without a disease (DUO's NMDS, DUOS v4's
#        testMDS_positive_case_3); sensitive-research flags give `review`; HMB denies non-health
#        research. 1.0.0: the consent-matching issue's table.
ENGINE_VERSION = "2.0.0"

# DUO terms the engine understands: CURIE -> (shorthand, label), as in the shipped duo.csv.
PERMISSIONS: dict[str, tuple[str, str]] = {
    "DUO:0000004": ("NRES", "no restriction"),
    "DUO:0000042": ("GRU", "general research use"),
    "DUO:0000006": ("HMB", "health or medical or biomedical research"),
    "DUO:0000007": ("DS", "disease specific research"),
    "DUO:0000011": ("POA", "population origins or ancestry research only"),
}
MODIFIERS: dict[str, tuple[str, str]] = {
    "DUO:0000045": ("NPU", "not for profit organisation use only"),
    "DUO:0000046": ("NCU", "non-commercial use only"),
    "DUO:0000018": ("NPUNCU", "not for profit, non commercial use only"),
    "DUO:0000015": ("NMDS", "no general methods research"),
    "DUO:0000044": ("NPOA", "population origins or ancestry research prohibited"),
    "DUO:0000016": ("GSO", "genetic studies only"),
    "DUO:0000043": ("CC", "clinical care use"),
    "DUO:0000021": ("IRB", "ethics approval required"),
    "DUO:0000022": ("GS", "geographical restriction"),
    "DUO:0000025": ("TS", "time limit on use"),
    "DUO:0000019": ("PUB", "publication required"),
    "DUO:0000020": ("COL", "collaboration required"),
    "DUO:0000029": ("RTN", "return to database or resource"),
    "DUO:0000024": ("MOR", "publication moratorium"),
    "DUO:0000026": ("US", "user specific restriction"),
    "DUO:0000027": ("PS", "project specific restriction"),
    "DUO:0000028": ("IS", "institution specific restriction"),
    "DUO:0000012": ("RS", "research specific restrictions"),
}
DUO_TERMS: dict[str, tuple[str, str]] = {**PERMISSIONS, **MODIFIERS}
CURIE_BY_SHORTHAND: dict[str, str] = {short: curie for curie, (short, _) in DUO_TERMS.items()}
# The root of DUO's permissions: named when a dataset has no consent scope at all.
DATA_USE_PERMISSION = "DUO:0000001"

REGION_GROUPS: dict[str, frozenset[str]] = {"EU": EU_COUNTRIES, "EEA": EEA_COUNTRIES}

AncestorLookup = Callable[[str], AbstractSet[str]]


class Outcome(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    DENY = "deny"


# Value and label of each outcome, for forms, serializers and the OpenAPI schema.
OUTCOME_CHOICES = [
    (Outcome.APPROVE.value, "Approve"),
    (Outcome.REVIEW.value, "Needs a committee's review"),
    (Outcome.DENY.value, "Deny"),
]


class MatchingError(Invalid, ValueError):
    """The engine was given a term it has no rule for (the ORM side should have caught it); bad
    input, a 400 where it is answered (core/exceptions.py), and still a ValueError."""

    def __init__(self, term: str, message: str):
        super().__init__(message)
        self.term = term


@dataclass(frozen=True)
class ConsentInput:
    """A consent scope as the engine sees it: DUO and DOID CURIEs, no database rows."""

    permission: str
    modifiers: frozenset[str] = frozenset()
    diseases: frozenset[str] = frozenset()
    region: frozenset[str] = frozenset()
    months: int | None = None
    moratorium_until: date | None = None
    named_users: tuple[str, ...] = ()
    named_projects: tuple[str, ...] = ()
    named_institutions: tuple[str, ...] = ()


def _flag(label: str, *, sensitive: bool = False) -> Any:
    """A yes/no fact about a purpose, false unless stated; `label` is how forms ask for it.
    A sensitive flag marks research that is always a committee's decision (`SENSITIVE_FLAGS`)."""
    return field(default=False, metadata={"label": label, "sensitive": sensitive})


@dataclass(frozen=True)
class Purpose:
    """What a researcher wants to do, as structured fields (diseases as DOID CURIEs).

    The yes/no facts are declared with `_flag` and listed in `PURPOSE_FLAGS`, from which the
    JSON reader, the API, the catalogue's purpose form and the access request's answers
    derive theirs."""

    diseases: frozenset[str] = frozenset()
    methods_development: bool = _flag("methods or algorithm development")
    population_ancestry: bool = _flag("population or ancestry research")
    commercial: bool = _flag("commercial use")
    for_profit_organisation: bool = _flag("carried out by a for-profit organisation")
    clinical_care: bool = _flag("clinical care use")
    genetic_study: bool = _flag("genetic study")
    ethics_approval: bool = _flag("I hold an ethics approval")
    # Sensitive research, where DUOS abstains (docs/consent-matching.md): always a human decision.
    children: bool = _flag("research on children (under 18)", sensitive=True)
    vulnerable_populations: bool = _flag(
        "research on vulnerable people (prisoners, pregnant women, people with a mental "
        "disability, economically or educationally disadvantaged people)",
        sensitive=True,
    )
    stigmatising_diseases: bool = _flag("research on a stigmatising disease", sensitive=True)
    sexual_diseases: bool = _flag(
        "research on sexual preferences or sexually transmitted diseases", sensitive=True
    )
    illegal_behaviour: bool = _flag(
        "research on illegal behaviour (violence, abuse, alcohol or drug abuse)", sensitive=True
    )
    psychological_traits: bool = _flag(
        "research on psychological traits (intelligence, attention, emotion)", sensitive=True
    )
    non_health: bool = _flag("research not related to health", sensitive=True)
    restricted_population: bool = _flag(
        "research on a restricted population or on variation in the general population",
        sensitive=True,
    )
    controls: bool = _flag("use of the data as controls for other research", sensitive=True)
    one_gender: bool = _flag("research limited to one sex or gender", sensitive=True)
    months: int | None = None
    country: str | None = None
    other: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, the shape `governance.consent.purpose_from_data` reads back."""
        return {
            "diseases": sorted(self.diseases),
            **{name: getattr(self, name) for name in PURPOSE_FLAGS},
            "months": self.months,
            "country": self.country,
            "other": self.other,
        }


# The purpose's yes/no facts, in declaration order: field name -> label.
PURPOSE_FLAGS: dict[str, str] = {
    f.name: f.metadata["label"] for f in fields(Purpose) if "label" in f.metadata
}
# The sensitive ones among them, in the same order: each sends the verdict to a committee.
SENSITIVE_FLAGS: dict[str, str] = {
    f.name: f.metadata["label"] for f in fields(Purpose) if f.metadata.get("sensitive")
}


@dataclass(frozen=True)
class RuleResult:
    """One rule that fired: the DUO term it applies, its outcome and why."""

    term: str
    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class Obligation:
    """Something the applicant takes on if access is granted (shown before submitting)."""

    term: str
    text: str


@dataclass(frozen=True)
class Verdict:
    """The engine's answer: the combined decision, every rule result and the obligations."""

    decision: Outcome
    rules: tuple[RuleResult, ...] = ()
    obligations: tuple[Obligation, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": str(self.decision),
            "rules": [
                {"term": r.term, "outcome": str(r.outcome), "reason": r.reason} for r in self.rules
            ],
            "obligations": [{"term": o.term, "text": o.text} for o in self.obligations],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """The inverse of `to_dict`, for verdicts stored as JSON."""
        return cls(
            decision=Outcome(data["decision"]),
            rules=tuple(
                RuleResult(r["term"], Outcome(r["outcome"]), r["reason"]) for r in data["rules"]
            ),
            obligations=tuple(Obligation(o["term"], o["text"]) for o in data["obligations"]),
        )


def combine(outcomes: list[Outcome]) -> Outcome:
    """Any deny denies; else any review needs a human; else approve."""
    if Outcome.DENY in outcomes:
        return Outcome.DENY
    if Outcome.REVIEW in outcomes:
        return Outcome.REVIEW
    return Outcome.APPROVE


def expand_region(region: AbstractSet[str]) -> frozenset[str]:
    """ISO country codes, with the groups EU and EEA replaced by their member states."""
    out: set[str] = set()
    for code in region:
        out |= REGION_GROUPS.get(code, {code})
    return frozenset(out)


def evaluate(
    consent: ConsentInput,
    purpose: Purpose,
    *,
    ancestors: AncestorLookup,
    labels: Mapping[str, str] | None = None,
) -> Verdict:
    """Judge `purpose` against `consent`.

    `ancestors(curie)` gives every ancestor of a purpose's disease term, itself included (from the
    precomputed closure); `labels` gives human names for DOID terms (and may override DUO labels)
    so that reasons read well. Raises `MatchingError` for a DUO term the engine has no rule for.
    """
    return _Evaluation(consent, purpose, ancestors, labels or {}).run()


# --- the rules ----------------------------------------------------------------------------------
_DISEASES, _METHODS, _GENERAL, _ANCESTRY = "diseases", "methods", "general", "ancestry"


class _Evaluation:
    def __init__(
        self,
        consent: ConsentInput,
        purpose: Purpose,
        ancestors: AncestorLookup,
        labels: Mapping[str, str],
    ):
        self.consent = consent
        self.purpose = purpose
        self.ancestors = ancestors
        self.labels = labels
        self.rules: list[RuleResult] = []
        self.obligations: list[Obligation] = []

    # wording helpers
    def duo(self, curie: str) -> str:
        short, label = DUO_TERMS.get(curie, ("", ""))
        label = self.labels.get(curie, label)
        return f"{short} ({label})" if short else f"{curie} ({label})" if label else curie

    def disease(self, curie: str) -> str:
        label = self.labels.get(curie)
        return f"{label} ({curie})" if label else curie

    def diseases(self, curies) -> str:
        names = [self.disease(c) for c in sorted(curies)]
        return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)

    def add(self, curie: str, outcome: Outcome, reason: str) -> None:
        self.rules.append(RuleResult(curie, outcome, reason))

    def oblige(self, curie: str, text: str) -> None:
        self.obligations.append(Obligation(curie, text))

    # the flow
    def run(self) -> Verdict:
        permission = self.consent.permission
        if permission not in PERMISSIONS:
            raise MatchingError(
                permission,
                f"{permission} is not a DUO data use permission the engine knows "
                f"({', '.join(s for s, _ in PERMISSIONS.values())}).",
            )
        unknown = sorted(self.consent.modifiers - MODIFIERS.keys())
        if unknown:
            raise MatchingError(
                unknown[0], f"{', '.join(unknown)}: not DUO data use modifiers the engine knows."
            )
        self.permission_rules(PERMISSIONS[permission][0])
        self.modifier_rules()
        self.sensitive_rules()
        if self.purpose.other.strip():
            text = " ".join(self.purpose.other.split())
            text = text if len(text) <= 200 else text[:199] + "…"
            self.add(
                permission,
                Outcome.REVIEW,
                f"The purpose adds free text that no rule can judge (“{text}”): a committee "
                f"must read it against {self.duo(permission)}.",
            )
        return Verdict(
            decision=combine([r.outcome for r in self.rules]),
            rules=tuple(self.rules),
            obligations=tuple(self.obligations),
        )

    def sensitive_rules(self) -> None:
        """Each sensitive flag sends the purpose to a committee, whatever the consent allows."""
        curie = self.consent.permission
        for name, label in SENSITIVE_FLAGS.items():
            if getattr(self.purpose, name):
                self.add(
                    curie,
                    Outcome.REVIEW,
                    f"Sensitive research ({label}): always a committee's decision, "
                    "whatever the consent allows.",
                )

    def columns(self) -> list[str]:
        """Which columns of the permission table judge this purpose."""
        p = self.purpose
        cols = []
        if p.diseases:
            cols.append(_DISEASES)
        elif p.methods_development:
            cols.append(_METHODS)
        if p.population_ancestry:
            cols.append(_ANCESTRY)
        return cols or [_GENERAL]

    def permission_rules(self, short: str) -> None:
        curie = self.consent.permission
        name = self.duo(curie)
        for col in self.columns():
            if short in ("NRES", "GRU"):
                what = {
                    _DISEASES: f"research on {self.diseases(self.purpose.diseases)}",
                    _METHODS: "methods development",
                    _GENERAL: "general health research",
                    _ANCESTRY: "population origins or ancestry research",
                }[col]
                scope = "any use" if short == "NRES" else "any research purpose"
                self.add(curie, Outcome.APPROVE, f"{name} allows {scope}, including {what}.")
            elif short == "HMB":
                if col != _ANCESTRY and self.purpose.non_health:
                    self.add(
                        curie,
                        Outcome.DENY,
                        f"{name} allows health, medical and biomedical research only; the "
                        "purpose is research not related to health.",
                    )
                elif col == _ANCESTRY:
                    self.add(
                        curie,
                        Outcome.DENY,
                        f"{name} allows health, medical and biomedical research but not the "
                        "study of population origins or ancestry, which the purpose includes.",
                    )
                else:
                    what = {
                        _DISEASES: f"research on {self.diseases(self.purpose.diseases)}",
                        _METHODS: "methods development for health research",
                        _GENERAL: "general health research",
                    }[col]
                    self.add(
                        curie,
                        Outcome.APPROVE,
                        f"{name} allows health, medical and biomedical research, including {what}.",
                    )
            elif short == "DS":
                self.disease_specific(col)
            else:  # POA
                if col in (_METHODS, _ANCESTRY):
                    what = (
                        "methods development" if col == _METHODS else "population/ancestry research"
                    )
                    self.add(curie, Outcome.APPROVE, f"{name} allows {what}, which the purpose is.")
                else:
                    what = (
                        f"research on {self.diseases(self.purpose.diseases)}"
                        if col == _DISEASES
                        else "general health research"
                    )
                    self.add(
                        curie,
                        Outcome.DENY,
                        f"{name} limits use to the study of population origins or ancestry; "
                        f"the purpose is {what}.",
                    )

    def disease_specific(self, col: str) -> None:
        curie = self.consent.permission
        consented = self.consent.diseases
        if not consented:
            self.add(
                curie,
                Outcome.REVIEW,
                f"{self.duo(curie)} without any consented disease: the consent scope is "
                "incomplete, so a committee must judge the purpose.",
            )
            return
        name = f"{self.duo(curie)} for {self.diseases(consented)}"
        if col == _DISEASES:
            fits, misfits = [], []
            for d in sorted(self.purpose.diseases):
                found = sorted(consented.intersection(self.ancestors(d)))
                if not found:
                    misfits.append(d)
                elif d in consented:
                    fits.append(f"{self.disease(d)} is a consented disease")
                else:
                    fits.append(f"{self.disease(d)} is a kind of {self.diseases(found)}")
            if misfits:
                self.add(
                    curie,
                    Outcome.DENY,
                    f"{name}: {self.diseases(misfits)} "
                    f"{'is' if len(misfits) == 1 else 'are'} neither a consented disease "
                    "nor a kind of one.",
                )
            else:
                self.add(curie, Outcome.APPROVE, f"{name}: {'; '.join(fits)}.")
        elif col == _METHODS and CURIE_BY_SHORTHAND["NMDS"] not in self.consent.modifiers:
            self.add(
                curie,
                Outcome.APPROVE,
                f"{name}: methods development without a disease is allowed, because the "
                f"consent does not carry {self.duo(CURIE_BY_SHORTHAND['NMDS'])}, the DUO "
                "modifier that forbids it.",
            )
        else:
            what = {
                _METHODS: "methods development without a disease (the consent carries NMDS)",
                _GENERAL: "general health research without a disease",
                _ANCESTRY: "population origins or ancestry research",
            }[col]
            self.add(
                curie,
                Outcome.DENY,
                f"{name}: use must be research on these diseases; {what} is not.",
            )

    def modifier_rules(self) -> None:
        c, p = self.consent, self.purpose
        mods = c.modifiers
        # Dictionary order of MODIFIERS fixes the order of the rules in every verdict.
        for curie, (short, _) in MODIFIERS.items():
            if short == "CC":
                self.clinical_care(curie, present=curie in mods)
                continue
            if curie not in mods:
                continue
            name = self.duo(curie)
            if short == "NCU":
                self.flag(
                    curie,
                    p.commercial,
                    f"{name}: the purpose is commercial use.",
                    f"{name}: the purpose is not commercial.",
                )
            elif short == "NPU":
                self.flag(
                    curie,
                    p.for_profit_organisation,
                    f"{name}: the applicant's organisation is for-profit.",
                    f"{name}: the applicant's organisation is not for-profit.",
                )
            elif short == "NPUNCU":
                why = [
                    text
                    for on, text in (
                        (p.commercial, "the purpose is commercial use"),
                        (p.for_profit_organisation, "the applicant's organisation is for-profit"),
                    )
                    if on
                ]
                self.flag(
                    curie,
                    bool(why),
                    f"{name}: {' and '.join(why)}.",
                    f"{name}: neither commercial use nor a for-profit organisation.",
                )
            elif short == "NMDS":
                if p.methods_development and not p.diseases:
                    self.add(
                        curie,
                        Outcome.DENY,
                        f"{name}: the purpose is methods development not tied to any disease.",
                    )
                elif p.methods_development:
                    self.add(
                        curie,
                        Outcome.APPROVE,
                        f"{name}: the methods development is tied to "
                        f"{self.diseases(p.diseases)}, which NMDS allows.",
                    )
                else:
                    self.add(
                        curie, Outcome.APPROVE, f"{name}: the purpose is not methods development."
                    )
            elif short == "NPOA":
                self.flag(
                    curie,
                    p.population_ancestry,
                    f"{name}: the purpose includes population origins or ancestry research.",
                    f"{name}: the purpose includes no population origins or ancestry research.",
                )
            elif short == "GSO":
                self.flag(
                    curie,
                    not p.genetic_study,
                    f"{name}: the purpose is not a genetic study.",
                    f"{name}: the purpose is a genetic study.",
                )
            elif short == "IRB":
                if p.ethics_approval:
                    self.add(
                        curie,
                        Outcome.APPROVE,
                        f"{name}: the applicant states an ethics approval; the committee "
                        "checks its documentation.",
                    )
                    self.oblige(
                        curie,
                        "Provide documentation of the local ethics committee (IRB/ERB) approval "
                        "and keep it valid while using the data.",
                    )
                else:
                    self.add(
                        curie,
                        Outcome.REVIEW,
                        f"{name}: the purpose states no ethics approval; a committee must "
                        "obtain and check one.",
                    )
            elif short == "GS":
                self.geography(curie)
            elif short == "TS":
                self.time_limit(curie)
            elif short in ("PUB", "COL", "RTN", "MOR"):
                self.obligation_only(curie, short)
            else:  # US, PS, IS, RS
                self.named_restriction(curie, short)

    def flag(self, curie: str, violated: bool, deny_reason: str, approve_reason: str) -> None:
        if violated:
            self.add(curie, Outcome.DENY, deny_reason)
        else:
            self.add(curie, Outcome.APPROVE, approve_reason)

    def clinical_care(self, curie: str, *, present: bool) -> None:
        name = self.duo(curie)
        if present:
            what = (
                "and the purpose includes it"
                if self.purpose.clinical_care
                else "though the purpose does not include it"
            )
            self.add(curie, Outcome.APPROVE, f"{name}: use in clinical care is allowed, {what}.")
        elif self.purpose.clinical_care:
            self.add(
                curie,
                Outcome.DENY,
                f"The purpose includes clinical care, but the consent does not include {name}.",
            )

    def geography(self, curie: str) -> None:
        name = self.duo(curie)
        region = self.consent.region
        if not region:
            self.add(
                curie,
                Outcome.REVIEW,
                f"{name}: the consent names no region, so a committee must judge where the "
                "data may be used.",
            )
            return
        where = ", ".join(sorted(region))
        country = self.purpose.country
        if not country:
            self.add(
                curie,
                Outcome.REVIEW,
                f"{name} to {where}: the purpose names no country, so a committee must "
                "check where the data will be used.",
            )
        elif country in expand_region(region):
            self.add(curie, Outcome.APPROVE, f"{name} to {where}: {country} is inside it.")
        else:
            self.add(curie, Outcome.DENY, f"{name} to {where}: {country} is outside it.")

    def time_limit(self, curie: str) -> None:
        name = self.duo(curie)
        limit, wanted = self.consent.months, self.purpose.months
        if limit is None:
            self.add(
                curie,
                Outcome.REVIEW,
                f"{name}: the consent records no number of months, so a committee must set "
                "the duration.",
            )
        elif wanted is None:
            self.add(
                curie,
                Outcome.REVIEW,
                f"{name} of {limit} months: the purpose requests no duration, so a committee "
                "must set one within the limit.",
            )
            self.oblige(curie, f"Use the data for at most {limit} months.")
        elif wanted > limit:
            self.add(
                curie,
                Outcome.DENY,
                f"{name} of {limit} months: {wanted} months requested, more than allowed.",
            )
        else:
            self.add(
                curie,
                Outcome.APPROVE,
                f"{name} of {limit} months: {wanted} months requested, within the limit.",
            )
            self.oblige(curie, f"Use the data for at most {limit} months.")

    def obligation_only(self, curie: str, short: str) -> None:
        name = self.duo(curie)
        if short == "MOR":
            until = self.consent.moratorium_until
            if until is None:
                self.add(
                    curie,
                    Outcome.REVIEW,
                    f"{name}: the consent records no end date, so a committee must set it.",
                )
                return
            text = f"Do not publish results of studies using the data before {until.isoformat()}."
        else:
            text = {
                "PUB": "Make the results of studies using the data available to the wider "
                "scientific community.",
                "COL": "Collaborate with the primary study investigator(s).",
                "RTN": "Return derived or enriched data to the database or resource.",
            }[short]
        self.add(
            curie,
            Outcome.APPROVE,
            f"{name}: an obligation for the applicant; it restricts no purpose.",
        )
        self.oblige(curie, text)

    def named_restriction(self, curie: str, short: str) -> None:
        name = self.duo(curie)
        names, who = {
            "US": (self.consent.named_users, "approved users"),
            "PS": (self.consent.named_projects, "approved projects"),
            "IS": (self.consent.named_institutions, "approved institutions"),
            "RS": ((), "approved types of research"),
        }[short]
        listed = f" ({'; '.join(names)})" if names else ""
        self.add(
            curie,
            Outcome.REVIEW,
            f"{name}: use is limited to {who}{listed}; a committee must check the request "
            "against them.",
        )
