"""Properties of the consent-matching engine over generated consents and purposes (hypothesis),
on the real Human Disease Ontology hierarchy parsed from the shipped file (no database).

- A purpose that adds a restriction-relevant flag never gets a more lenient verdict
  (so never turns `deny` into `approve`).
- Narrowing a purpose's diseases to descendants never turns `approve` into `deny`.
- Adding NMDS to a consent never makes a verdict more lenient.
- A sensitive-research flag never lets a verdict approve.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from functools import cache

from django.conf import settings
from hypothesis import assume, event, given, note
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from governance import matching
from governance.matching import ConsentInput, Outcome, Purpose
from governance.ontology import closure_of, parse_doid

SEVERITY = {Outcome.APPROVE: 0, Outcome.REVIEW: 1, Outcome.DENY: 2}
CANCER = "DOID:162"
# Broad consented diseases, so that disease-specific consents fit often enough to be interesting.
BROAD = ["DOID:162", "DOID:0050686", "DOID:1324", "DOID:3905", "DOID:9256", "DOID:305", "DOID:1612"]


@cache
def doid():
    terms = parse_doid(settings.TESSERA["ONTOLOGY_DIR"] / "doid" / "HumanDO.tsv")
    closure = closure_of({c: t.parents for c, t in terms.items()})
    ancestors = {c: frozenset(a) for c, a in closure.items()}
    descendants: dict[str, set[str]] = {}
    for term, its_ancestors in ancestors.items():
        for a in its_ancestors:
            descendants.setdefault(a, set()).add(term)
    return ancestors, {c: sorted(d) for c, d in descendants.items()}


def pool() -> list[str]:
    """The cancer subtree plus a few unrelated diseases."""
    _, descendants = doid()
    return [*descendants[CANCER], "DOID:114", "DOID:9352", "DOID:2841"]


def judge(consent: ConsentInput, purpose: Purpose) -> Outcome:
    ancestors, _ = doid()
    return matching.evaluate(
        consent, purpose, ancestors=lambda c: ancestors.get(c, frozenset({c}))
    ).decision


diseases = st.sampled_from(pool())
# Flags are mostly off, so that approvals (the interesting "before" states) are common.
rarely = st.sampled_from([False, False, False, True])


@st.composite
def consents(draw, permission: str | None = None) -> ConsentInput:
    permission = permission or draw(st.sampled_from(sorted(matching.PERMISSIONS)))
    return ConsentInput(
        permission=permission,
        modifiers=frozenset(draw(st.sets(st.sampled_from(sorted(matching.MODIFIERS)), max_size=4))),
        diseases=frozenset(
            draw(st.sets(st.sampled_from(BROAD) | diseases, min_size=1, max_size=3))
            if permission == "DUO:0000007"
            else ()
        ),
        region=frozenset(
            draw(st.sets(st.sampled_from(["EU", "EEA", "NL", "US", "GB"]), max_size=2))
        ),
        months=draw(st.none() | st.integers(1, 60)),
        moratorium_until=draw(st.none() | st.just(date(2027, 6, 30))),
        named_users=draw(st.sampled_from([(), ("Dr A. Jansen",)])),
    )


@st.composite
def purposes(draw, min_diseases: int = 0, near: frozenset[str] = frozenset()) -> Purpose:
    """`near`: consented diseases; the purpose's diseases are then often among their subtypes."""
    _, descendants = doid()
    subtypes = sorted({t for d in near for t in descendants.get(d, [d])})
    studied = st.sampled_from(subtypes) | diseases if subtypes else diseases
    return Purpose(
        diseases=frozenset(draw(st.sets(studied, min_size=min_diseases, max_size=3))),
        methods_development=draw(rarely),
        population_ancestry=draw(rarely),
        commercial=draw(rarely),
        for_profit_organisation=draw(rarely),
        clinical_care=draw(rarely),
        genetic_study=draw(st.booleans()),
        ethics_approval=draw(st.booleans()),
        months=draw(st.none() | st.integers(1, 60)),
        country=draw(st.none() | st.sampled_from(["NL", "DE", "NO", "US", "GB", "CH"])),
        other=draw(st.sampled_from(["", "pilot study"])),
        **{name: draw(rarely) for name in matching.SENSITIVE_FLAGS},
    )


# Each takes a purpose and returns it with one more restriction; None if it is already there.
def _set(field: str, value):
    def change(p: Purpose) -> Purpose | None:
        return None if getattr(p, field) == value else dataclasses.replace(p, **{field: value})

    change.__name__ = f"{field}={value!r}"
    return change


def _longer(p: Purpose) -> Purpose | None:
    return dataclasses.replace(p, months=p.months + 12) if p.months else None


RESTRICTIONS = [
    _set("commercial", True),
    _set("for_profit_organisation", True),
    _set("clinical_care", True),
    _set("other", "also something else"),
    _set("ethics_approval", False),
    _set("genetic_study", False),
    _longer,
]
# Population/ancestry research and methods development are restrictions for every permission
# except POA, whose table row *allows* exactly those columns and denies general research; and
# methods development is not one for DS without NMDS either, whose row allows methods
# development but denies general research (engine 2.0.0).
RESTRICTIONS_EXCEPT_POA = [_set("population_ancestry", True), _set("methods_development", True)]
RESTRICTIONS += [_set(name, True) for name in matching.SENSITIVE_FLAGS]
NMDS = matching.CURIE_BY_SHORTHAND["NMDS"]


