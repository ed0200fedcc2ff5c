"""The consent-matching engine, table by table: every cell of the permission table, every modifier,
disease hierarchy depth, several diseases, combinations, and the ORM side's handling of bad input.

The engine's tables use the real Human Disease Ontology hierarchy (parsed from the shipped file,
no database); the ORM side's tests use the ontology loaded into the test database."""

from __future__ import annotations

from datetime import date
from functools import cache

import pytest
from django.conf import settings

from governance import consent, matching, selectors
from governance.matching import ConsentInput, Outcome, Purpose
from governance.models import Dataset, OntologyTerm
from governance.ontology import closure_of, parse_doid
from tests import factories

A, R, D = Outcome.APPROVE, Outcome.REVIEW, Outcome.DENY

CANCER = "DOID:162"
LUNG_CANCER = "DOID:1324"  # child of respiratory system cancer < organ system cancer < cancer
LUNG_CARCINOMA = "DOID:3905"  # child of lung cancer
LUNG_NSCLC = "DOID:3908"  # grandchild of lung cancer
LUNG_ADENOCARCINOMA = "DOID:3910"  # great-grandchild of lung cancer
COLORECTAL_CANCER = "DOID:9256"
COLON_CANCER = "DOID:219"  # child of colorectal cancer
BREAST_CANCER = "DOID:1612"


@cache
def doid():
    terms = parse_doid(settings.TESSERA["ONTOLOGY_DIR"] / "doid" / "HumanDO.tsv")
    closure = closure_of({c: t.parents for c, t in terms.items()})
    return {c: frozenset(a) for c, a in closure.items()}, {c: t.label for c, t in terms.items()}


def curie(short: str) -> str:
    return matching.CURIE_BY_SHORTHAND[short]


def scope(permission: str = "GRU", *modifiers: str, **fields) -> ConsentInput:
    return ConsentInput(
        permission=curie(permission),
        modifiers=frozenset(curie(m) for m in modifiers),
        diseases=frozenset(fields.pop("diseases", ())),
        region=frozenset(fields.pop("region", ())),
        **fields,
    )


def purpose(*diseases: str, **flags) -> Purpose:
    return Purpose(diseases=frozenset(diseases), **flags)


def judge(consent_input: ConsentInput, purpose_input: Purpose) -> matching.Verdict:
    ancestors, labels = doid()
    return matching.evaluate(
        consent_input,
        purpose_input,
        ancestors=lambda c: ancestors.get(c, frozenset({c})),
        labels=labels,
    )


def outcomes(verdict: matching.Verdict) -> dict[str, set[Outcome]]:
    """{shorthand: outcomes of the rules for that term}."""
    out: dict[str, set[Outcome]] = {}
    for rule in verdict.rules:
        out.setdefault(matching.DUO_TERMS[rule.term][0], set()).add(rule.outcome)
    return out


# --- the permission table ----------------------------------------------------------------------
DISEASE = purpose(LUNG_CANCER)
METHODS_ONLY = purpose(methods_development=True)
GENERAL = purpose()
ANCESTRY = purpose(population_ancestry=True)
DS_CANCER = {"diseases": {CANCER}}

PERMISSION_TABLE = [
    # consent,                              disease, methods only, general, population/ancestry
    ("NRES", {}, A, A, A, A),
    ("GRU", {}, A, A, A, A),
    ("HMB", {}, A, A, A, D),
    # DS + methods only: approve since engine 2.0.0 (no NMDS on the scope; DUO's NMDS and DUOS v4's
    # testMDS_positive_case_3). With NMDS it is denied: test_disease_specific_methods_and_nmds.
    ("DS", DS_CANCER, A, A, D, D),
    ("POA", {}, D, A, D, A),
]


@pytest.mark.parametrize(
    ("permission", "fields", "column", "purpose_input", "expected"),
    [
        pytest.param(p, f, col, pur, row[i], id=f"{p}-{col}")
        for (p, f, *row) in PERMISSION_TABLE
        for i, (col, pur) in enumerate(
            [
                ("disease", DISEASE),
                ("methods-only", METHODS_ONLY),
                ("general", GENERAL),
                ("ancestry", ANCESTRY),
            ]
        )
    ],
)
def test_every_cell_of_the_permission_table(permission, fields, column, purpose_input, expected):
    verdict = judge(scope(permission, **fields), purpose_input)
    assert verdict.decision == expected
    assert outcomes(verdict) == {permission: {expected}}


