"""The catalogue's coherence rules, as pure functions: no database, one message per broken rule,
and every message names the rule it enforces."""

from __future__ import annotations

from datetime import date

import pytest

from governance import rules
from governance.choices import GDPR_ARTICLES


def scope(**overrides):
    """A coherent GRU scope unless `overrides` break it."""
    fields = {"permission": "GRU", "modifiers": [], "disease_count": 0}
    return rules.consent_scope_problems(**{**fields, **overrides})


# --- consent scope: the permission ------------------------------------------------------------
@pytest.mark.parametrize("permission", ["NRES", "GRU", "HMB", "POA"])
def test_each_permission_without_diseases_is_coherent(permission):
    assert scope(permission=permission) == {}


def test_disease_specific_permission_with_a_disease_is_coherent():
    assert scope(permission="DS", disease_count=1) == {}


def test_scope_without_a_permission_is_rejected_naming_the_exactly_one_rule():
    problems = scope(permission=None)
    assert set(problems) == {"permission"}
    assert "exactly one DUO permission" in problems["permission"]


@pytest.mark.parametrize("not_a_permission", ["NPU", "GS", "RU", "gru", "DUO:0000042", ""])
def test_a_modifier_or_unknown_code_is_not_a_permission(not_a_permission):
    problems = scope(permission=not_a_permission)
    assert "exactly one DUO permission" in problems["permission"]


def test_a_second_permission_given_as_modifier_breaks_the_exactly_one_rule():
    problems = scope(permission="GRU", modifiers=["HMB"])
    assert set(problems) == {"modifiers"}
    assert "HMB" in problems["modifiers"]
    assert "exactly one" in problems["modifiers"]


def test_unknown_modifier_is_named_in_the_message():
    problems = scope(modifiers=["NPU", "XYZ"])
    assert set(problems) == {"modifiers"}
    assert "XYZ" in problems["modifiers"]
    assert "NPU" not in problems["modifiers"]


# --- consent scope: diseases ------------------------------------------------------------------
def test_disease_specific_research_without_a_disease_is_rejected():
    problems = scope(permission="DS", disease_count=0)
    assert set(problems) == {"diseases"}
    assert "(DS)" in problems["diseases"]
    assert "DOID" in problems["diseases"]


@pytest.mark.parametrize("permission", ["NRES", "GRU", "HMB", "POA"])
def test_diseases_are_forbidden_outside_disease_specific_research(permission):
    problems = scope(permission=permission, disease_count=2)
    assert set(problems) == {"diseases"}
    assert "(DS)" in problems["diseases"]
    assert permission in problems["diseases"]


# --- consent scope: modifiers and their parameters --------------------------------------------
@pytest.mark.parametrize("region", [["NL"], ["NL", "BE", "DE"], ["EU"], ["EEA"], ["EU", "CH"]])
def test_geographical_restriction_with_a_valid_region_is_coherent(region):
    assert scope(modifiers=["GS"], region=region) == {}


def test_geographical_restriction_without_a_region_is_rejected():
    problems = scope(modifiers=["GS"], region=[])
    assert set(problems) == {"region"}
    assert "(GS)" in problems["region"]


@pytest.mark.parametrize("bad", ["Netherlands", "nl", "N", "NLD", "E U", "12", "ZZ", "UK", "EL"])
def test_geographical_restriction_rejects_what_is_not_a_country_code_or_eu_eea(bad):
    problems = scope(modifiers=["GS"], region=["NL", bad])
    assert set(problems) == {"region"}
    assert bad in problems["region"]
    assert "ISO 3166-1" in problems["region"]


def test_region_without_geographical_restriction_is_rejected():
    problems = scope(region=["NL"])
    assert set(problems) == {"region"}
    assert "(GS)" in problems["region"]


def test_publication_moratorium_needs_its_end_date():
    problems = scope(modifiers=["MOR"])
    assert set(problems) == {"moratorium_until"}
    assert "(MOR)" in problems["moratorium_until"]
    assert scope(modifiers=["MOR"], moratorium_until=date(2030, 1, 1)) == {}


def test_moratorium_date_without_publication_moratorium_is_rejected():
    problems = scope(moratorium_until=date(2030, 1, 1))
    assert set(problems) == {"moratorium_until"}
    assert "MOR" in problems["moratorium_until"]


@pytest.mark.parametrize("months", [None, 0])
def test_time_limit_needs_a_number_of_months(months):
    problems = scope(modifiers=["TS"], time_limit_months=months)
    assert set(problems) == {"time_limit_months"}
    assert "(TS)" in problems["time_limit_months"]


def test_time_limit_with_months_is_coherent():
    assert scope(modifiers=["TS"], time_limit_months=24) == {}


def test_time_limit_must_be_a_positive_number_of_months():
    problems = scope(modifiers=["TS"], time_limit_months=-6)
    assert set(problems) == {"time_limit_months"}
    assert "TS" in problems["time_limit_months"]


def test_months_without_time_limit_are_rejected():
    problems = scope(time_limit_months=12)
    assert set(problems) == {"time_limit_months"}
    assert "TS" in problems["time_limit_months"]


@pytest.mark.parametrize(
    ("code", "field"),
    [("US", "named_users"), ("PS", "named_projects"), ("IS", "named_institutions")],
)
def test_named_restriction_needs_named_entries(code, field):
    problems = scope(modifiers=[code], **{field: "  \n "})
    assert set(problems) == {field}
    assert problems[field].startswith(code)
    assert scope(modifiers=[code], **{field: "first\nsecond"}) == {}


