"""Coherence rules for the catalogue, as pure functions (no ORM), so that forms, serializers and
services share one wording and tests need no database.

Each function returns a dict {field: message}; empty means coherent. Messages name the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from .countries import COUNTRY_NAMES

PERMISSIONS = {"NRES", "GRU", "HMB", "DS", "POA"}
MODIFIERS = {
    "NPU", "NCU", "NPUNCU", "NMDS", "GSO", "IRB", "PUB", "COL", "RTN",
    "GS", "MOR", "TS", "US", "PS", "IS", "RS", "NPOA", "CC",
}  # fmt: skip
REGION_GROUPS = {"EU", "EEA"}
# EU member states (ISO 3166-1 alpha-2) and the EEA's three additions. Greece is "GR" in ISO.
EU_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()  # noqa: SIM905
)
EEA_COUNTRIES = EU_COUNTRIES | {"IS", "LI", "NO"}
# ISO 3166-1 alpha-2 officially assigned codes (249). A shape check alone would let "UK" (the
# code is GB), "EL" (EU shorthand for Greece, GR in ISO) or "ZZ" through, and a GS region that
# names no country restricts nothing.
ISO_COUNTRIES = frozenset(COUNTRY_NAMES)


def consent_scope_problems(
    *,
    permission: str | None,
    modifiers: Iterable[str],
    disease_count: int,
    region: Iterable[str] | None = None,
    moratorium_until: date | None = None,
    time_limit_months: int | None = None,
    named_users: str = "",
    named_projects: str = "",
    named_institutions: str = "",
) -> dict[str, str]:
    """Why a consent scope is incoherent, by field. Terms are DUO shorthands."""
    problems: dict[str, str] = {}
    mods = set(modifiers)
    region = list(region or [])

    if permission not in PERMISSIONS:
        problems["permission"] = (
            "A consent scope needs exactly one DUO permission term: NRES, GRU, HMB, DS or POA."
        )
    unknown = sorted(mods - MODIFIERS)
    extra_permissions = sorted(mods & PERMISSIONS)
    if extra_permissions:
        problems["modifiers"] = (
            f"{', '.join(extra_permissions)}: a DUO permission, not a modifier; a consent scope "
            "has exactly one permission term."
        )
    elif unknown:
        problems["modifiers"] = f"Not DUO data use modifiers: {', '.join(unknown)}."
    elif "NPUNCU" in mods and mods & {"NPU", "NCU"}:
        problems["modifiers"] = (
            "NPUNCU already implies NPU and NCU (its two children in DUO): use NPUNCU alone "
            "or NPU/NCU alone."
        )
    elif (
        "NMDS" in mods
        and permission not in {"DS", "HMB", "GRU", None}
        and permission in PERMISSIONS
    ):
        problems["modifiers"] = (
            f"NMDS (no general methods research) does not apply to {permission}."
        )

    if permission == "DS" and disease_count == 0:
        problems["diseases"] = (
            "Disease-specific research (DS) needs at least one DOID disease term."
        )
    elif permission != "DS" and disease_count > 0:
        problems["diseases"] = (
            "Disease terms belong only to disease-specific research (DS); "
            f"remove them or use DS instead of {permission or 'no permission'}."
        )

    if "GS" in mods:
        bad = [r for r in region if str(r) not in REGION_GROUPS | ISO_COUNTRIES]
        if not region:
            problems["region"] = (
                "Geographical restriction (GS) needs a region: ISO country codes, EU or EEA."
            )
        elif bad:
            problems["region"] = (
                f"Not ISO 3166-1 alpha-2 codes or EU/EEA: {', '.join(map(str, bad))}."
            )
    elif region:
        problems["region"] = (
            "A region is only meaningful with the geographical restriction modifier (GS)."
        )

    if "MOR" in mods and moratorium_until is None:
        problems["moratorium_until"] = "Publication moratorium (MOR) needs the date it ends."
    elif "MOR" not in mods and moratorium_until is not None:
        problems["moratorium_until"] = "A moratorium date is only meaningful with MOR."

    if "TS" in mods and (time_limit_months is None or time_limit_months < 1):
        problems["time_limit_months"] = (
            "Time limit on use (TS) needs a number of months (1 or more)."
        )
    elif "TS" not in mods and time_limit_months:
        problems["time_limit_months"] = "A time limit is only meaningful with TS."

    for code, field, value, what in (
        ("US", "named_users", named_users, "the approved users"),
        ("PS", "named_projects", named_projects, "the approved projects"),
        ("IS", "named_institutions", named_institutions, "the approved institutions"),
    ):
        if code in mods and not value.strip():
            problems[field] = f"{code} needs {what}, one per line."
        elif code not in mods and value.strip():
            problems[field] = f"Named entries here are only meaningful with {code}."
    return problems


def legal_basis_problems(
    *,
    article6_point: str | None,
    article9_point: str | None,
    article6_needs_law: bool,
    article9_needs_law: bool,
    law_reference: str,
) -> dict[str, str]:
    """Why a legal basis is incomplete under GDPR Art. 6(3) and Art. 9(2)(g)-(j)."""
    problems: dict[str, str] = {}
    if not article6_point:
        problems["article6"] = "Every processing needs an Art. 6(1) ground."
    if (article6_needs_law or article9_needs_law) and not law_reference.strip():
        which = []
        if article6_needs_law:
            which.append(f"Art. 6(1)({article6_point}) (see Art. 6(3))")
        if article9_needs_law:
            which.append(f"Art. 9(2)({article9_point})")
        problems["law_reference"] = (
            f"{' and '.join(which)} must rest on Union or Member State law: name that law."
        )
    return problems


def dataset_problems(
    *,
    species: str,
    publishing: bool,
    has_consent_scope: bool,
    legal_basis_has_art9: bool | None,
    legal_basis_consent_based: bool,
) -> dict[str, str]:
    """Dataset rules. `legal_basis_has_art9` is None when the dataset has no legal basis."""
    problems: dict[str, str] = {}
    if species == "human" and publishing and not legal_basis_has_art9:
        problems["legal_basis"] = (
            "A published human dataset is health data (GDPR Art. 9): it needs a legal basis "
            "with an Art. 9(2) condition."
        )
    if legal_basis_consent_based and not has_consent_scope:
        problems["consent_scope"] = (
            "A consent-based legal basis (Art. 6(1)(a) or Art. 9(2)(a)) requires a consent scope "
            "recording what the data subjects agreed to."
        )
    if publishing and not has_consent_scope and species == "human":
        problems.setdefault(
            "consent_scope",
            "A published human dataset needs a consent scope so that requests can be matched against it.",
        )
    return problems