@pytest.mark.parametrize(
    ("permission", "fields", "purpose_input", "expected", "rules"),
    [
        # A purpose with diseases and population/ancestry research is judged by both columns.
        pytest.param("GRU", {}, purpose(LUNG_CANCER, population_ancestry=True), A, {A}, id="GRU"),
        pytest.param("HMB", {}, purpose(LUNG_CANCER, population_ancestry=True), D, {A, D}, id="HMB"),
        pytest.param("DS", DS_CANCER, purpose(LUNG_CANCER, population_ancestry=True), D, {A, D}, id="DS"),
        pytest.param("POA", {}, purpose(LUNG_CANCER, population_ancestry=True), D, {A, D}, id="POA"),
        # Methods development with ancestry but no disease: methods-only and ancestry columns.
        pytest.param("POA", {}, purpose(methods_development=True, population_ancestry=True), A, {A}, id="POA-methods-ancestry"),
        pytest.param("HMB", {}, purpose(methods_development=True, population_ancestry=True), D, {A, D}, id="HMB-methods-ancestry"),
        # Methods development within a disease is judged by the disease column.
        pytest.param("DS", DS_CANCER, purpose(LUNG_CANCER, methods_development=True), A, {A}, id="DS-methods-in-disease"),
        pytest.param("POA", {}, purpose(LUNG_CANCER, methods_development=True), D, {D}, id="POA-methods-in-disease"),
    ],
)  # fmt: skip
def test_purpose_in_two_columns_is_judged_by_both(
    permission, fields, purpose_input, expected, rules
):
    verdict = judge(scope(permission, **fields), purpose_input)
    assert verdict.decision == expected
    assert outcomes(verdict)[permission] == rules


# --- disease-specific research and the hierarchy -----------------------------------------------
@pytest.mark.parametrize(
    ("consented", "studied", "expected"),
    [
        pytest.param({CANCER}, {CANCER}, A, id="the-consented-disease-itself"),
        pytest.param({CANCER}, {LUNG_CANCER}, A, id="lung-cancer-fits-a-cancer-dataset"),
        pytest.param({LUNG_CANCER}, {CANCER}, D, id="cancer-does-not-fit-a-lung-cancer-dataset"),
        pytest.param({LUNG_CANCER}, {LUNG_CARCINOMA}, A, id="child"),
        pytest.param({LUNG_CANCER}, {LUNG_NSCLC}, A, id="grandchild"),
        pytest.param({LUNG_CANCER}, {LUNG_ADENOCARCINOMA}, A, id="great-grandchild"),
        pytest.param({CANCER}, {LUNG_ADENOCARCINOMA}, A, id="six-levels-down"),
        pytest.param({LUNG_CANCER}, {COLON_CANCER}, D, id="a-cousin-does-not-fit"),
        pytest.param({LUNG_NSCLC}, {LUNG_CANCER}, D, id="a-grandparent-does-not-fit"),
        # several diseases in the purpose: every one must fit
        pytest.param({CANCER}, {LUNG_CANCER, COLON_CANCER}, A, id="two-diseases-both-under-cancer"),
        pytest.param({LUNG_CANCER}, {LUNG_ADENOCARCINOMA, COLON_CANCER}, D, id="one-of-two-does-not-fit"),
        # several diseases in the consent: each purpose disease may fit a different one
        pytest.param({LUNG_CANCER, COLORECTAL_CANCER}, {LUNG_ADENOCARCINOMA, COLON_CANCER}, A, id="each-fits-its-own"),
        pytest.param({LUNG_CANCER, COLORECTAL_CANCER}, {BREAST_CANCER}, D, id="fits-neither"),
        pytest.param({LUNG_CANCER, COLORECTAL_CANCER}, {COLON_CANCER, BREAST_CANCER}, D, id="one-fits-one-does-not"),
    ],
)  # fmt: skip
def test_disease_specific_consent_follows_the_hierarchy(consented, studied, expected):
    verdict = judge(scope("DS", diseases=consented), purpose(*studied))
    assert verdict.decision == expected


def test_disease_reason_says_why_a_subtype_fits():
    [rule] = judge(scope("DS", diseases={LUNG_CANCER}), purpose(LUNG_NSCLC)).rules
    assert rule.term == "DUO:0000007"
    assert rule.reason.startswith("DS (disease specific research) for lung cancer (DOID:1324)")
    assert "lung non-small cell carcinoma (DOID:3908) is a kind of lung cancer (DOID:1324)" in (
        rule.reason
    )


def test_disease_reason_names_only_the_diseases_that_do_not_fit():
    verdict = judge(scope("DS", diseases={LUNG_CANCER}), purpose(LUNG_ADENOCARCINOMA, COLON_CANCER))
    [rule] = verdict.rules
    assert "colon cancer (DOID:219) is neither a consented disease nor a kind of one" in rule.reason
    assert "lung adenocarcinoma" not in rule.reason


