"""The demo world as data: the people, organisations, committees, legal bases, consent scopes,
datasets and access requests that `manage.py seed_demo` builds (see `demo.world`).

A pure data module: literals and the record types that hold them; no logic, no database, no
Django. It is long (over 600 lines) because the world is large; the code that builds it stays
short in `demo.world`, `demo.logins` and the command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from governance.choices import CommitteeRole, DecisionPolicy, Species
from governance.choices import DatasetStatus as Status

AUDITORS_GROUP = "auditors"


# --- the people -------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    where: str  # "portal" or "admin"
    is_staff: bool = False
    is_superuser: bool = False
    groups: tuple[str, ...] = ()


DEMO_USERS = [
    DemoUser("researcher", "Elena", "Rossi", "researcher (files access requests)", "portal"),
    DemoUser("researcher2", "Jonas", "Becker", "researcher (team member, co-applicant)", "portal"),
    DemoUser("chair", "Marieke", "Jansen", "chair, BIGPICTURE Human Pathology DAC", "admin", True),
    DemoUser("member", "Tomasz", "Nowak", "member, BIGPICTURE Human Pathology DAC", "admin", True),
    DemoUser(
        "secretary",
        "Claire",
        "Dubois",
        "secretary, BIGPICTURE Human Pathology DAC",
        "admin",
        True,
    ),
    DemoUser("chair2", "Erik", "Johansson", "chair, Nordic Pathology DAC", "admin", True),
    DemoUser("member2", "Aino", "Virtanen", "member, Nordic Pathology DAC", "admin", True),
    DemoUser(
        "toxpath",
        "Katrin",
        "Hoffmann",
        "member (single decider), Preclinical Toxicologic Pathology DAC",
        "admin",
        True,
    ),
    DemoUser(
        "steward",
        "Pieter",
        "van Dijk",
        "data steward, Radboud University Medical Center",
        "admin",
        True,
    ),
    DemoUser(
        "auditor",
        "Ingrid",
        "Maes",
        "auditor / DPO (reads the audit ledger)",
        "admin",
        True,
        groups=(AUDITORS_GROUP,),
    ),
    DemoUser("outsider", "Oscar", "Nilsson", "no roles at all", "portal"),
    DemoUser("admin", "Site", "Administrator", "superuser", "admin", True, True),
]


# --- organisations (BIGPICTURE consortium partners) ------------------------------------------
ORGANISATIONS: dict[str, dict[str, str]] = {
    "radboudumc": {
        "name": "Radboud University Medical Center",
        "country": "NL",
        "ror_id": "05wg1m734",
        "dpo_name": "Privacy Office Radboudumc",
        "dpo_email": "dpo.radboudumc@example.org",
    },
    "leeds": {
        "name": "Leeds Teaching Hospitals NHS Trust",
        "country": "GB",
        "dpo_name": "Information Governance, Leeds Teaching Hospitals",
        "dpo_email": "dpo.leeds@example.org",
    },
    "graz": {
        "name": "Medical University of Graz",
        "country": "AT",
        "dpo_name": "Datenschutzbeauftragte, Med Uni Graz",
        "dpo_email": "dpo.medunigraz@example.org",
    },
    "linkoping": {
        "name": "Linköping University",
        "country": "SE",
        "dpo_name": "Dataskyddsombud, Linköpings universitet",
        "dpo_email": "dpo.liu@example.org",
    },
    "hus": {
        "name": "Helsinki University Hospital (HUS)",
        "country": "FI",
        "dpo_name": "HUS tietosuojavastaava",
        "dpo_email": "dpo.hus@example.org",
    },
    "bayer": {
        "name": "Bayer AG",
        "country": "DE",
        "dpo_name": "Group Data Protection Officer, Bayer",
        "dpo_email": "dpo.bayer@example.org",
    },
    "janssen": {
        "name": "Janssen Pharmaceutica NV",
        "country": "BE",
        "dpo_name": "Data Protection Officer, Janssen",
        "dpo_email": "dpo.janssen@example.org",
    },
    "pasteur": {
        "name": "Institut Pasteur",
        "country": "FR",
        "dpo_name": "Délégué à la protection des données, Institut Pasteur",
        "dpo_email": "dpo.pasteur@example.org",
    },
}
STEWARDS = {"steward": "radboudumc"}


# --- committees -------------------------------------------------------------------------------
COMMITTEES: dict[str, dict[str, Any]] = {
    "bigpicture-human-dac": {
        "name": "BIGPICTURE Human Pathology DAC",
        "organisation": "radboudumc",
        "contact_email": "dac-human@example.org",
        "description": "Decides on access to slides of human patients contributed by "
        "Radboudumc, Leeds and Graz. The chair decides after the members' review.",
        "decision_policy": DecisionPolicy.CHAIR_DECIDES,
        "quorum": 1,
        "requires_ethics_approval": True,
        "members": {
            "chair": CommitteeRole.CHAIR,
            "member": CommitteeRole.MEMBER,
            "secretary": CommitteeRole.SECRETARY,
        },
    },
    "nordic-pathology-dac": {
        "name": "Nordic Pathology DAC",
        "organisation": "linkoping",
        "contact_email": "dac-nordic@example.org",
        "description": "Decides on access to slides contributed by Linköping University and "
        "Helsinki University Hospital, by majority vote with a quorum of two.",
        "decision_policy": DecisionPolicy.MAJORITY,
        "quorum": 2,
        "requires_ethics_approval": True,
        "members": {"chair2": CommitteeRole.CHAIR, "member2": CommitteeRole.MEMBER},
    },
    "preclinical-tox-dac": {
        "name": "Preclinical Toxicologic Pathology DAC",
        "organisation": "bayer",
        "contact_email": "dac-preclinical@example.org",
        "description": "Decides on access to laboratory-animal slides from toxicology and "
        "infection studies. Any one member may decide.",
        "decision_policy": DecisionPolicy.SINGLE_DECIDER,
        "quorum": 1,
        # The animal studies were approved under Directive 2010/63/EU when they were run;
        # reusing their slides needs no new ethics approval.
        "requires_ethics_approval": False,
        "members": {"toxpath": CommitteeRole.MEMBER},
    },
}

AGREEMENT_TEXT = """\
1. Purpose. The Recipient uses the data only for the research purpose approved by the \
{committee}, and only for the period stated in the approval.
2. No re-identification. The Recipient makes no attempt to identify any person (or, for \
animal data, to link it to unpublished study codes) and links the data with no other data \
unless the approval says so.
3. Security. The data stays within the Recipient's approved environment; access tokens are \
personal and are never shared.
4. Team. Every team member accepts this agreement in this exact version before receiving access.
5. Publication. Publications acknowledge the BIGPICTURE repository and the contributing \
institutions, and respect any publication moratorium attached to the data.
6. Incidents. The Recipient reports any suspected breach to the committee within 24 hours.
7. End of access. When the approval ends or is revoked, the Recipient deletes all copies and \
confirms the deletion in writing.
"""


# --- legal bases ------------------------------------------------------------------------------
LEGAL_BASES: dict[str, dict[str, str | None]] = {
    "consent": {
        "name": "Explicit consent for research — Art. 6(1)(a) + Art. 9(2)(a)",
        "a6": "a",
        "a9": "a",
        "law_reference": "",
        "notes": "Broad consent collected by the biobank; withdrawal must be honoured.",
    },
    "nl-research": {
        "name": "Scientific research, Netherlands — Art. 6(1)(e) + Art. 9(2)(j)",
        "a6": "e",
        "a9": "j",
        "law_reference": "Uitvoeringswet AVG (UAVG), art. 24; Burgerlijk Wetboek art. 7:458 "
        "(WGBO, research without consent where asking is impracticable)",
    },
    "uk-research": {
        "name": "Health research, United Kingdom — Art. 6(1)(e) + Art. 9(2)(j)",
        "a6": "e",
        "a9": "j",
        "law_reference": "UK GDPR with the Data Protection Act 2018, Schedule 1, Part 1, "
        "paragraph 4 (archiving, research and statistics)",
    },
    "uk-care": {
        "name": "Diagnostic quality assurance, United Kingdom — Art. 6(1)(e) + Art. 9(2)(h)",
        "a6": "e",
        "a9": "h",
        "law_reference": "Data Protection Act 2018, Schedule 1, Part 1, paragraph 2 "
        "(health or social care purposes)",
    },
    "se-research": {
        "name": "Approved research, Sweden — Art. 6(1)(e) + Art. 9(2)(j)",
        "a6": "e",
        "a9": "j",
        "law_reference": "Lag (2003:460) om etikprövning av forskning som avser människor; "
        "Lag (2018:218) med kompletterande bestämmelser till EU:s dataskyddsförordning",
    },
    "fi-secondary-use": {
        "name": "Secondary use of health data, Finland — Art. 6(1)(e) + Art. 9(2)(j)",
        "a6": "e",
        "a9": "j",
        "law_reference": "Act on the Secondary Use of Health and Social Data (552/2019); "
        "Biobank Act (688/2012)",
    },
}


# --- consent scopes ---------------------------------------------------------------------------
CONSENT_SCOPES: dict[str, dict[str, Any]] = {
    "nres": {"name": "No restriction (NRES)", "permission": "NRES"},
    "gru-ncu": {
        "name": "General research use, non-commercial (GRU-NCU)",
        "permission": "GRU",
        "modifiers": ["NCU"],
    },
    "gru-eu-24m": {
        "name": "General research use in the EU, 24 months (GRU-GS-TS)",
        "permission": "GRU",
        "modifiers": ["GS", "TS"],
        "region": ["EU"],
        "time_limit_months": 24,
    },
    "gru-col": {
        "name": "General research use, collaboration required (GRU-COL)",
        "permission": "GRU",
        "modifiers": ["COL"],
    },
    "hmb-irb-pub": {
        "name": "Health/medical research, ethics approval and publication (HMB-IRB-PUB)",
        "permission": "HMB",
        "modifiers": ["IRB", "PUB"],
    },
    "cancer-npu": {
        "name": "Cancer research, not-for-profit organisations (DS-NPU)",
        "permission": "DS",
        "modifiers": ["NPU"],
        "diseases": ["DOID:162"],
    },
    "lung-cancer-col": {
        "name": "Lung cancer research, collaboration and ethics approval (DS-COL-IRB)",
        "permission": "DS",
        "modifiers": ["COL", "IRB"],
        "diseases": ["DOID:1324"],
    },
    "colorectal-eu": {
        "name": "Colorectal cancer research in the EU (DS-GS)",
        "permission": "DS",
        "modifiers": ["GS"],
        "diseases": ["DOID:9256"],
        "region": ["EU"],
    },
    "breast-cancer-mor": {
        "name": "Breast cancer research, publication moratorium (DS-MOR-PUB)",
        "permission": "DS",
        "modifiers": ["MOR", "PUB"],
        "diseases": ["DOID:1612"],
        "moratorium_until": date(2027, 6, 30),
    },
    "ibd-nmds": {
        "name": "Inflammatory bowel disease research, no methods development (DS-NMDS)",
        "permission": "DS",
        "modifiers": ["NMDS"],
        "diseases": ["DOID:0050589"],
    },
    "kidney-disease": {
        "name": "Kidney disease research (DS)",
        "permission": "DS",
        "diseases": ["DOID:784", "DOID:2986"],
    },
    "poa-irb": {
        "name": "Population origins or ancestry research, ethics approval (POA-IRB)",
        "permission": "POA",
        "modifiers": ["IRB"],
    },
}


# --- datasets ---------------------------------------------------------------------------------
HUMAN, NORDIC, PRECLINICAL = "bigpicture-human-dac", "nordic-pathology-dac", "preclinical-tox-dac"
NANOZOOMER = "Hamamatsu NanoZoomer S360"
PANNORAMIC = "3DHISTECH Pannoramic 1000"
PHILIPS = "Philips IntelliSite Ultra Fast Scanner"
GT450 = "Leica Aperio GT 450"
AT2 = "Leica Aperio AT2"
DP200 = "Roche Ventana DP 200"
AXIOSCAN = "Zeiss Axioscan 7"
RETIRED_REASON = "Superseded by the 40x re-scan of the same slides (better focus, fewer artefacts)."
ANIMAL = Species.ANIMAL
DRAFT, RETIRED = Status.DRAFT, Status.RETIRED


class DemoDataset(NamedTuple):
    """One dataset: `demo.world.datasets` makes its storage location from its title and
    controller, and its size from its slides; a retired one is published first."""

    title: str
    controller: str  # a key of ORGANISATIONS
    committee: str  # a key of COMMITTEES
    organ: str
    stains: str
    scanner: str
    slides: int
    gb_per_slide: float
    scope: str | None  # a key of CONSENT_SCOPES
    basis: str | None  # a key of LEGAL_BASES; None for animals (not personal data)
    retention: date | None
    status: str = Status.PUBLISHED
    species: str = Species.HUMAN
    description: str = ""


# Rows: title, controller, committee, organ, stains, scanner, slides, GB a slide, consent scope,
# legal basis, retained until; then status, species and description where they apply.
DATASETS: list[DemoDataset] = [
    # Radboudumc
    DemoDataset(
        "Lung adenocarcinoma resections, H&E and PD-L1", "radboudumc", HUMAN, "lung",
        "H&E, IHC PD-L1 (22C3)", NANOZOOMER, 1840, 2.1, "lung-cancer-col", "nl-research",
        date(2040, 12, 31),
        description="Surgical resections 2012-2020 with tumour proportion scores.",
    ),
    DemoDataset(
        "Prostate core needle biopsies with Gleason grading", "radboudumc", HUMAN, "prostate",
        "H&E", PANNORAMIC, 5160, 0.9, "cancer-npu", "nl-research", date(2038, 12, 31),
        description="Biopsies graded by expert uropathologists (ISUP grade groups).",
    ),
    DemoDataset(
        "Breast cancer sentinel lymph nodes, H&E and CK8/18", "radboudumc", HUMAN, "lymph node",
        "H&E, IHC cytokeratin CK8/18", PANNORAMIC, 1399, 1.7, "breast-cancer-mor", "consent",
        date(2036, 6, 30),
        description="Sentinel nodes with metastasis annotations by two pathologists.",
    ),
    DemoDataset(
        "Kidney transplant biopsies, PAS and Jones silver", "radboudumc", HUMAN, "kidney",
        "PAS, Jones silver, H&E", PHILIPS, 720, 1.2, "kidney-disease", "nl-research",
        date(2039, 12, 31), description="Protocol and indication biopsies with Banff scores.",
    ),
    DemoDataset(
        "Colorectal polyps, H&E (in preparation)", "radboudumc", HUMAN, "colon", "H&E", NANOZOOMER,
        2400, 1.1, "colorectal-eu", "nl-research", None, status=DRAFT,
        description="Screening programme polyps; annotation still under way.",
    ),
    # Leeds
    DemoDataset(
        "Colorectal cancer resections, H&E, 40x", "leeds", HUMAN, "colon", "H&E", GT450, 3200, 2.4,
        "colorectal-eu", "uk-research", date(2041, 3, 31),
        description="Stage II-III resections with five-year outcome.",
    ),
    DemoDataset(
        "Colorectal cancer resections, H&E, 20x first scan", "leeds", HUMAN, "colon", "H&E", AT2,
        3200, 0.8, "colorectal-eu", "uk-research", date(2041, 3, 31), status=RETIRED,
        description="The first, 20x scan of the Leeds colorectal resections.",
    ),
    DemoDataset(
        "Dermatopathology quality-assurance set, H&E", "leeds", HUMAN, "skin", "H&E", GT450, 2500,
        0.7, "hmb-irb-pub", "uk-care", date(2035, 12, 31),
        description="External quality-assurance circulations of skin excisions.",
    ),
    DemoDataset(
        "Liver biopsies, H&E and Sirius red", "leeds", HUMAN, "liver", "H&E, Picro-Sirius red",
        GT450, 900, 0.9, "gru-ncu", "uk-research", date(2037, 12, 31),
        description="Steatotic liver disease biopsies with fibrosis staging.",
    ),
    # Graz
    DemoDataset(
        "Breast cancer core biopsies, Ki-67 and HER2", "graz", HUMAN, "breast",
        "H&E, IHC Ki-67, IHC HER2", DP200, 2100, 1.3, "cancer-npu", "consent", date(2045, 12, 31),
        description="Biobank cases with hormone receptor and HER2 status.",
    ),
    DemoDataset(
        "Inflammatory bowel disease mucosal biopsies, H&E", "graz", HUMAN, "colon", "H&E",
        PANNORAMIC, 1500, 0.6, "ibd-nmds", "consent", date(2045, 12, 31),
        description="Crohn's disease and ulcerative colitis biopsies with activity scores.",
    ),
    DemoDataset(
        "Gastric adenocarcinoma resections (in preparation)", "graz", HUMAN, "stomach",
        "H&E, IHC HER2", DP200, 640, 1.9, "cancer-npu", "consent", None, status=DRAFT,
    ),
    # Linköping
    DemoDataset(
        "Breast cancer, ER, PR and Ki-67", "linkoping", NORDIC, "breast",
        "H&E, IHC ER, IHC PR, IHC Ki-67", NANOZOOMER, 4200, 1.4, "gru-eu-24m", "se-research",
        date(2040, 12, 31),
        description="Consecutive cases from Region Östergötland with receptor status.",
    ),
    DemoDataset(
        "Melanocytic skin lesions, H&E", "linkoping", NORDIC, "skin", "H&E", GT450, 1600, 0.5,
        "hmb-irb-pub", "se-research", date(2040, 12, 31),
        description="Naevi, dysplastic naevi and melanomas with consensus diagnoses.",
    ),
    DemoDataset(
        "Population-based tissue microarrays, Östergötland biobank", "linkoping", NORDIC,
        "multiple organs", "H&E, IHC panel", NANOZOOMER, 380, 3.2, "poa-irb", "se-research",
        date(2042, 12, 31), description="Tissue microarrays from a regional population cohort.",
    ),
    # HUS
    DemoDataset(
        "Radical prostatectomies, H&E", "hus", NORDIC, "prostate", "H&E", GT450, 1100, 2.6,
        "cancer-npu", "fi-secondary-use", date(2039, 12, 31),
        description="Whole-mount sections with tumour maps.",
    ),
    DemoDataset(
        "Non-small cell lung cancer, H&E and TTF-1", "hus", NORDIC, "lung", "H&E, IHC TTF-1",
        PANNORAMIC, 900, 1.8, "gru-ncu", "fi-secondary-use", date(2039, 12, 31),
    ),
    # Laboratory animals: not personal data, so no GDPR legal basis.
    DemoDataset(
        "Rat liver, 28-day repeat-dose toxicity studies (Wistar Han)", "bayer", PRECLINICAL,
        "liver", "H&E", NANOZOOMER, 12000, 0.8, "gru-col", None, None, species=ANIMAL,
        description="Control and treated groups with hepatocellular hypertrophy, necrosis "
        "and vacuolation findings (INHAND terminology).",
    ),
    DemoDataset(
        "Rat kidney, two-year carcinogenicity studies (Sprague Dawley)", "bayer", PRECLINICAL,
        "kidney", "H&E", NANOZOOMER, 8400, 0.7, "gru-col", None, None, species=ANIMAL,
        description="Chronic progressive nephropathy and renal tubule tumours.",
    ),
    DemoDataset(
        "Mouse liver, toxicology studies (CD-1)", "janssen", PRECLINICAL, "liver", "H&E, IHC Ki-67",
        GT450, 6800, 0.5, "gru-col", None, None, species=ANIMAL,
        description="Hepatocellular hypertrophy and proliferation in 13-week studies.",
    ),
    DemoDataset(
        "Beagle dog heart, cardiotoxicity studies", "janssen", PRECLINICAL, "heart",
        "H&E, Masson's trichrome", GT450, 1900, 1.1, "gru-col", None, None, species=ANIMAL,
        description="Myocardial degeneration and fibrosis findings.",
    ),
    DemoDataset(
        "Mouse lung, influenza infection models", "pasteur", PRECLINICAL, "lung",
        "H&E, IHC influenza A nucleoprotein", AXIOSCAN, 600, 1.5, "nres", None, None,
        species=ANIMAL, description="Time courses of infection in C57BL/6 mice.",
    ),
    DemoDataset(
        "Mouse colon, DSS colitis models", "pasteur", PRECLINICAL, "colon", "H&E, IHC Ki-67",
        AXIOSCAN, 450, 0.9, "nres", None, None, species=ANIMAL,
        description="Dextran sulphate sodium colitis with histological damage scores.",
    ),
]  # fmt: skip


# --- access requests (issue 4) ----------------------------------------------------------------
# Requests in every state, for `researcher` and `researcher2`, across the three committees.
# Each one is a script of the steps the people took, replayed through `access.services` exactly
# as the portal and the admin would call them: the ledger, the object permissions, the consent
# matches, the grants and the outbox e-mails are all real. A request is looked up by its title
# and applicant; if it exists, its script is not replayed.
#
# Steps: ("accept", who) accepts every current agreement of the request; ("submit",),
# ("resubmit",), ("withdraw",) are the applicant's; ("update", {field: value}) edits the answers;
# ("reply", text) is the applicant's message to the committees; ("start", who, committee);
# ("comment", who, committee, "internal" | "public", text); ("vote", who, committee, choice,
# rationale); ("approve", who, committee, conditions); ("reject", who, committee, reason);
# ("return", who, committee, questions).
DemoStep = tuple[Any, ...]


@dataclass(frozen=True)
class DemoRequest:
    """One demo access request: its answers, and the steps its people took."""

    title: str
    applicant: str
    datasets: tuple[str, ...]  # dataset titles
    answers: dict[str, Any]
    diseases: tuple[str, ...] = ()
    team: tuple[str, ...] = ()  # usernames: invited by their address, and accepted
    invited: tuple[str, ...] = ()  # addresses invited whose answer is still pending
    ethics: str = ""  # an ethics approval reference; a generated PDF is uploaded with it
    steps: tuple[DemoStep, ...] = ()


LUNG_TIL_ABSTRACT = (
    "We quantify tumour-infiltrating lymphocytes (TILs) on H&E whole-slide images with a "
    "published, externally validated segmentation model and relate TIL density and PD-L1 "
    "tumour proportion score to response to first-line immunotherapy. No new algorithm is "
    "trained; the analysis is a retrospective cohort study."
)

ACCESS_REQUESTS: list[DemoRequest] = [
    # Approved by two committees: active grants for the applicant and the team member.
    DemoRequest(
        "Tumour-infiltrating lymphocytes and immunotherapy response in lung cancer",
        applicant="researcher",
        team=("researcher2",),
        datasets=(
            "Lung adenocarcinoma resections, H&E and PD-L1",
            "Non-small cell lung cancer, H&E and TTF-1",
        ),
        diseases=("DOID:3908",),
        ethics="METC 2025-0412",
        answers={
            "lay_summary": "Some lung cancers respond well to immunotherapy and others do not. "
            "We count immune cells in tumour tissue to see whether they predict who benefits.",
            "scientific_abstract": LUNG_TIL_ABSTRACT,
            "requested_months": 24,
            "country": "NL",
            "institution": "Radboud University Medical Center",
        },
        steps=(
            ("accept", "researcher"),
            ("accept", "researcher2"),
            ("submit",),
            (
                "comment", "member", HUMAN, "internal",
                "The lung cohort is consented for collaborative research only (COL): the "
                "approval should name the collaboration with our thoracic pathologists.",
            ),
            (
                "vote", "member", HUMAN, "approve",
                "Scientifically sound, ethics approval in place, consent fits (lung cancer, COL).",
            ),
            (
                "approve", "chair", HUMAN,
                "Carried out in collaboration with the Radboudumc thoracic pathology group; "
                "publications name the group's members as co-authors where their criteria are met.",
            ),
            (
                "vote", "chair2", NORDIC, "approve",
                "Non-commercial academic research; fits the consent (GRU-NCU).",
            ),
            ("vote", "member2", NORDIC, "approve", "Agree with the chair."),
            ("approve", "chair2", NORDIC, ""),
            # Amended: the project now also trains its own TIL model (methods development),
            # a changed purpose that both committees with active grants reviewed and approved.
            (
                "amend",
                {"methods_development": True},
                (
                    ("submit",),
                    (
                        "vote", "member", HUMAN, "approve",
                        "Methods development within lung cancer fits the consent.",
                    ),
                    ("approve", "chair", HUMAN, "As before: with the thoracic pathology group."),
                    ("vote", "chair2", NORDIC, "approve", "Fits GRU-NCU."),
                    ("vote", "member2", NORDIC, "approve", "Agree."),
                    ("approve", "chair2", NORDIC, ""),
                ),
            ),
        ),
    ),
    # Approved by a single decider; no ethics approval needed for the animal studies. Its
    # grants end within 60 days, and a renewal waits for the committee.
    DemoRequest(
        "Classifier for INHAND liver findings in rodent toxicity studies",
        applicant="researcher",
        datasets=(
            "Rat liver, 28-day repeat-dose toxicity studies (Wistar Han)",
            "Mouse liver, toxicology studies (CD-1)",
        ),
        answers={
            "lay_summary": "Pathologists look at thousands of liver slides in every drug safety "
            "study. We build software that points them to the slides with findings first.",
            "scientific_abstract": "Weakly supervised multiple-instance learning for "
            "hepatocellular hypertrophy, single-cell necrosis and vacuolation (INHAND), "
            "trained on rat and tested on mouse studies.",
            "methods_development": True,
            "requested_months": 12,
            "country": "DE",
            "institution": "Radboud University Medical Center",
        },
        steps=(
            ("accept", "researcher"),
            ("submit",),
            (
                "comment", "toxpath", PRECLINICAL, "public",
                "Please list the study numbers you use in the methods section of any "
                "publication; the sponsors ask for it.",
            ),
            (
                "approve_for_days", "toxpath", PRECLINICAL, 40,
                "Study codes stay pseudonymous; no attempt to link them to compounds.",
            ),
            # The grants end within 60 days: the applicant asked for more time (a renewal
            # waiting for the committee's decision).
            (
                "renew", 12,
                "The classifier reaches an AUC of 0.91 for hypertrophy on the rat studies; the "
                "mouse validation is half done. Preprint: doi:10.1101/2026.03.14.000001. The "
                "extra year covers the mouse studies and the reader study with three pathologists.",
            ),
        ),
    ),
    # Submitted: nobody on the committee has opened it yet.
    DemoRequest(
        "Gleason grade group prediction from prostate biopsies",
        applicant="researcher",
        datasets=("Prostate core needle biopsies with Gleason grading",),
        diseases=("DOID:10283",),
        ethics="METC 2026-0031",
        answers={
            "lay_summary": "Grading prostate cancer under the microscope is hard and graders "
            "disagree. We test whether a computer can grade as consistently as experts.",
            "scientific_abstract": "Validation of an ISUP grade group model against the "
            "consensus of expert uropathologists on core needle biopsies.",
            "methods_development": True,
            "requested_months": 18,
            "country": "NL",
            "institution": "Radboud University Medical Center",
        },
        steps=(("accept", "researcher"), ("submit",)),
    ),
    # Submitted, sensitive research: children. The consent (HMB-IRB-PUB) allows the purpose,
    # but research on children is always a committee's decision: the verdict is "review".
    DemoRequest(
        "Spitz tumours in children and adolescents: a reference atlas",
        applicant="researcher2",
        datasets=("Melanocytic skin lesions, H&E",),
        diseases=("DOID:8923",),
        ethics="Ethikkommission Charité EA2/031/26",
        answers={
            "lay_summary": "Some moles in children look like melanoma under the microscope but "
            "are harmless. We collect clear examples so that pathologists can tell them apart.",
            "scientific_abstract": "Curated atlas of Spitz naevi, atypical Spitz tumours and "
            "spitzoid melanomas in patients under 18, with consensus diagnoses.",
            "children": True,
            "requested_months": 24,
            "country": "DE",
            "institution": "Charité Universitätsmedizin Berlin",
        },
        steps=(("accept", "researcher2"), ("submit",)),
    ),
    # Under review: one vote of the two the quorum needs.
    DemoRequest(
        "Melanoma or naevus: inter-observer variation and decision support",
        applicant="researcher2",
        datasets=("Melanocytic skin lesions, H&E",),
        diseases=("DOID:8923",),
        ethics="Ethikkommission Charité EA2/118/25",
        answers={
            "lay_summary": "Doctors do not always agree whether a mole is harmless or a "
            "melanoma. We measure how often they disagree and test a support tool.",
            "scientific_abstract": "Reader study with 24 dermatopathologists on 300 lesions, "
            "with and without an AI second opinion.",
            "requested_months": 12,
            "country": "DE",
            "institution": "Charité Universitätsmedizin Berlin",
        },
        steps=(
            ("accept", "researcher2"),
            ("submit",),
            ("start", "member2", NORDIC),
            (
                "vote", "member2", NORDIC, "approve",
                "Health research with an ethics approval and a publication plan (HMB-IRB-PUB).",
            ),
            (
                "comment", "chair2", NORDIC, "internal",
                "I will vote after checking that the Charité approval covers data from abroad.",
            ),
        ),
    ),
    # Returned with a question, waiting for the applicant's answer.
    DemoRequest(
        "Ancestry-associated tissue morphology in a regional cohort",
        applicant="researcher",
        datasets=("Population-based tissue microarrays, Östergötland biobank",),
        ethics="Etikprövningsmyndigheten 2025-04117-01",
        answers={
            "lay_summary": "We study whether tissue looks different in people of different "
            "ancestry, which matters for fair diagnostic software.",
            "scientific_abstract": "Morphometric features of tissue microarray cores compared "
            "across genetically inferred ancestry groups.",
            "population_ancestry": True,
            "requested_months": 24,
            "country": "SE",
            "institution": "Linköping University",
        },
        steps=(
            ("accept", "researcher"),
            ("submit",),
            (
                "return", "chair2", NORDIC,
                "How will ancestry be inferred: from genotypes held by the biobank, or from "
                "self-report? Please also confirm that your ethics approval covers the linkage.",
            ),
        ),
    ),
    # Returned, answered and resubmitted: back with the committee for round 2.
    DemoRequest(
        "Fibrosis staging in steatotic liver disease",
        applicant="researcher2",
        datasets=("Liver biopsies, H&E and Sirius red",),
        diseases=("DOID:0080208",),
        ethics="Leeds East REC 25/YH/0123",
        answers={
            "lay_summary": "Scarring of the liver decides how patients with fatty liver "
            "disease are followed up. We test automatic scoring of the scarring.",
            "scientific_abstract": "Fibrosis staging on Picro-Sirius red with a deep-learning "
            "model compared with two hepatopathologists.",
            "requested_months": 12,
            "country": "GB",
            "institution": "University of Leeds",
        },
        steps=(
            ("accept", "researcher2"),
            ("submit",),
            (
                "return", "chair", HUMAN,
                "Which staging system do the hepatopathologists use (Kleiner or Ishak)? "
                "Is any company involved in developing the model?",
            ),
            (
                "update",
                {
                    "scientific_abstract": "Fibrosis staging (Kleiner, NASH CRN) on Picro-Sirius "
                    "red with a deep-learning model compared with two hepatopathologists. "
                    "Academic project; no company is involved.",
                },
            ),
            (
                "reply",
                "The pathologists use the Kleiner (NASH CRN) system; I added it to the "
                "abstract. No company is involved, and none will be.",
            ),
            ("resubmit",),
        ),
    ),
    # Rejected by majority vote: a commercial purpose against a not-for-profit consent.
    DemoRequest(
        "Validation of a commercial prostate cancer grading product",
        applicant="researcher2",
        datasets=("Radical prostatectomies, H&E",),
        diseases=("DOID:10283",),
        ethics="Ethikkommission Charité EA1/077/25",
        answers={
            "lay_summary": "A company wants to show that its grading software works on "
            "prostate cancer surgery specimens before selling it.",
            "scientific_abstract": "Regulatory validation study of a CE-marked grading "
            "product on whole-mount radical prostatectomy sections.",
            "commercial": True,
            "for_profit_organisation": True,
            "requested_months": 6,
            "country": "DE",
            "institution": "Charité Universitätsmedizin Berlin",
        },
        steps=(
            ("accept", "researcher2"),
            ("submit",),
            (
                "vote", "member2", NORDIC, "reject",
                "The consent is limited to not-for-profit organisations (NPU).",
            ),
            ("vote", "chair2", NORDIC, "reject", "Agreed: outside the consent."),
            (
                "reject", "chair2", NORDIC,
                "The data subjects consented to use by not-for-profit organisations only "
                "(DUO NPU); a commercial validation study is outside that consent.",
            ),
        ),
    ),
    # Withdrawn by the applicant after submitting.
    DemoRequest(
        "Teaching atlas of influenza lung pathology in mice",
        applicant="researcher",
        datasets=("Mouse lung, influenza infection models",),
        answers={
            "lay_summary": "A free online atlas that teaches students what influenza does "
            "to the lung, day by day.",
            "scientific_abstract": "Curated time course of influenza A infection in C57BL/6 "
            "mice for an open educational resource.",
            "requested_months": 6,
            "country": "NL",
            "institution": "Radboud University Medical Center",
        },
        steps=(
            ("accept", "researcher"),
            ("submit",),
            (
                "reply",
                "We found suitable images in an open-access collection, so we no longer need "
                "these. Thank you for your time.",
            ),
            ("withdraw",),
        ),
    ),
    # Drafts, one each: the portal's "what is still missing" checklist has work to show.
    DemoRequest(
        "Sentinel lymph node metastasis detection across scanners",
        applicant="researcher",
        datasets=(
            "Breast cancer sentinel lymph nodes, H&E and CK8/18",
            "Breast cancer, ER, PR and Ki-67",
        ),
        diseases=("DOID:1612",),
        # Pending: researcher2 sees it under "My invitations"; the other address has no account.
        invited=("researcher2@example.org", "n.visser@example.org"),
        answers={
            "lay_summary": "Checking lymph nodes for cancer cells is slow. We test whether "
            "software finds them equally well whichever scanner made the image.",
            "methods_development": True,
            "requested_months": 24,
            "institution": "Radboud University Medical Center",
        },
    ),
    DemoRequest(
        "Banff lesion scoring in kidney transplant biopsies",
        applicant="researcher2",
        datasets=("Kidney transplant biopsies, PAS and Jones silver",),
        answers={"requested_months": 12},
    ),
]  # fmt: skip


# --- the storage tier (issue 6): its OAuth client, and a researcher with access ---------------
STORAGE_CLIENT_ID = "storage-demo"
# Demo only, printed with the demo logins; seed_demo refuses to run on a production site.
STORAGE_CLIENT_SECRET = "storage-demo-secret"  # noqa: S105
STORAGE_SCOPES = ["introspection", "ga4gh_passport"]

# Used only when no other demo step gave `researcher` an active grant: an animal dataset whose
# committee decides alone and needs no ethics approval.
FALLBACK_REQUEST = DemoRequest(
    "Grading chronic progressive nephropathy in rat carcinogenicity studies",
    applicant="researcher",
    datasets=("Rat kidney, two-year carcinogenicity studies (Sprague Dawley)",),
    answers={
        "lay_summary": "Old rats' kidneys scar slowly. We teach software to grade the "
        "scarring the way toxicologic pathologists do, to speed up safety studies.",
        "scientific_abstract": "Ordinal regression of chronic progressive nephropathy "
        "grade on H&E whole-slide images from two-year carcinogenicity studies.",
        "methods_development": True,
        "requested_months": 12,
        "country": "NL",
        "institution": "Radboud University Medical Center",
    },
)
FALLBACK_DECIDER = "toxpath"
FALLBACK_CONDITIONS = "Study codes stay pseudonymous."


# --- people at the demo identity provider (`make run-oidc`, oidc-provider-mock) -----------------
# Their claims, set with the provider's `PUT /users/<sub>` by `manage.py seed_oidc_demo`. A new
# person's account is created at their first sign-in; `chair`'s account is linked beforehand
# (`manage.py identity_link chair chair@lifescience-ri.eu`), so the chair lands in their own
# account with its committee role.
OIDC_DEMO_CLIENT_ID = "tessera-demo"
OIDC_DEMO_CLIENT_SECRET = "tessera-demo-secret"  # noqa: S105 - the demo provider accepts any
OIDC_DEMO_LINKED = {"chair": "chair@lifescience-ri.eu"}
OIDC_DEMO_USERS: dict[str, dict[str, Any]] = {
    "ada@lifescience-ri.eu": {
        "name": "Ada Okafor",
        "given_name": "Ada",
        "family_name": "Okafor",
        "preferred_username": "ada.okafor",
        "email": "ada.okafor@radboudumc.example",
        "email_verified": True,
        "eduperson_scoped_affiliation": ["member@radboudumc.nl", "faculty@radboudumc.nl"],
    },
    "jonas@lifescience-ri.eu": {
        "name": "Jonas Virtanen",
        "given_name": "Jonas",
        "family_name": "Virtanen",
        "preferred_username": "jonas.virtanen",
        "email": "jonas.virtanen@helsinki.example",
        "email_verified": False,
        "eduperson_scoped_affiliation": "student@helsinki.fi",
    },
    "chair@lifescience-ri.eu": {
        "name": "Committee Chair",
        "given_name": "Committee",
        "family_name": "Chair",
        "preferred_username": "chair",
        "email": "chair@radboudumc.example",
        "email_verified": True,
        "eduperson_scoped_affiliation": ["employee@radboudumc.nl"],
    },
}