@pytest.mark.parametrize(
    ("code", "field"),
    [("US", "named_users"), ("PS", "named_projects"), ("IS", "named_institutions")],
)
def test_named_entries_without_their_modifier_are_rejected(code, field):
    problems = scope(**{field: "someone"})
    assert set(problems) == {field}
    assert code in problems[field]


@pytest.mark.parametrize("child", ["NPU", "NCU"])
def test_npuncu_together_with_npu_or_ncu_is_rejected(child):
    problems = scope(modifiers=["NPUNCU", child])
    assert set(problems) == {"modifiers"}
    assert "NPUNCU" in problems["modifiers"]
    assert "NPU" in problems["modifiers"]


def test_npuncu_alone_and_npu_with_ncu_are_coherent():
    assert scope(modifiers=["NPUNCU"]) == {}
    assert scope(modifiers=["NPU", "NCU"]) == {}


def test_every_broken_rule_is_reported_at_once():
    problems = scope(
        permission="DS",
        modifiers=["GS", "MOR", "TS", "US"],
        disease_count=0,
        region=[],
    )
    assert set(problems) == {
        "diseases",
        "region",
        "moratorium_until",
        "time_limit_months",
        "named_users",
    }


def test_a_scope_using_every_parameterised_modifier_is_coherent():
    assert (
        scope(
            permission="DS",
            disease_count=3,
            modifiers=["GS", "MOR", "TS", "US", "PS", "IS", "NPUNCU", "IRB", "PUB", "NPOA"],
            region=["EEA", "CH"],
            moratorium_until=date(2027, 6, 30),
            time_limit_months=36,
            named_users="orcid:0000-0002-1825-0097",
            named_projects="PANCAN-2026",
            named_institutions="Radboudumc",
        )
        == {}
    )


# --- legal basis ------------------------------------------------------------------------------
NEEDS_LAW = {(a, p) for a, p, _title, needs_law in GDPR_ARTICLES if needs_law}


def test_exactly_the_points_the_gdpr_names_require_a_law_reference():
    expected = {("6", "c"), ("6", "e"), ("9", "g"), ("9", "h"), ("9", "i"), ("9", "j")}
    assert expected == NEEDS_LAW


def legal_basis(a6: str | None, a9: str | None, law: str = ""):
    return rules.legal_basis_problems(
        article6_point=a6,
        article9_point=a9,
        article6_needs_law=("6", a6) in NEEDS_LAW,
        article9_needs_law=("9", a9) in NEEDS_LAW,
        law_reference=law,
    )


@pytest.mark.parametrize("point", ["c", "e"])
def test_art6_points_c_and_e_need_a_law_reference(point):
    problems = legal_basis(point, None)
    assert set(problems) == {"law_reference"}
    assert f"Art. 6(1)({point})" in problems["law_reference"]
    assert "Art. 6(3)" in problems["law_reference"]
    assert legal_basis(point, None, law="Dutch UAVG Art. 24") == {}


@pytest.mark.parametrize("point", ["g", "h", "i", "j"])
def test_art9_points_g_to_j_need_a_law_reference(point):
    problems = legal_basis("f", point, law="   ")
    assert set(problems) == {"law_reference"}
    assert f"Art. 9(2)({point})" in problems["law_reference"]
    assert "Art. 6(1)" not in problems["law_reference"]
    assert legal_basis("f", point, law="Wet BIG Art. 88") == {}


def test_both_articles_needing_a_law_are_named_in_one_message():
    problems = legal_basis("e", "j")
    assert "Art. 6(1)(e)" in problems["law_reference"]
    assert "Art. 9(2)(j)" in problems["law_reference"]


@pytest.mark.parametrize("a6", ["a", "b", "d", "f"])
@pytest.mark.parametrize("a9", [None, "a", "b", "c", "d", "e", "f"])
def test_other_points_need_no_law_reference(a6, a9):
    assert legal_basis(a6, a9) == {}


def test_a_legal_basis_without_an_art6_ground_is_rejected():
    problems = legal_basis(None, "j", law="UAVG")
    assert set(problems) == {"article6"}
    assert "Art. 6(1)" in problems["article6"]


# --- datasets ---------------------------------------------------------------------------------
def dataset(**overrides):
    fields = {
        "species": "human",
        "publishing": True,
        "has_consent_scope": True,
        "legal_basis_has_art9": True,
        "legal_basis_consent_based": False,
    }
    return rules.dataset_problems(**{**fields, **overrides})


def test_published_human_dataset_with_art9_condition_is_coherent():
    assert dataset() == {}


@pytest.mark.parametrize("has_art9", [False, None])
def test_published_human_dataset_needs_an_art9_condition(has_art9):
    problems = dataset(legal_basis_has_art9=has_art9)
    assert set(problems) == {"legal_basis"}
    assert "Art. 9" in problems["legal_basis"]


def test_human_draft_may_lack_its_legal_basis_until_published():
    assert dataset(publishing=False, legal_basis_has_art9=None) == {}


def test_animal_dataset_needs_no_legal_basis_even_when_published():
    assert dataset(species="animal", legal_basis_has_art9=None, has_consent_scope=False) == {}


def test_consent_based_legal_basis_requires_a_consent_scope():
    problems = dataset(legal_basis_consent_based=True, has_consent_scope=False, publishing=False)
    assert set(problems) == {"consent_scope"}
    assert "Art. 6(1)(a)" in problems["consent_scope"]
    assert "Art. 9(2)(a)" in problems["consent_scope"]


def test_consent_based_legal_basis_with_a_consent_scope_is_coherent():
    assert dataset(legal_basis_consent_based=True) == {}