@pytest.mark.parametrize(
    ("modifiers", "purpose_input", "expected", "rules"),
    [
        pytest.param((), METHODS_ONLY, A, {"DS": {A}}, id="without-NMDS"),
        pytest.param(("NMDS",), METHODS_ONLY, D, {"DS": {D}, "NMDS": {D}}, id="with-NMDS"),
        pytest.param((), purpose(LUNG_CANCER, methods_development=True), A, {"DS": {A}}, id="in-disease"),
        pytest.param(("NMDS",), purpose(LUNG_CANCER, methods_development=True), A, {"DS": {A}, "NMDS": {A}}, id="in-disease-with-NMDS"),
        pytest.param((), purpose(BREAST_CANCER, methods_development=True), D, {"DS": {D}}, id="in-other-disease"),
    ],
)  # fmt: skip
def test_disease_specific_methods_and_nmds(modifiers, purpose_input, expected, rules):
    verdict = judge(scope("DS", *modifiers, diseases={LUNG_CANCER}), purpose_input)
    assert (verdict.decision, outcomes(verdict)) == (expected, rules)


def test_disease_specific_methods_approval_names_the_missing_nmds():
    (rule,) = judge(scope("DS", diseases={CANCER}), METHODS_ONLY).rules
    assert "NMDS (no general methods research)" in rule.reason
    assert "does not carry" in rule.reason


NON_HEALTH = purpose(non_health=True)


@pytest.mark.parametrize(
    ("permission", "fields", "expected", "permission_outcome"),
    [
        ("NRES", {}, R, A),
        ("GRU", {}, R, A),
        ("HMB", {}, D, D),
        ("DS", DS_CANCER, D, D),
        ("POA", {}, D, D),
    ],
)
def test_non_health_research_column(permission, fields, expected, permission_outcome):
    """Research not related to health: outside HMB, DS and POA; under NRES and GRU allowed by the
    permission but, being sensitive, still a committee's decision."""
    verdict = judge(scope(permission, **fields), NON_HEALTH)
    assert verdict.decision == expected
    assert outcomes(verdict)[permission] >= {permission_outcome}
    assert sum(r.outcome == R and "Sensitive research" in r.reason for r in verdict.rules) == 1


def test_sensitive_flags_are_the_ten_duos_abstains_on():
    assert list(matching.SENSITIVE_FLAGS) == [
        "children",
        "vulnerable_populations",
        "stigmatising_diseases",
        "sexual_diseases",
        "illegal_behaviour",
        "psychological_traits",
        "non_health",
        "restricted_population",
        "controls",
        "one_gender",
    ]
    assert set(matching.SENSITIVE_FLAGS) <= set(matching.PURPOSE_FLAGS)


@pytest.mark.parametrize("flag", [f for f in matching.SENSITIVE_FLAGS if f != "non_health"])
@pytest.mark.parametrize("permission", ["NRES", "GRU", "HMB"])
def test_each_sensitive_flag_sends_an_approvable_purpose_to_a_committee(flag, permission):
    assert judge(scope(permission), purpose()).decision == A
    verdict = judge(scope(permission), purpose(**{flag: True}))
    assert verdict.decision == R
    (sensitive,) = [r for r in verdict.rules if r.outcome == R]
    assert matching.SENSITIVE_FLAGS[flag] in sensitive.reason


def test_sensitive_flags_never_turn_a_denial_into_a_review():
    verdict = judge(scope("DS", diseases={LUNG_CANCER}), purpose(BREAST_CANCER, children=True))
    assert verdict.decision == D


def test_disease_specific_scope_without_diseases_needs_a_human():
    assert judge(scope("DS"), purpose(LUNG_CANCER)).decision == R


