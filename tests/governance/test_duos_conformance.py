"""Tessera's consent-matching engine against DUOS v4, the Broad Institute's data use matcher.

One row per test of DUOS's `DataUseMatcherV4Test` (all 33, named by the Java method), plus rows for
cases of DUOS's `docs/Algorithms.md` (Version 4) that those tests leave out ("Algorithms.md v4:
...") and for answers read off DUOS's code by hand ("DataUseMatchCasesV4: ..."). Each row gives
DUOS's answer; Tessera must give the same one (DUOS's "abstain" is Tessera's "review") unless the
row names a documented difference, an anchor in docs/consent-matching.md, in which case Tessera
must still differ (so a stale mark fails).

Sources, in DataBiosphere/consent-ontology: src/main/java/.../datause/DataUseMatcherV4.java,
DataUseMatchCasesV4.java, src/test/java/.../datause/DataUseMatcherV4Test.java, docs/Algorithms.md.

Translation of DUOS's `DataUseV4` (one type for both the dataset and the purpose) into Tessera's:

  Dataset (-> ConsentInput)
    generalUse / hmbResearch / populationOriginsAncestry -> permission GRU / HMB / POA
    diseaseRestrictions [X, ...]          -> permission DS with diseases {X, ...}
    no primary term (the NPU-only tests)  -> GRU
    nonProfitUse true / false             -> modifier NPU / no modifier
  Purpose (-> Purpose)
    diseaseRestrictions [X, ...]          -> Purpose(diseases={X, ...})
    hmbResearch, or no primary term       -> Purpose() (general health research)
    generalUse                            -> Purpose(non_health=True) (research beyond health)
    populationOriginsAncestry             -> Purpose(population_ancestry=True)
    methodsResearch                       -> Purpose(methods_development=True)
    nonProfitUse true / false             -> for_profit_organisation False / True
    other, secondaryOther                 -> Purpose(other="...")
    ethicsApprovalRequired                -> dataset modifier IRB; the purpose states no approval
    collaboratorRequired                  -> dataset modifier COL
    gender / pediatric / population       -> one_gender / children / restricted_population
    controls, vulnerablePopulations, illegalBehavior, sexualDiseases, psychologicalTraits,
    notHealth, stigmatizeDiseases         -> controls, vulnerable_populations, illegal_behaviour,
                                             sexual_diseases, psychological_traits, non_health,
                                             stigmatising_diseases
  Disease terms: DOID_162 (cancer) and DOID_10155 (intestinal cancer) as the CURIEs DOID:162 and
  DOID:10155; the ancestors are the parents the Java test mocks, each term including itself.

Pure engine, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from governance import matching
from governance.matching import ConsentInput, Outcome, Purpose

DOCS = Path(__file__).resolve().parents[2] / "docs" / "consent-matching.md"

CANCER = "DOID:162"
INTESTINAL_CANCER = "DOID:10155"
# The parents DataUseMatcherV4Test mocks for its autocomplete service, each term with itself.
ANCESTORS: dict[str, frozenset[str]] = {
    INTESTINAL_CANCER: frozenset(
        {INTESTINAL_CANCER, "DOID:3119", "DOID:0050686", CANCER, "DOID:14566", "DOID:4"}
    ),
    CANCER: frozenset({CANCER, "DOID:14566", "DOID:4"}),
}

# Every @Test method of DataUseMatcherV4Test.java, as in the Java file.
DUOS_V4_TESTS = (
    "testDiseaseMatching_positive",
    "testDiseaseMatching_negative",
    "testHMB_positive_case_1",
    "testHMB_positive_case_2",
    "testHMB_negative_case_1",
    "testHMB_negative_case_2",
    "testHMB_negative_case_3",
    "testPOA_positive_case_1",
    "testPOA_positive_case_2",
    "testPOA_negative_case_1",
    "testPOA_negative_case_2",
    "testMDS_positive_case_1",
    "testMDS_positive_case_2",
    "testMDS_positive_case_3",
    "testMDS_positive_case_4",
    "testNPU_positive_case_1",
    "testNPU_positive_case_2",
    "testNPU_positive_case_3",
    "testNPU_negative_case_1",
    "testAbstainDecision_COL",
    "testAbstainDecision_Other",
    "testAbstainDecision_SecondaryOther",
    "testAbstainDecision_ethicsApprovalRequired",
    "testAbstainDecision_controls",
    "testAbstainDecision_population",
    "testAbstainDecision_gender",
    "testAbstainDecision_pediatric",
    "testAbstainDecision_vulnerablePopulations",
    "testAbstainDecision_illegalBehavior",
    "testAbstainDecision_sexualDiseases",
    "testAbstainDecision_psychologicalTraits",
    "testAbstainDecision_notHealth",
    "testAbstainDecision_stigmatizedDiseases",
)
EXTRA_PREFIXES = ("Algorithms.md v4: ", "DataUseMatchCasesV4: ")

# DUOS's answer -> Tessera's outcome for the same judgement.
DUOS_TO_TESSERA = {"approve": Outcome.APPROVE, "deny": Outcome.DENY, "abstain": Outcome.REVIEW}


@dataclass(frozen=True)
class Row:
    name: str  # the DUOS test method, or "Algorithms.md v4: ..." / "DataUseMatchCasesV4: ..."
    consent: ConsentInput
    purpose: Purpose
    duos: str  # approve / deny / abstain
    difference: str = ""  # anchor in docs/consent-matching.md when Tessera answers otherwise


def dataset(permission: str, *modifiers: str, **fields) -> ConsentInput:
    return ConsentInput(
        permission=matching.CURIE_BY_SHORTHAND[permission],
        modifiers=frozenset(matching.CURIE_BY_SHORTHAND[m] for m in modifiers),
        diseases=frozenset(fields.pop("diseases", ())),
        region=frozenset(fields.pop("region", ())),
        **fields,
    )


def wants(*diseases: str, **flags) -> Purpose:
    return Purpose(diseases=frozenset(diseases), **flags)


GRU, HMB, POA = dataset("GRU"), dataset("HMB"), dataset("POA")
DS_CANCER = dataset("DS", diseases={CANCER})
HEALTH = wants()  # DUOS purpose hmbResearch=true (or no primary term)
BEYOND_HEALTH = wants(non_health=True)  # DUOS purpose generalUse=true
ANCESTRY = wants(population_ancestry=True)
METHODS = wants(methods_development=True)


def sensitive(java: str, flag: str) -> Row:
    """testAbstainDecision_<x>: purpose hmbResearch + the flag, dataset hmbResearch."""
    return Row(java, HMB, wants(**{flag: True}), "abstain")


ROWS: list[Row] = [
    # --- DataUseMatcherV4Test: diseases -----------------------------------------------------
    Row("testDiseaseMatching_positive", DS_CANCER, wants(INTESTINAL_CANCER), "approve"),
    Row(
        "testDiseaseMatching_negative",
        dataset("DS", diseases={INTESTINAL_CANCER}),
        wants(CANCER),
        "deny",
    ),
    # --- HMB purpose (Tessera: general health research) ---------------------------------------
    Row("testHMB_positive_case_1", GRU, HEALTH, "approve"),
    Row("testHMB_positive_case_2", HMB, HEALTH, "approve"),
    Row("testHMB_negative_case_1", HMB, BEYOND_HEALTH, "deny"),
    Row("testHMB_negative_case_2", DS_CANCER, HEALTH, "deny"),
    Row("testHMB_negative_case_3", POA, HEALTH, "deny"),
    # --- POA purpose ----------------------------------------------------------------------------
    Row("testPOA_positive_case_1", GRU, ANCESTRY, "approve"),
    Row("testPOA_positive_case_2", POA, ANCESTRY, "approve"),
    Row("testPOA_negative_case_1", HMB, ANCESTRY, "deny"),
    Row("testPOA_negative_case_2", DS_CANCER, ANCESTRY, "deny"),
    # --- methods development --------------------------------------------------------------------
    Row("testMDS_positive_case_1", GRU, METHODS, "approve"),
    Row("testMDS_positive_case_2", POA, METHODS, "approve"),
    Row("testMDS_positive_case_3", DS_CANCER, METHODS, "approve"),
    Row("testMDS_positive_case_4", HMB, METHODS, "approve"),
    # --- non-profit use (datasets with no primary term: GRU) ------------------------------------
    Row("testNPU_positive_case_1", dataset("GRU", "NPU"), wants(for_profit_organisation=False), "approve"),
    Row("testNPU_positive_case_2", GRU, wants(for_profit_organisation=True), "approve"),
    Row("testNPU_positive_case_3", GRU, wants(for_profit_organisation=False), "approve"),
    Row("testNPU_negative_case_1", dataset("GRU", "NPU"), wants(for_profit_organisation=True), "deny"),
    # --- abstain: the purpose carries no primary term in these four Java tests -----------------
    Row("testAbstainDecision_COL", dataset("HMB", "COL"), HEALTH, "abstain", difference="diff-obligations"),
    Row("testAbstainDecision_Other", HMB, wants(other="other"), "abstain"),
    Row("testAbstainDecision_SecondaryOther", HMB, wants(other="secondary other"), "abstain"),
    Row("testAbstainDecision_ethicsApprovalRequired", dataset("HMB", "IRB"), HEALTH, "abstain"),
    # --- abstain: sensitive research (purpose hmbResearch + the flag) ---------------------------
    sensitive("testAbstainDecision_controls", "controls"),
    sensitive("testAbstainDecision_population", "restricted_population"),
    sensitive("testAbstainDecision_gender", "one_gender"),
    sensitive("testAbstainDecision_pediatric", "children"),
    sensitive("testAbstainDecision_vulnerablePopulations", "vulnerable_populations"),
    sensitive("testAbstainDecision_illegalBehavior", "illegal_behaviour"),
    sensitive("testAbstainDecision_sexualDiseases", "sexual_diseases"),
    sensitive("testAbstainDecision_psychologicalTraits", "psychological_traits"),
    # Tessera's HMB denies research not related to health, and a deny outranks a review.
    Row("testAbstainDecision_notHealth", HMB, BEYOND_HEALTH, "abstain", difference="diff-combination"),
    sensitive("testAbstainDecision_stigmatizedDiseases", "stigmatising_diseases"),
    # --- Algorithms.md v4, rule table: rows the Java tests leave out -----------------------------
    Row("Algorithms.md v4: DS-X purpose, GRU dataset", GRU, wants(INTESTINAL_CANCER), "approve"),
    Row("Algorithms.md v4: DS-X purpose, HMB dataset", HMB, wants(INTESTINAL_CANCER), "approve"),
    Row("Algorithms.md v4: DS-X purpose, POA dataset", POA, wants(INTESTINAL_CANCER), "deny"),
    Row("Algorithms.md v4: DS-X purpose, DS-X dataset, same term", DS_CANCER, wants(CANCER), "approve"),
    Row("Algorithms.md v4: MDS purpose within DS-X, DS-X dataset", DS_CANCER,
        wants(INTESTINAL_CANCER, methods_development=True), "approve"),
    Row("Algorithms.md v4: MDS purpose within DS-X, DS-X dataset with NMDS",
        dataset("DS", "NMDS", diseases={CANCER}),
        wants(INTESTINAL_CANCER, methods_development=True), "approve"),
    # DUOS v4 has no NMDS (DataUseV4 has no field for it): the dataset is plain DS-X to DUOS.
    Row("Algorithms.md v4: MDS purpose, DS-X dataset with NMDS",
        dataset("DS", "NMDS", diseases={CANCER}), METHODS, "approve", difference="diff-nmds"),
    # --- Algorithms.md v4, "Abstain from Decision" -----------------------------------------------
    Row("Algorithms.md v4: Other, with a primary purpose", HMB, wants(other="study of X"), "abstain"),
    Row("Algorithms.md v4: GS, no country stated", dataset("HMB", "GS", region={"EU"}), HEALTH, "abstain"),
    Row("Algorithms.md v4: GS, country inside the region",
        dataset("HMB", "GS", region={"EU"}), wants(country="FR"), "abstain", difference="diff-gs"),
    Row("Algorithms.md v4: GS, country outside the region",
        dataset("HMB", "GS", region={"EU"}), wants(country="US"), "abstain", difference="diff-gs"),
    Row("Algorithms.md v4: MOR, no end date recorded", dataset("HMB", "MOR"), HEALTH, "abstain"),
    Row("Algorithms.md v4: MOR, end date recorded",
        dataset("HMB", "MOR", moratorium_until=date(2027, 6, 30)), HEALTH, "abstain",
        difference="diff-obligations"),
    Row("Algorithms.md v4: GSO, genetic study",
        dataset("HMB", "GSO"), wants(genetic_study=True), "abstain", difference="diff-gso"),
    Row("Algorithms.md v4: GSO, not a genetic study",
        dataset("HMB", "GSO"), HEALTH, "abstain", difference="diff-gso"),
    Row("Algorithms.md v4: PUB", dataset("HMB", "PUB"), HEALTH, "abstain", difference="diff-obligations"),
    Row("Algorithms.md v4: IRB, ethics approval stated",
        dataset("HMB", "IRB"), wants(ethics_approval=True), "abstain", difference="diff-irb"),
    Row("Algorithms.md v4: alcohol or drug abuse", HMB, wants(illegal_behaviour=True), "abstain"),
    Row("Algorithms.md v4: population origins or migration patterns, GRU dataset",
        GRU, wants(population_ancestry=True, restricted_population=True), "abstain"),
    Row("Algorithms.md v4: ethnicity, race or gender beyond health, GRU dataset",
        GRU, BEYOND_HEALTH, "abstain"),
    # --- DUOS's code, traced by hand (DataUseMatchCasesV4 + DataUseMatcherV4) -------------------
    # Purpose generalUse: matchDiseases approves a DS-X dataset when the purpose names no disease,
    # matchHMB short-circuits when neither side sets hmbResearch, matchPOA when the purpose has no
    # POA clause; abstainDecision then re-runs matchHMB, which approves.
    Row("DataUseMatchCasesV4: GRU purpose, GRU dataset", GRU, BEYOND_HEALTH, "approve",
        difference="diff-gru-purpose"),
    Row("DataUseMatchCasesV4: GRU purpose, DS-X dataset", DS_CANCER, BEYOND_HEALTH, "approve",
        difference="diff-gru-purpose"),
    Row("DataUseMatchCasesV4: GRU purpose, POA dataset", POA, BEYOND_HEALTH, "approve",
        difference="diff-gru-purpose"),
    # A purpose with only nonProfitUse set: the same short-circuits, then matchNonProfitUse.
    Row("DataUseMatchCasesV4: NPU-only purpose, DS-X dataset", DS_CANCER,
        wants(for_profit_organisation=False), "approve", difference="diff-no-primary-purpose"),
    Row("DataUseMatchCasesV4: NPU-only purpose, POA dataset", POA,
        wants(for_profit_organisation=False), "approve", difference="diff-no-primary-purpose"),
    Row("DataUseMatchCasesV4: NPU-only purpose, HMB dataset", HMB,
        wants(for_profit_organisation=False), "approve"),
    # A purpose with several primary terms: every matcher must approve.
    Row("DataUseMatchCasesV4: DS-X and POA purpose, HMB dataset", HMB,
        wants(INTESTINAL_CANCER, population_ancestry=True), "deny"),
    Row("DataUseMatchCasesV4: DS-X and POA purpose, POA dataset", POA,
        wants(INTESTINAL_CANCER, population_ancestry=True), "deny"),
    Row("DataUseMatchCasesV4: MDS and POA purpose, POA dataset", POA,
        wants(methods_development=True, population_ancestry=True), "approve"),
    Row("DataUseMatchCasesV4: two diseases, one outside the DS-X dataset",
        DS_CANCER, wants(INTESTINAL_CANCER, "DOID:4"), "deny"),
    # An abstain outranks a deny in DUOS; in Tessera a deny outranks a review.
    Row("DataUseMatchCasesV4: POA purpose with a sensitive flag, HMB dataset", HMB,
        wants(population_ancestry=True, children=True), "abstain", difference="diff-combination"),
    # DataUseV4 has no field for these modifiers: DUOS sees the dataset without them.
    Row("DataUseMatchCasesV4: NCU dataset, commercial purpose", dataset("HMB", "NCU"),
        wants(commercial=True), "approve", difference="diff-unmodelled-modifiers"),
    Row("DataUseMatchCasesV4: NPUNCU dataset, commercial purpose", dataset("HMB", "NPUNCU"),
        wants(commercial=True, for_profit_organisation=False), "approve",
        difference="diff-unmodelled-modifiers"),
    Row("DataUseMatchCasesV4: NPOA dataset, POA purpose", dataset("GRU", "NPOA"), ANCESTRY,
        "approve", difference="diff-unmodelled-modifiers"),
    Row("DataUseMatchCasesV4: no CC, clinical care purpose", HMB, wants(clinical_care=True),
        "approve", difference="diff-unmodelled-modifiers"),
    Row("DataUseMatchCasesV4: TS of 12 months, 24 months requested", dataset("HMB", "TS", months=12),
        wants(months=24), "approve", difference="diff-unmodelled-modifiers"),
    Row("DataUseMatchCasesV4: RTN", dataset("HMB", "RTN"), HEALTH, "approve"),
    Row("DataUseMatchCasesV4: US", dataset("HMB", "US", named_users=("A. Researcher",)), HEALTH,
        "approve", difference="diff-named-restrictions"),
    Row("DataUseMatchCasesV4: PS", dataset("HMB", "PS"), HEALTH, "approve",
        difference="diff-named-restrictions"),
    Row("DataUseMatchCasesV4: IS", dataset("HMB", "IS"), HEALTH, "approve",
        difference="diff-named-restrictions"),
    Row("DataUseMatchCasesV4: RS", dataset("HMB", "RS"), HEALTH, "approve",
        difference="diff-named-restrictions"),
]  # fmt: skip


def decision(row: Row) -> Outcome:
    verdict = matching.evaluate(
        row.consent, row.purpose, ancestors=lambda c: ANCESTORS.get(c, frozenset({c}))
    )
    return verdict.decision


def _slug(heading: str) -> str:
    """GitHub's heading id: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def doc_anchors() -> set[str]:
    text = DOCS.read_text(encoding="utf-8")
    explicit = set(re.findall(r"""<a\s+id=["']([^"']+)["']""", text))
    headings = {_slug(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, flags=re.M)}
    return explicit | headings


