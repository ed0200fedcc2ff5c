"""`python manage.py seed_demo`: a realistic demo world, built through the services.

Organisations, committees, agreements, legal bases, consent scopes and datasets are created by
`governance.services`, exactly as the admin would create them, so that object permissions and
ledger events are real. Only the people are created directly (Django's auth has no service of
ours). Everything is looked up by a natural key first, so a second run creates nothing.

The world is built in steps (`users`, `organisations`, `committees`, `legal_bases`,
`consent_scopes`, `datasets`, `access_requests`); later features add theirs (the storage
tier's OAuth client) after these. Access requests, reviews, votes, comments, decisions and
grants come from `access.services` (see `access_requests`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from access.models import AccessRequest
from access.services import decisions as decision_services
from access.services import requests as request_services
from access.services import reviews as review_services
from access.uploads import check_ethics_document
from governance import services
from governance.choices import CommitteeRole, DatasetStatus, DecisionPolicy, Ontology, Species
from governance.models import (
    AccessAgreement,
    CommitteeMembership,
    ConsentScope,
    DataAccessCommittee,
    Dataset,
    LegalBasis,
    LegalBasisArticle,
    OntologyTerm,
    Organisation,
)

GB = 10**9
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
def _ds(
    title: str,
    *,
    controller: str,
    committee: str,
    organ: str,
    stains: str,
    scanner: str,
    slides: int,
    gb_per_slide: float,
    scope: str | None,
    basis: str | None,
    species: str = Species.HUMAN,
    status: str = DatasetStatus.PUBLISHED,
    retention: date | None = None,
    description: str = "",
    bucket: str = "",
) -> dict[str, Any]:
    slug = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return {
        "title": title,
        "description": description,
        "species": species,
        "organ": organ,
        "stains": stains,
        "scanner": scanner,
        "slide_count": slides,
        "total_bytes": int(slides * gb_per_slide * GB),
        "storage_location": f"s3://bigpicture-{bucket or controller}/{slug[:60]}/",
        "controller": controller,
        "committee": committee,
        "scope": scope,
        "basis": basis,
        "status": status,
        "retention_until": retention,
    }


HUMAN, NORDIC, PRECLINICAL = "bigpicture-human-dac", "nordic-pathology-dac", "preclinical-tox-dac"
NANOZOOMER = "Hamamatsu NanoZoomer S360"
PANNORAMIC = "3DHISTECH Pannoramic 1000"
PHILIPS = "Philips IntelliSite Ultra Fast Scanner"
GT450 = "Leica Aperio GT 450"
AT2 = "Leica Aperio AT2"
DP200 = "Roche Ventana DP 200"
AXIOSCAN = "Zeiss Axioscan 7"
RETIRED_REASON = "Superseded by the 40x re-scan of the same slides (better focus, fewer artefacts)."

DATASETS: list[dict[str, Any]] = [
    # Radboudumc
    _ds(
        "Lung adenocarcinoma resections, H&E and PD-L1",
        controller="radboudumc", committee=HUMAN, organ="lung",
        stains="H&E, IHC PD-L1 (22C3)", scanner=NANOZOOMER, slides=1840, gb_per_slide=2.1,
        scope="lung-cancer-col", basis="nl-research", retention=date(2040, 12, 31),
        description="Surgical resections 2012-2020 with tumour proportion scores.",
    ),
    _ds(
        "Prostate core needle biopsies with Gleason grading",
        controller="radboudumc", committee=HUMAN, organ="prostate", stains="H&E",
        scanner=PANNORAMIC, slides=5160, gb_per_slide=0.9, scope="cancer-npu",
        basis="nl-research", retention=date(2038, 12, 31),
        description="Biopsies graded by expert uropathologists (ISUP grade groups).",
    ),
    _ds(
        "Breast cancer sentinel lymph nodes, H&E and CK8/18",
        controller="radboudumc", committee=HUMAN, organ="lymph node",
        stains="H&E, IHC cytokeratin CK8/18", scanner=PANNORAMIC, slides=1399,
        gb_per_slide=1.7, scope="breast-cancer-mor", basis="consent",
        retention=date(2036, 6, 30),
        description="Sentinel nodes with metastasis annotations by two pathologists.",
    ),
    _ds(
        "Kidney transplant biopsies, PAS and Jones silver",
        controller="radboudumc", committee=HUMAN, organ="kidney",
        stains="PAS, Jones silver, H&E", scanner=PHILIPS, slides=720, gb_per_slide=1.2,
        scope="kidney-disease", basis="nl-research", retention=date(2039, 12, 31),
        description="Protocol and indication biopsies with Banff scores.",
    ),
    _ds(
        "Colorectal polyps, H&E (in preparation)",
        controller="radboudumc", committee=HUMAN, organ="colon", stains="H&E",
        scanner=NANOZOOMER, slides=2400, gb_per_slide=1.1, scope="colorectal-eu",
        basis="nl-research", status=DatasetStatus.DRAFT,
        description="Screening programme polyps; annotation still under way.",
    ),
    # Leeds
    _ds(
        "Colorectal cancer resections, H&E, 40x",
        controller="leeds", committee=HUMAN, organ="colon", stains="H&E", scanner=GT450,
        slides=3200, gb_per_slide=2.4, scope="colorectal-eu", basis="uk-research",
        retention=date(2041, 3, 31),
        description="Stage II-III resections with five-year outcome.",
    ),
    _ds(
        "Colorectal cancer resections, H&E, 20x first scan",
        controller="leeds", committee=HUMAN, organ="colon", stains="H&E", scanner=AT2,
        slides=3200, gb_per_slide=0.8, scope="colorectal-eu", basis="uk-research",
        status=DatasetStatus.RETIRED, retention=date(2041, 3, 31),
        description="The first, 20x scan of the Leeds colorectal resections.",
    ),
    _ds(
        "Dermatopathology quality-assurance set, H&E",
        controller="leeds", committee=HUMAN, organ="skin", stains="H&E", scanner=GT450,
        slides=2500, gb_per_slide=0.7, scope="hmb-irb-pub", basis="uk-care",
        retention=date(2035, 12, 31),
        description="External quality-assurance circulations of skin excisions.",
    ),
    _ds(
        "Liver biopsies, H&E and Sirius red",
        controller="leeds", committee=HUMAN, organ="liver", stains="H&E, Picro-Sirius red",
        scanner=GT450, slides=900, gb_per_slide=0.9, scope="gru-ncu", basis="uk-research",
        retention=date(2037, 12, 31),
        description="Steatotic liver disease biopsies with fibrosis staging.",
    ),
    # Graz
    _ds(
        "Breast cancer core biopsies, Ki-67 and HER2",
        controller="graz", committee=HUMAN, organ="breast",
        stains="H&E, IHC Ki-67, IHC HER2", scanner=DP200, slides=2100, gb_per_slide=1.3,
        scope="cancer-npu", basis="consent", retention=date(2045, 12, 31),
        description="Biobank cases with hormone receptor and HER2 status.",
    ),
    _ds(
        "Inflammatory bowel disease mucosal biopsies, H&E",
        controller="graz", committee=HUMAN, organ="colon", stains="H&E", scanner=PANNORAMIC,
        slides=1500, gb_per_slide=0.6, scope="ibd-nmds", basis="consent",
        retention=date(2045, 12, 31),
        description="Crohn's disease and ulcerative colitis biopsies with activity scores.",
    ),
    _ds(
        "Gastric adenocarcinoma resections (in preparation)",
        controller="graz", committee=HUMAN, organ="stomach", stains="H&E, IHC HER2",
        scanner=DP200, slides=640, gb_per_slide=1.9, scope="cancer-npu", basis="consent",
        status=DatasetStatus.DRAFT,
    ),
    # Linköping
    _ds(
        "Breast cancer, ER, PR and Ki-67",
        controller="linkoping", committee=NORDIC, organ="breast",
        stains="H&E, IHC ER, IHC PR, IHC Ki-67", scanner=NANOZOOMER, slides=4200,
        gb_per_slide=1.4, scope="gru-eu-24m", basis="se-research",
        retention=date(2040, 12, 31),
        description="Consecutive cases from Region Östergötland with receptor status.",
    ),
    _ds(
        "Melanocytic skin lesions, H&E",
        controller="linkoping", committee=NORDIC, organ="skin", stains="H&E", scanner=GT450,
        slides=1600, gb_per_slide=0.5, scope="hmb-irb-pub", basis="se-research",
        retention=date(2040, 12, 31),
        description="Naevi, dysplastic naevi and melanomas with consensus diagnoses.",
    ),
    _ds(
        "Population-based tissue microarrays, Östergötland biobank",
        controller="linkoping", committee=NORDIC, organ="multiple organs",
        stains="H&E, IHC panel", scanner=NANOZOOMER, slides=380, gb_per_slide=3.2,
        scope="poa-irb", basis="se-research", retention=date(2042, 12, 31),
        description="Tissue microarrays from a regional population cohort.",
    ),
    # HUS
    _ds(
        "Radical prostatectomies, H&E",
        controller="hus", committee=NORDIC, organ="prostate", stains="H&E", scanner=GT450,
        slides=1100, gb_per_slide=2.6, scope="cancer-npu", basis="fi-secondary-use",
        retention=date(2039, 12, 31),
        description="Whole-mount sections with tumour maps.",
    ),
    _ds(
        "Non-small cell lung cancer, H&E and TTF-1",
        controller="hus", committee=NORDIC, organ="lung", stains="H&E, IHC TTF-1",
        scanner=PANNORAMIC, slides=900, gb_per_slide=1.8, scope="gru-ncu",
        basis="fi-secondary-use", retention=date(2039, 12, 31),
    ),
    # Laboratory animals: not personal data, so no GDPR legal basis.
    _ds(
        "Rat liver, 28-day repeat-dose toxicity studies (Wistar Han)",
        controller="bayer", committee=PRECLINICAL, species=Species.ANIMAL, organ="liver",
        stains="H&E", scanner=NANOZOOMER, slides=12000, gb_per_slide=0.8, scope="gru-col",
        basis=None,
        description="Control and treated groups with hepatocellular hypertrophy, necrosis "
        "and vacuolation findings (INHAND terminology).",
    ),
    _ds(
        "Rat kidney, two-year carcinogenicity studies (Sprague Dawley)",
        controller="bayer", committee=PRECLINICAL, species=Species.ANIMAL, organ="kidney",
        stains="H&E", scanner=NANOZOOMER, slides=8400, gb_per_slide=0.7, scope="gru-col",
        basis=None,
        description="Chronic progressive nephropathy and renal tubule tumours.",
    ),
    _ds(
        "Mouse liver, toxicology studies (CD-1)",
        controller="janssen", committee=PRECLINICAL, species=Species.ANIMAL, organ="liver",
        stains="H&E, IHC Ki-67", scanner=GT450, slides=6800, gb_per_slide=0.5,
        scope="gru-col", basis=None,
        description="Hepatocellular hypertrophy and proliferation in 13-week studies.",
    ),
    _ds(
        "Beagle dog heart, cardiotoxicity studies",
        controller="janssen", committee=PRECLINICAL, species=Species.ANIMAL, organ="heart",
        stains="H&E, Masson's trichrome", scanner=GT450, slides=1900, gb_per_slide=1.1,
        scope="gru-col", basis=None,
        description="Myocardial degeneration and fibrosis findings.",
    ),
    _ds(
        "Mouse lung, influenza infection models",
        controller="pasteur", committee=PRECLINICAL, species=Species.ANIMAL, organ="lung",
        stains="H&E, IHC influenza A nucleoprotein", scanner=AXIOSCAN, slides=600,
        gb_per_slide=1.5, scope="nres", basis=None,
        description="Time courses of infection in C57BL/6 mice.",
    ),
    _ds(
        "Mouse colon, DSS colitis models",
        controller="pasteur", committee=PRECLINICAL, species=Species.ANIMAL, organ="colon",
        stains="H&E, IHC Ki-67", scanner=AXIOSCAN, slides=450, gb_per_slide=0.9,
        scope="nres", basis=None,
        description="Dextran sulphate sodium colitis with histological damage scores.",
    ),
]  # fmt: skip


# --- building the world -----------------------------------------------------------------------
@dataclass
class World:
    """What the steps have found or made so far, and what they created in this run."""

    actor: Any = None
    users: dict[str, Any] = field(default_factory=dict)
    organisations: dict[str, Organisation] = field(default_factory=dict)
    committees: dict[str, DataAccessCommittee] = field(default_factory=dict)
    legal_bases: dict[str, LegalBasis] = field(default_factory=dict)
    consent_scopes: dict[str, ConsentScope] = field(default_factory=dict)
    created: Counter = field(default_factory=Counter)


def users(world: World) -> None:
    User = get_user_model()
    password = settings.TESSERA["DEMO_PASSWORD"]
    for spec in DEMO_USERS:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = User.objects.create_user(
                username=spec.username,
                email=f"{spec.username}@example.org",
                password=password,
                first_name=spec.first_name,
                last_name=spec.last_name,
                is_staff=spec.is_staff,
                is_superuser=spec.is_superuser,
            )
            world.created["user"] += 1
        for name in spec.groups:
            group, made = Group.objects.get_or_create(name=name)
            if made:
                world.created["group"] += 1
            if not user.groups.filter(pk=group.pk).exists():
                user.groups.add(group)
                world.created["group membership"] += 1
        world.users[spec.username] = user
    # The catalogue is set up by the site administrator, as it would be on a real site.
    world.actor = world.users["admin"]


def organisations(world: World) -> None:
    for key, fields in ORGANISATIONS.items():
        org = Organisation.objects.filter(name=fields["name"]).first()
        if org is None:
            org = services.organisation_create(
                organisation=Organisation(**fields), actor=world.actor
            )
            world.created["organisation"] += 1
        world.organisations[key] = org
    for username, key in STEWARDS.items():
        org, user = world.organisations[key], world.users[username]
        if not org.stewards.filter(pk=user.pk).exists():
            services.organisation_steward_add(organisation=org, user=user, actor=world.actor)
            world.created["steward"] += 1


def committees(world: World) -> None:
    for slug, spec in COMMITTEES.items():
        committee = DataAccessCommittee.objects.filter(slug=slug).first()
        if committee is None:
            committee = services.committee_create(
                committee=DataAccessCommittee(
                    slug=slug,
                    name=spec["name"],
                    description=spec["description"],
                    contact_email=spec["contact_email"],
                    organisation=world.organisations[spec["organisation"]],
                    decision_policy=spec["decision_policy"],
                    quorum=spec["quorum"],
                    requires_ethics_approval=spec["requires_ethics_approval"],
                ),
                actor=world.actor,
            )
            world.created["committee"] += 1
        world.committees[slug] = committee
        for username, role in spec["members"].items():
            user = world.users[username]
            if not CommitteeMembership.objects.filter(committee=committee, user=user).exists():
                services.membership_add(
                    committee=committee, user=user, role=role, actor=world.actor
                )
                world.created["committee seat"] += 1
        agreement(world, committee)


def agreement(world: World, committee: DataAccessCommittee) -> None:
    """One published, committee-wide agreement version per committee."""
    if AccessAgreement.objects.filter(committee=committee, dataset__isnull=True).exists():
        return
    draft = services.agreement_create(
        agreement=AccessAgreement(
            committee=committee,
            title=f"{committee.name} data access agreement",
            text=AGREEMENT_TEXT.format(committee=committee.name),
        ),
        actor=world.actor,
    )
    services.agreement_publish(agreement=draft, actor=world.actor)
    world.created["agreement version"] += 1


def legal_bases(world: World) -> None:
    articles = {(a.article, a.point): a for a in LegalBasisArticle.objects.all()}
    for key, spec in LEGAL_BASES.items():
        basis = LegalBasis.objects.filter(name=spec["name"]).first()
        if basis is None:
            basis = services.legal_basis_create(
                legal_basis=LegalBasis(
                    name=spec["name"],
                    article6=articles[("6", spec["a6"])],
                    article9=articles[("9", spec["a9"])] if spec["a9"] else None,
                    law_reference=spec["law_reference"] or "",
                    notes=spec.get("notes") or "",
                ),
                actor=world.actor,
            )
            world.created["legal basis"] += 1
        world.legal_bases[key] = basis


def consent_scopes(world: World) -> None:
    duo = {
        t.shorthand: t
        for t in OntologyTerm.objects.filter(ontology=Ontology.DUO, obsolete=False).exclude(
            shorthand=""
        )
    }
    for key, spec in CONSENT_SCOPES.items():
        scope = ConsentScope.objects.filter(name=spec["name"]).first()
        if scope is None:
            scope = services.consent_scope_create(
                scope=ConsentScope(
                    name=spec["name"],
                    permission=duo[spec["permission"]],
                    region=spec.get("region", []),
                    moratorium_until=spec.get("moratorium_until"),
                    time_limit_months=spec.get("time_limit_months"),
                ),
                modifiers=[duo[m] for m in spec.get("modifiers", [])],
                diseases=[OntologyTerm.objects.get(curie=c) for c in spec.get("diseases", [])],
                actor=world.actor,
            )
            world.created["consent scope"] += 1
        world.consent_scopes[key] = scope


def datasets(world: World) -> None:
    for spec in DATASETS:
        controller = world.organisations[spec["controller"]]
        if Dataset.objects.filter(title=spec["title"], controller=controller).exists():
            continue
        fields = {
            k: v
            for k, v in spec.items()
            if k not in {"controller", "committee", "scope", "basis", "status"}
        }
        dataset = services.dataset_create(
            dataset=Dataset(
                **fields,
                controller=controller,
                committee=world.committees[spec["committee"]],
                consent_scope=world.consent_scopes[spec["scope"]] if spec["scope"] else None,
                legal_basis=world.legal_bases[spec["basis"]] if spec["basis"] else None,
            ),
            actor=world.actor,
        )
        # A retired dataset was published first: retirement ends a published life.
        if spec["status"] in {DatasetStatus.PUBLISHED, DatasetStatus.RETIRED}:
            dataset = services.dataset_publish(dataset=dataset, actor=world.actor)
        if spec["status"] == DatasetStatus.RETIRED:
            services.dataset_retire(dataset=dataset, actor=world.actor, reason=RETIRED_REASON)
        world.created["dataset"] += 1


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
    team: tuple[str, ...] = ()
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
        ),
    ),
    # Approved by a single decider; no ethics approval needed for the animal studies.
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
                "approve", "toxpath", PRECLINICAL,
                "Study codes stay pseudonymous; no attempt to link them to compounds.",
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


def ethics_approval_pdf(*lines: str) -> bytes:
    """A one-page PDF letter with a correct cross-reference table, made here so that the demo
    ships no binary files. Helvetica with WinAnsiEncoding needs no font file and shows the
    accented letters of Western European names."""

    def shown(line: str) -> bytes:
        text = line.encode("cp1252", "replace")
        text = text.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
        return b"(" + text + b") '"

    content = b"BT /F1 12 Tf 16 TL 72 790 Td " + b" ".join(shown(line) for line in lines) + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _ethics_upload(spec: DemoRequest, applicant, expiry: date) -> SimpleUploadedFile:
    """The ethics letter as an upload, checked like the portal checks one."""
    upload = SimpleUploadedFile(
        "ethics-approval.pdf",
        ethics_approval_pdf(
            "Research Ethics Committee - approval letter",
            f"Reference: {spec.ethics}",
            f"Project: {spec.title}",
            f"Applicant: {applicant.get_full_name()}, {spec.answers.get('institution', '')}",
            f"Valid until: {expiry.isoformat()}",
            "Demo document generated by Tessera's seed_demo; not a real approval.",
        ),
        content_type="application/pdf",
    )
    check_ethics_document(upload)
    return upload


def access_requests(world: World) -> None:
    for spec in ACCESS_REQUESTS:
        applicant = world.users[spec.applicant]
        if AccessRequest.objects.filter(title=spec.title, applicant=applicant).exists():
            continue
        data: dict[str, Any] = {"title": spec.title, **spec.answers}
        if spec.ethics:
            expiry = timezone.localdate() + relativedelta(years=2)
            data |= {
                "ethics_reference": spec.ethics,
                "ethics_expiry": expiry,
                "ethics_document": _ethics_upload(spec, applicant, expiry),
            }
        access_request = request_services.request_create(
            applicant=applicant,
            data=data,
            datasets=[Dataset.objects.get(title=title) for title in spec.datasets],
            diseases=[OntologyTerm.objects.get(curie=curie) for curie in spec.diseases],
            team_members=[world.users[name] for name in spec.team],
        )
        for step in spec.steps:
            _request_step(world, access_request, step)
        world.created["access request"] += 1


def _request_step(world: World, access_request: AccessRequest, step: DemoStep) -> None:
    verb, *args = step
    applicant = access_request.applicant
    if verb == "accept":
        person = world.users[args[0]]
        for agreement in set(request_services.required_agreements(access_request).values()):
            request_services.agreement_accept(
                access_request=access_request, user=person, agreement=agreement
            )
    elif verb == "submit":
        request_services.request_submit(access_request=access_request, actor=applicant)
    elif verb == "resubmit":
        request_services.request_resubmit(access_request=access_request, actor=applicant)
    elif verb == "withdraw":
        request_services.request_withdraw(access_request=access_request, actor=applicant)
    elif verb == "update":
        request_services.request_update(
            access_request=access_request, actor=applicant, data=args[0]
        )
    elif verb == "reply":
        review_services.comment_add(access_request=access_request, actor=applicant, body=args[0])
    else:
        who, slug, *rest = args
        actor, committee = world.users[who], world.committees[slug]
        review = access_request.reviews.get(committee=committee)
        if verb == "start":
            review_services.review_start(review=review, actor=actor)
        elif verb == "comment":
            visibility, body = rest
            review_services.comment_add(
                access_request=access_request,
                actor=actor,
                body=body,
                visibility=visibility,
                committee=committee,
            )
        elif verb == "vote":
            choice, rationale = rest
            review_services.vote_cast(
                review=review, actor=actor, choice=choice, rationale=rationale
            )
        elif verb == "approve":
            decision_services.decision_record(
                review=review,
                actor=actor,
                outcome="approve",
                end_date=decision_services.latest_end_date(access_request),
                conditions=rest[0],
            )
        elif verb == "reject":
            decision_services.decision_record(
                review=review, actor=actor, outcome="reject", reason=rest[0]
            )
        elif verb == "return":
            decision_services.decision_record(
                review=review, actor=actor, outcome="return", questions=rest[0]
            )
        else:
            raise ValueError(f"Unknown demo step {verb!r}")


STEPS = [
    users,
    organisations,
    committees,
    legal_bases,
    consent_scopes,
    datasets,
    access_requests,
]


# --- the storage tier (issue 6): its OAuth client, and a researcher with access ---------------
def storage_tier(world: World) -> None:
    """The storage tier's OAuth client and an active grant for `researcher` (access/demo.py).
    Appended after every other step, so that a grant an earlier step made is reused."""
    from access import demo

    if demo.storage_client(actor=world.actor):
        world.created["OAuth client"] += 1
    if demo.researcher_grant(researcher=world.users["researcher"], decider=world.users["toxpath"]):
        world.created["grant for researcher"] += 1


STEPS.append(storage_tier)


def seed(steps=STEPS) -> World:
    """Run the steps in one transaction: the world is built completely or not at all."""
    world = World()
    with transaction.atomic():
        for step in steps:
            step(world)
    return world


class Command(BaseCommand):
    help = (
        "Build a realistic demo world (organisations, committees, datasets, users with the "
        "password 'demo') through the services. Idempotent. Refuses with DEBUG off unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off. The demo users have a well-known password: "
            "never use this on a site that holds real data.",
        )

    def handle(self, *args, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off, so this looks like a production site. seed_demo creates users "
                "whose password is 'demo'; rerun with --force if this really is a demo site."
            )
        if not OntologyTerm.objects.filter(ontology=Ontology.DUO).exists():
            raise CommandError(
                "The DUO and DOID ontologies are not loaded: run `python manage.py "
                "load_ontologies` first."
            )
        # The demo's notifications are real outbox rows, but printing dozens of e-mails on the
        # console would bury the logins table: keep them in memory while seeding.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            world = seed()
        if world.created:
            made = ", ".join(f"{n} {kind}" for kind, n in world.created.items())
            self.stdout.write(self.style.SUCCESS(f"Demo world created: {made}."))
        else:
            self.stdout.write("Demo world already present: nothing changed.")
        self.stdout.write(self.logins_table())

    def logins_table(self) -> str:
        base = settings.TESSERA_BASE_URL
        where = {"portal": f"{base}/", "admin": f"{base}/admin/"}
        password = settings.TESSERA["DEMO_PASSWORD"]
        rows = [("username", "password", "role", "where")]
        rows += [(u.username, password, u.role, where[u.where]) for u in DEMO_USERS]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["", "Demo logins:"]
        for n, row in enumerate(rows):
            cells = (c.ljust(w) for c, w in zip(row, widths, strict=True))
            lines.append(("  " + "  ".join(cells)).rstrip())
            if n == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        from access.demo import login_lines

        lines += login_lines()
        return "\n".join(lines)