# --- modifiers ---------------------------------------------------------------------------------
MODIFIER_TABLE = [
    # (modifiers, consent fields, purpose, decision, the modifier's outcome or None if no rule)
    (("NCU",), {}, purpose(commercial=True), D, D),
    (("NCU",), {}, purpose(), A, A),
    (("NCU",), {}, purpose(for_profit_organisation=True), A, A),
    (("NPU",), {}, purpose(for_profit_organisation=True), D, D),
    (("NPU",), {}, purpose(commercial=True), A, A),
    (("NPUNCU",), {}, purpose(commercial=True), D, D),
    (("NPUNCU",), {}, purpose(for_profit_organisation=True), D, D),
    (("NPUNCU",), {}, purpose(), A, A),
    (("NMDS",), {}, purpose(methods_development=True), D, D),
    (("NMDS",), {}, purpose(LUNG_CANCER, methods_development=True), A, A),
    (("NMDS",), {}, purpose(LUNG_CANCER), A, A),
    (("NMDS",), {}, purpose(), A, A),
    (("NPOA",), {}, purpose(population_ancestry=True), D, D),
    (("NPOA",), {}, purpose(LUNG_CANCER), A, A),
    (("GSO",), {}, purpose(), D, D),
    (("GSO",), {}, purpose(genetic_study=True), A, A),
    (("CC",), {}, purpose(clinical_care=True), A, A),
    (("CC",), {}, purpose(), A, A),
    ((), {}, purpose(clinical_care=True), D, D),  # CC absent and a clinical-care purpose
    ((), {}, purpose(), A, None),
    (("IRB",), {}, purpose(), R, R),
    (("IRB",), {}, purpose(ethics_approval=True), A, A),
    (("GS",), {"region": {"EU"}}, purpose(country="NL"), A, A),
    (("GS",), {"region": {"EU"}}, purpose(country="US"), D, D),
    (("GS",), {"region": {"EU"}}, purpose(country="NO"), D, D),  # Norway: EEA, not EU
    (("GS",), {"region": {"EEA"}}, purpose(country="NO"), A, A),
    (("GS",), {"region": {"EEA"}}, purpose(country="CH"), D, D),
    (("GS",), {"region": {"GB", "US"}}, purpose(country="GB"), A, A),
    (("GS",), {"region": {"EU", "GB"}}, purpose(country="GB"), A, A),
    (("GS",), {"region": {"EU"}}, purpose(), R, R),
    (("GS",), {}, purpose(country="NL"), R, R),  # a scope without a region cannot be checked
    (("TS",), {"months": 24}, purpose(months=36), D, D),
    (("TS",), {"months": 24}, purpose(months=24), A, A),
    (("TS",), {"months": 24}, purpose(months=1), A, A),
    (("TS",), {"months": 24}, purpose(), R, R),
    (("TS",), {}, purpose(months=12), R, R),  # a TS scope without months cannot be checked
    (("PUB",), {}, purpose(), A, A),
    (("COL",), {}, purpose(), A, A),
    (("RTN",), {}, purpose(), A, A),
    (("MOR",), {"moratorium_until": date(2027, 6, 30)}, purpose(), A, A),
    (("MOR",), {}, purpose(), R, R),
    (("US",), {"named_users": ("Dr A. Jansen",)}, purpose(), R, R),
    (("PS",), {"named_projects": ("PATH-AI",)}, purpose(), R, R),
    (("IS",), {"named_institutions": ("Radboudumc",)}, purpose(), R, R),
    (("RS",), {}, purpose(), R, R),
]


def _modifier_id(row) -> str:
    mods, fields, p, decision, _ = row
    flags = [k for k, v in p.to_dict().items() if v and k != "diseases"]
    return "-".join([*(mods or ("no-CC",)), *map(str, flags), *sorted(fields), str(decision)])


@pytest.mark.parametrize(
    ("modifiers", "fields", "purpose_input", "expected", "rule"),
    [pytest.param(*row, id=_modifier_id(row)) for row in MODIFIER_TABLE],
)
def test_every_modifier(modifiers, fields, purpose_input, expected, rule):
    verdict = judge(scope("GRU", *modifiers, **fields), purpose_input)
    assert verdict.decision == expected
    term = modifiers[0] if modifiers else "CC"
    assert outcomes(verdict).get(term) == ({rule} if rule else None)


@pytest.mark.parametrize("modifier", sorted(s for s, _ in matching.MODIFIERS.values()))
def test_every_modifier_reason_names_its_shorthand_and_label(modifier):
    fields = {
        "GS": {"region": {"EU"}},
        "TS": {"months": 12},
        "MOR": {"moratorium_until": date(2027, 1, 1)},
    }.get(modifier, {})
    verdict = judge(scope("GRU", modifier, **fields), purpose(clinical_care=True))
    short, label = matching.MODIFIERS[curie(modifier)]
    [rule] = [r for r in verdict.rules if r.term == curie(modifier)]
    assert rule.reason.startswith(f"{short} ({label})") or f"{short} ({label})" in rule.reason


@pytest.mark.parametrize(
    ("modifier", "fields", "fragment"),
    [
        ("IRB", {}, "ethics committee (IRB/ERB) approval"),
        ("PUB", {}, "available to the wider scientific community"),
        ("COL", {}, "Collaborate with the primary study investigator"),
        ("RTN", {}, "Return derived or enriched data"),
        ("MOR", {"moratorium_until": date(2027, 6, 30)}, "before 2027-06-30"),
        ("TS", {"months": 24}, "at most 24 months"),
    ],
)
def test_obligations_are_listed_for_the_applicant(modifier, fields, fragment):
    verdict = judge(scope("GRU", modifier, **fields), purpose(ethics_approval=True, months=12))
    assert verdict.decision == A
    [obligation] = verdict.obligations
    assert obligation.term == curie(modifier)
    assert fragment in obligation.text