@pytest.mark.parametrize("row", [pytest.param(r, id=r.name) for r in ROWS])
def test_tessera_answers_as_duos_or_as_documented(row):
    expected = DUOS_TO_TESSERA[row.duos]
    got = decision(row)
    if not row.difference:
        assert got == expected, f"{row.name}: DUOS {row.duos}, Tessera {got}"
    else:
        assert got != expected, (
            f"{row.name}: marked as difference {row.difference!r}, but Tessera now answers as "
            f"DUOS ({got}); drop the mark (and the docs' claim if nothing else cites it)"
        )
        assert row.difference in doc_anchors(), (
            f"{row.name}: {row.difference!r} is no anchor in {DOCS.name}"
        )


def test_rows_cover_every_duos_v4_matcher_test():
    assert len(DUOS_V4_TESTS) == len(set(DUOS_V4_TESTS)) == 33
    names = [r.name for r in ROWS]
    assert len(names) == len(set(names)), "two rows share a name"
    java = [n for n in names if not n.startswith(EXTRA_PREFIXES)]
    assert set(java) == set(DUOS_V4_TESTS)
    assert len(java) == 33


def test_zero_undocumented_differences():
    undocumented = [
        f"{r.name}: DUOS {r.duos}, Tessera {decision(r)}"
        for r in ROWS
        if not r.difference and decision(r) != DUOS_TO_TESSERA[r.duos]
    ]
    assert undocumented == [], "\n".join(undocumented)


def test_every_documented_difference_is_shown_by_a_row():
    """Each `diff-` anchor of the docs is exercised by at least one row, so no claim is untested."""
    documented = {a for a in doc_anchors() if a.startswith("diff-")}
    cited = {r.difference for r in ROWS if r.difference}
    assert documented - cited == set()
    assert cited <= documented


def test_every_answer_is_one_duos_gives():
    assert {r.duos for r in ROWS} <= DUOS_TO_TESSERA.keys()