def _methods_widens(consent: ConsentInput) -> bool:
    return consent.permission == matching.CURIE_BY_SHORTHAND["DS"] and NMDS not in consent.modifiers


@hsettings(max_examples=400, deadline=None)
@given(
    consent=consents(),
    purpose=purposes(),
    restrict=st.sampled_from(RESTRICTIONS + RESTRICTIONS_EXCEPT_POA),
)
def test_adding_a_restriction_never_makes_the_verdict_more_lenient(consent, purpose, restrict):
    if restrict in RESTRICTIONS_EXCEPT_POA:
        assume(consent.permission != matching.CURIE_BY_SHORTHAND["POA"])
    if restrict is RESTRICTIONS_EXCEPT_POA[1]:
        assume(not _methods_widens(consent))
    restricted = restrict(purpose)
    assume(restricted is not None)
    before, after = judge(consent, purpose), judge(consent, restricted)
    note(f"{restrict.__name__}: {before} -> {after}")
    event(f"{before} -> {after}")
    assert SEVERITY[after] >= SEVERITY[before]
    assert not (before == Outcome.DENY and after == Outcome.APPROVE)


@hsettings(max_examples=400, deadline=None)
@given(consent=consents(), purpose=purposes())
def test_adding_nmds_never_makes_a_verdict_more_lenient(consent, purpose):
    with_nmds = dataclasses.replace(consent, modifiers=consent.modifiers | {NMDS})
    before, after = judge(consent, purpose), judge(with_nmds, purpose)
    event(f"{before} -> {after}")
    assert SEVERITY[after] >= SEVERITY[before]


@hsettings(max_examples=400, deadline=None)
@given(consent=consents(), purpose=purposes(), flag=st.sampled_from(list(matching.SENSITIVE_FLAGS)))
def test_a_sensitive_flag_never_lets_a_verdict_approve(consent, purpose, flag):
    assert judge(consent, dataclasses.replace(purpose, **{flag: True})) != Outcome.APPROVE


def test_ds_without_nmds_is_the_exception_the_table_makes_for_methods():
    ds = ConsentInput(permission=matching.CURIE_BY_SHORTHAND["DS"], diseases=frozenset({CANCER}))
    assert judge(ds, Purpose()) == Outcome.DENY
    assert judge(ds, Purpose(methods_development=True)) == Outcome.APPROVE
    with_nmds = dataclasses.replace(ds, modifiers=frozenset({NMDS}))
    assert judge(with_nmds, Purpose(methods_development=True)) == Outcome.DENY


def test_poa_is_the_exception_the_table_makes_for_ancestry_and_methods():
    poa = ConsentInput(permission=matching.CURIE_BY_SHORTHAND["POA"])
    assert judge(poa, Purpose()) == Outcome.DENY
    assert judge(poa, Purpose(population_ancestry=True)) == Outcome.APPROVE
    assert judge(poa, Purpose(methods_development=True)) == Outcome.APPROVE


@st.composite
def narrowed(draw, purpose: Purpose) -> Purpose:
    """Each disease replaced by itself or a descendant; some may go, at least one stays."""
    _, descendants = doid()
    kept = draw(st.lists(st.sampled_from(sorted(purpose.diseases)), min_size=1, unique=True))
    narrower = {draw(st.sampled_from(descendants.get(d, [d]))) for d in kept}
    return dataclasses.replace(purpose, diseases=frozenset(narrower))


@hsettings(max_examples=400, deadline=None)
@given(consent=consents(), data=st.data())
def test_narrowing_diseases_to_descendants_never_turns_approve_into_deny(consent, data):
    purpose = data.draw(purposes(min_diseases=1, near=consent.diseases))
    narrower = data.draw(narrowed(purpose))
    before, after = judge(consent, purpose), judge(consent, narrower)
    note(f"{sorted(purpose.diseases)} -> {sorted(narrower.diseases)}: {before} -> {after}")
    event(f"{before} -> {after}")
    if before == Outcome.APPROVE:
        assert after != Outcome.DENY
        assert after == Outcome.APPROVE  # the stronger form holds too: no rule gets stricter


@hsettings(max_examples=200, deadline=None)
@given(
    consent=consents(permission=matching.CURIE_BY_SHORTHAND["DS"]),
    data=st.data(),
)
def test_disease_specific_consent_approves_descendants_of_what_it_names(consent, data):
    """Not vacuous: a disease drawn under a consented one fits, whatever the depth."""
    _, descendants = doid()
    named = data.draw(st.sampled_from(sorted(consent.diseases)))
    studied = data.draw(st.sampled_from(descendants[named]))
    plain = ConsentInput(permission=consent.permission, diseases=consent.diseases)
    assert judge(plain, Purpose(diseases=frozenset({studied}))) == Outcome.APPROVE