def test_missing_ethics_approval_creates_no_obligation_yet():
    verdict = judge(scope("GRU", "IRB"), purpose())
    assert verdict.obligations == ()
    assert "states no ethics approval" in verdict.rules[-1].reason


def test_free_text_purpose_needs_a_human_and_is_quoted():
    verdict = judge(scope("GRU"), purpose(other="Also train a commercial foundation model"))
    assert verdict.decision == R
    rule = verdict.rules[-1]
    assert rule.term == curie("GRU")
    assert "“Also train a commercial foundation model”" in rule.reason


def test_blank_free_text_changes_nothing():
    assert judge(scope("GRU"), purpose(other="  \n ")).decision == A


# --- combinations ------------------------------------------------------------------------------
COMBINATIONS = [
    # a deny wins over a review
    (scope("GRU", "NCU", "IRB"), purpose(commercial=True), D, {"GRU": {A}, "NCU": {D}, "IRB": {R}}),
    # a review wins over approvals and obligations
    (scope("GRU", "IRB", "PUB"), purpose(), R, {"GRU": {A}, "IRB": {R}, "PUB": {A}}),
    # two reviews
    (
        scope("GRU", "GS", "TS", region={"EU"}, months=24),
        purpose(),
        R,
        {"GRU": {A}, "GS": {R}, "TS": {R}},
    ),
    # everything satisfied
    (
        scope("DS", "NCU", "IRB", "GS", "TS", "PUB", diseases={CANCER}, region={"EU"}, months=24),
        purpose(LUNG_ADENOCARCINOMA, ethics_approval=True, country="DE", months=24),
        A,
        {"DS": {A}, "NCU": {A}, "IRB": {A}, "GS": {A}, "TS": {A}, "PUB": {A}},
    ),
    # three restrictions violated at once, each named
    (
        scope("HMB", "NPUNCU", "GSO", "NPOA"),
        purpose(commercial=True, for_profit_organisation=True, population_ancestry=True),
        D,
        {"HMB": {D}, "NPUNCU": {D}, "GSO": {D}, "NPOA": {D}},
    ),
    # a fitting disease passes DS but a geography outside the region still denies
    (
        scope("DS", "GS", diseases={LUNG_CANCER}, region={"EEA"}),
        purpose(LUNG_NSCLC, country="US"),
        D,
        {"DS": {A}, "GS": {D}},
    ),
    # NMDS with methods tied to a fitting disease, plus clinical care allowed by CC
    (
        scope("DS", "NMDS", "CC", diseases={LUNG_CANCER}),
        purpose(LUNG_ADENOCARCINOMA, methods_development=True, clinical_care=True),
        A,
        {"DS": {A}, "NMDS": {A}, "CC": {A}},
    ),
    # NMDS, methods without a disease, under DS: both the permission and NMDS deny
    (
        scope("DS", "NMDS", diseases={LUNG_CANCER}),
        purpose(methods_development=True),
        D,
        {"DS": {D}, "NMDS": {D}},
    ),
    # a named-user restriction and free text both ask for a human, nothing denies
    (
        scope("GRU", "US", named_users=("a@example.org",)),
        purpose(other="pilot"),
        R,
        {"GRU": {R, A}, "US": {R}},
    ),
]


@pytest.mark.parametrize(
    ("consent_input", "purpose_input", "expected", "rules"),
    [pytest.param(*row, id=f"combination-{i}") for i, row in enumerate(COMBINATIONS)],
)
def test_combinations_of_modifiers(consent_input, purpose_input, expected, rules):
    verdict = judge(consent_input, purpose_input)
    assert verdict.decision == expected
    assert outcomes(verdict) == rules


def test_rules_come_in_a_stable_order_permission_first():
    verdict = judge(
        scope("GRU", "TS", "NCU", "IRB", months=12), purpose(ethics_approval=True, months=6)
    )
    assert [r.term for r in verdict.rules] == [curie(s) for s in ("GRU", "NCU", "IRB", "TS")]


def test_verdict_serialises_to_the_api_shape():
    data = judge(scope("GRU", "PUB"), purpose()).to_dict()
    assert data == {
        "decision": "approve",
        "rules": [
            {"term": "DUO:0000042", "outcome": "approve", "reason": data["rules"][0]["reason"]},
            {"term": "DUO:0000019", "outcome": "approve", "reason": data["rules"][1]["reason"]},
        ],
        "obligations": [{"term": "DUO:0000019", "text": data["obligations"][0]["text"]}],
    }


def test_a_stored_verdict_reads_back_equal():
    verdict = judge(
        scope("DS", "IRB", "GS", diseases={CANCER}, region={"EU"}),
        purpose(LUNG_CANCER, ethics_approval=True),
    )
    assert matching.Verdict.from_dict(verdict.to_dict()) == verdict


def test_engine_refuses_a_term_it_has_no_rule_for():
    with pytest.raises(matching.MatchingError) as caught:
        judge(ConsentInput(permission="DUO:0000005"), purpose())
    assert caught.value.term == "DUO:0000005"
    with pytest.raises(matching.MatchingError, match="DUO:0000099"):
        judge(
            ConsentInput(permission=curie("GRU"), modifiers=frozenset({"DUO:0000099"})), purpose()
        )


# --- the ORM side: JSON and stored scopes -----------------------------------------------------
pytestmark_db = pytest.mark.django_db


@pytestmark_db
@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"permission": "XYZ"}, "permission", "Unknown DUO term 'XYZ'"),
        ({"permission": "GRU-CC"}, "permission", "DUO:0000005 (GRU-CC, obsolete general"),
        ({"permission": "DUO:0000014"}, "permission", "is obsolete in DUO"),
        ({"permission": "NCU"}, "permission", "is not a DUO data use permission"),
        ({}, "permission", "Required"),
        ({"permission": 7}, "permission", "Required"),
        ({"permission": "GRU", "modifiers": ["DS"]}, "modifiers", "is not a DUO data use modifier"),
        ({"permission": "GRU", "modifiers": ["DUO:0000099"]}, "modifiers", "'DUO:0000099'"),
        ({"permission": "GRU", "modifiers": "NCU"}, "modifiers", "Expected a list of strings"),
        ({"permission": "DS", "diseases": ["DOID:99999999"]}, "diseases", "'DOID:99999999'"),
        ({"permission": "DS", "diseases": ["DUO:0000007"]}, "diseases", "Unknown disease term"),
        ({"permission": "DS"}, "diseases", "at least one DOID disease term"),
        ({"permission": "GRU", "diseases": [CANCER]}, "diseases", "only to disease-specific"),
        ({"permission": "GRU", "modifiers": ["GS"]}, "region", "needs a region"),
        ({"permission": "GRU", "modifiers": ["GS"], "region": ["UK"]}, "region", "the United Kingdom is GB"),
        ({"permission": "GRU", "modifiers": ["TS"], "months": 0}, "months", "at least 1 month"),
        ({"permission": "GRU", "modifiers": ["TS"], "months": "24"}, "months", "whole number"),
        ({"permission": "GRU", "modifiers": ["TS"], "months": True}, "months", "whole number"),
        ({"permission": "GRU", "modifiers": ["TS"]}, "months", "needs a number of months"),
        ({"permission": "GRU", "modifiers": ["MOR"], "moratorium_until": "soon"}, "moratorium_until", "ISO date"),
        ({"permission": "GRU", "modifiers": ["NPUNCU", "NCU"]}, "modifiers", "NPUNCU already implies"),
        ({"permission": "GRU", "modifiers": ["US"]}, "named_users", "US needs the approved users"),
        ({"permission": "GRU", "comercial": True}, "comercial", "Unknown consent field"),
        (["GRU"], "", "Expected a JSON object"),
    ],
)  # fmt: skip
def test_bad_consent_input_is_an_error_naming_the_field(data, field, fragment):
    with pytest.raises(consent.ConsentInputError) as caught:
        consent.consent_input_from_data(data)
    assert field in caught.value.errors
    assert fragment in caught.value.errors[field]


@pytestmark_db
@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"diseases": ["DOID:0"]}, "diseases", "Unknown disease term 'DOID:0'"),
        ({"diseases": ["cancer"]}, "diseases", "Unknown disease term 'cancer'"),
        ({"diseases": "DOID:162"}, "diseases", "Expected a list of strings"),
        ({"country": "XX"}, "country", "'XX' is not an ISO 3166-1 alpha-2 country code"),
        ({"country": "UK"}, "country", "the United Kingdom is GB"),
        ({"country": "EU"}, "country", "not an ISO 3166-1"),
        ({"country": 31}, "country", "Expected a string"),
        ({"months": 0}, "months", "at least 1 month"),
        ({"months": -3}, "months", "at least 1 month"),
        ({"months": 2.5}, "months", "whole number"),
        ({"commercial": "yes"}, "commercial", "true or false"),
        ({"ethics_approval": 1}, "ethics_approval", "true or false"),
        ({"other": ["x"]}, "other", "Expected a string"),
        ({"comercial": True}, "comercial", "Unknown purpose field"),
        ("lung cancer", "", "Expected a JSON object"),
    ],
)
def test_bad_purpose_input_is_an_error_naming_the_field(data, field, fragment):
    with pytest.raises(consent.ConsentInputError) as caught:
        consent.purpose_from_data(data)
    assert fragment in caught.value.errors[field]


@pytestmark_db
def test_terms_are_accepted_as_shorthand_curie_or_purl_in_any_case():
    forms = [
        {"permission": "DS", "modifiers": ["NCU"], "diseases": ["DOID:162"]},
        {"permission": "DUO:0000007", "modifiers": ["DUO:0000046"], "diseases": ["doid:162"]},
        {
            "permission": "http://purl.obolibrary.org/obo/DUO_0000007",
            "modifiers": ["ncu"],
            "diseases": ["http://purl.obolibrary.org/obo/DOID_162"],
        },
    ]
    parsed = {consent.consent_input_from_data(f) for f in forms}
    assert parsed == {
        ConsentInput(
            permission="DUO:0000007",
            modifiers=frozenset({"DUO:0000046"}),
            diseases=frozenset({"DOID:162"}),
        )
    }


@pytestmark_db
def test_purpose_defaults_every_flag_to_false():
    assert consent.purpose_from_data({}) == Purpose()
    assert consent.purpose_from_data({"country": "nl", "other": ""}).country == "NL"


@pytestmark_db
def test_stored_scope_reads_like_its_json():
    stored = factories.consent_scope(
        "DS",
        modifiers=["GS", "TS", "US", "MOR"],
        diseases=[LUNG_CANCER, COLORECTAL_CANCER],
        region=["EU", "GB"],
        time_limit_months=24,
        named_users="Dr A. Jansen\n\nDr B. Smit\n",
        moratorium_until=date(2027, 6, 30),
    )
    as_json = consent.consent_input_from_data(
        {
            "permission": "DS",
            "modifiers": ["GS", "TS", "US", "MOR"],
            "diseases": [LUNG_CANCER, COLORECTAL_CANCER],
            "region": ["EU", "GB"],
            "months": 24,
            "named_users": ["Dr A. Jansen", "Dr B. Smit"],
            "moratorium_until": "2027-06-30",
        }
    )
    assert consent.consent_input_from_scope(stored) == as_json


@pytestmark_db
def test_ancestors_of_a_deep_disease_come_in_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        ancestors, labels = consent.purpose_ancestry(purpose(LUNG_ADENOCARCINOMA, COLON_CANCER))
    assert {CANCER, LUNG_CANCER, LUNG_NSCLC, LUNG_ADENOCARCINOMA} <= ancestors[LUNG_ADENOCARCINOMA]
    assert COLORECTAL_CANCER in ancestors[COLON_CANCER]
    assert labels[LUNG_CANCER] == "lung cancer"
    # the database closure and the one computed from the file agree
    assert ancestors[LUNG_ADENOCARCINOMA] == doid()[0][LUNG_ADENOCARCINOMA]


@pytestmark_db
def test_evaluating_json_against_the_loaded_ontology():
    verdict = consent.evaluate(
        consent.consent_input_from_data(
            {"permission": "DS", "diseases": ["DOID:162"], "modifiers": ["NCU", "IRB"]}
        ),
        consent.purpose_from_data(
            {"diseases": ["DOID:1324"], "commercial": False, "ethics_approval": True}
        ),
    )
    assert verdict.decision == A
    assert "lung cancer (DOID:1324) is a kind of cancer (DOID:162)" in verdict.rules[0].reason


def _datasets(count: int, committee, organisation):
    scopes = [
        factories.consent_scope("DS", diseases=[LUNG_CANCER]),
        factories.consent_scope("GRU", modifiers=["NCU"]),
        factories.consent_scope("HMB", modifiers=["IRB"]),
    ]
    return [
        factories.dataset(
            committee=committee, controller=organisation, consent_scope=scopes[i % len(scopes)]
        )
        for i in range(count)
    ]


@pytestmark_db
def test_batch_evaluation_costs_the_same_queries_for_3_or_12_datasets(
    committee, organisation, django_assert_num_queries
):
    _datasets(12, committee, organisation)
    lung = purpose(LUNG_NSCLC, commercial=True)
    counts = []
    for n in (3, 12):
        # datasets, their scopes, permissions, modifiers, diseases; the purpose's ancestry
        with django_assert_num_queries(6) as captured:
            verdicts = consent.evaluate_datasets(Dataset.objects.order_by("pk")[:n], lung)
        counts.append(len(captured.captured_queries))
        assert len(verdicts) == n
    assert counts[0] == counts[1]
    decisions = {v.decision for v in verdicts.values()}
    assert decisions == {A, D, R}  # DS fits; GRU+NCU denies commercial; HMB+IRB needs review


@pytestmark_db
def test_batch_on_catalogue_rows_needs_only_the_ancestry_query(
    committee, organisation, django_assert_num_queries
):
    _datasets(6, committee, organisation)
    rows = list(selectors.dataset_list_public())
    with django_assert_num_queries(1):
        verdicts = consent.evaluate_datasets(rows, purpose(LUNG_NSCLC))
    assert verdicts[rows[0].accession] == consent.evaluate_dataset(rows[0], purpose(LUNG_NSCLC))


@pytestmark_db
def test_a_dataset_without_consent_scope_goes_to_a_human(committee, organisation):
    animal = factories.dataset(
        committee=committee, controller=organisation, species="animal", consent_scope=None
    )
    verdict = consent.evaluate_dataset(animal, purpose(LUNG_CANCER))
    assert verdict.decision == R
    assert verdict.rules[0].term == matching.DATA_USE_PERMISSION
    assert "no consent scope" in verdict.rules[0].reason


@pytestmark_db
def test_filter_by_match_keeps_only_the_wanted_verdicts(committee, organisation):
    made = _datasets(6, committee, organisation)
    by_decision = {
        d: {
            x.accession
            for x in consent.filter_by_match(
                selectors.dataset_list_public(), purpose(LUNG_NSCLC, commercial=True), {d}
            )
        }
        for d in ("approve", "review", "deny")
    }
    assert by_decision["approve"] == {made[0].accession, made[3].accession}
    assert by_decision["deny"] == {made[1].accession, made[4].accession}
    assert by_decision["review"] == {made[2].accession, made[5].accession}


@pytestmark_db
def test_ontology_version_names_both_loaded_files():
    version = consent.ontology_version()
    assert set(version) == {"DUO", "DOID"}
    assert all(len(digest) == 64 for digest in version.values())


@pytestmark_db
def test_filter_and_display_read_a_stored_scope_the_same_way():
    stored = factories.consent_scope(
        "DS",
        modifiers=["GS", "US", "IRB"],
        diseases=[LUNG_CANCER, COLORECTAL_CANCER],
        region=["EEA"],
        named_users="Dr A. Jansen\nDr B. Smit",
    )
    [(pk, from_columns, labels)] = list(consent._scope_rows([stored.pk]))
    assert pk == stored.pk
    assert from_columns == consent.consent_input_from_scope(stored)
    assert labels == {LUNG_CANCER: "lung cancer", COLORECTAL_CANCER: "colorectal cancer"}


@pytestmark_db
def test_a_stored_term_the_engine_has_no_rule_for_goes_to_a_human(committee, organisation):
    stored = factories.consent_scope("GRU")
    newer = OntologyTerm.objects.create(
        curie="DUO:0000099", ontology="DUO", label="some future modifier", duo_kind="modifier"
    )
    stored.modifiers.add(newer)  # as if a newer DUO release had been loaded
    ds = factories.dataset(committee=committee, controller=organisation, consent_scope=stored)
    verdict = consent.evaluate_dataset(ds, purpose())
    assert verdict.decision == R
    assert verdict.rules[0].term == "DUO:0000099"
    assert "A committee must judge" in verdict.rules[0].reason


@pytestmark_db
def test_a_purpose_survives_a_round_trip_through_json():
    stated = purpose(
        LUNG_ADENOCARCINOMA,
        COLON_CANCER,
        methods_development=True,
        commercial=True,
        ethics_approval=True,
        months=18,
        country="DE",
        other="pilot",
    )
    assert consent.purpose_from_data(stated.to_dict()) == stated


@pytestmark_db
def test_whole_catalogue_verdicts_from_columns_agree_with_loaded_rows(
    committee, organisation, django_assert_num_queries
):
    _datasets(6, committee, organisation)
    factories.dataset(
        committee=committee, controller=organisation, species="animal", consent_scope=None
    )
    stated = purpose(LUNG_NSCLC, commercial=True)
    with django_assert_num_queries(5):
        from_columns = consent.evaluate_catalogue(selectors.dataset_list_public(), stated)
    assert from_columns == consent.evaluate_datasets(selectors.dataset_list_public(), stated)
    assert len(from_columns) == 7
