"""The ORM-facing side of consent matching: from `ConsentScope` rows or JSON to the pure engine's
inputs (`governance.matching`), and batch evaluation at a constant number of queries.

Terms are accepted as CURIEs (`DUO:0000007`, `DOID:162`), OBO PURLs, or, for DUO, shorthands (`DS`);
an unknown or obsolete term is a `ConsentInputError` naming it and the field it came from.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection
from django.db.models import (
    Count,
    F,
    Lookup,
    Max,
    Q,
    QuerySet,
    Sum,
    prefetch_related_objects,
)

from core.exceptions import Invalid

from . import matching, rules
from .choices import DuoKind, Ontology
from .matching import ConsentInput, Outcome, Purpose, RuleResult, Verdict
from .models import ConsentScope, Dataset, OntologyAncestry, OntologyRelease, OntologyTerm

CONSENT_FIELDS = (
    "permission",
    "modifiers",
    "diseases",
    "region",
    "months",
    "moratorium_until",
    "named_users",
    "named_projects",
    "named_institutions",
)
PURPOSE_FIELDS = ("diseases", *matching.PURPOSE_FLAGS, "months", "country", "other")

_PURL = re.compile(r"^https?://purl\.obolibrary\.org/obo/([A-Za-z]+)_([0-9]+)$")
_CURIE = re.compile(r"^([A-Za-z]+):([0-9]+)$")
_COUNTRY_HINTS = {"UK": "the United Kingdom is GB", "EL": "Greece is GR"}

NO_SCOPE_VERDICT = Verdict(
    decision=Outcome.REVIEW,
    rules=(
        RuleResult(
            matching.DATA_USE_PERMISSION,
            Outcome.REVIEW,
            "The dataset has no consent scope, so there is no DUO data use permission to check "
            "the purpose against: a committee must judge it.",
        ),
    ),
)


class ConsentInputError(Invalid, ValueError):
    """Consent or purpose input that cannot be evaluated; `errors` maps field -> message
    (the key "" stands for the object as a whole). Bad input by field (core/exceptions.py),
    and still a ValueError."""

    def __init__(self, errors: dict[str, str]):
        super().__init__({k or NON_FIELD_ERRORS: v for k, v in errors.items()})
        self.errors = errors

    def __str__(self) -> str:
        return "; ".join(f"{k or 'input'}: {v}" for k, v in self.errors.items())


# --- versions ----------------------------------------------------------------------------------
def ontology_version() -> dict[str, str]:
    """{"DUO": sha256, "DOID": sha256} of the loaded ontology files, in one query; stored with a
    match next to `matching.ENGINE_VERSION` so that a verdict can be reproduced."""
    return dict(
        OntologyRelease.objects.order_by("ontology").values_list("ontology", "source_sha256")
    )


# --- term resolution ---------------------------------------------------------------------------
def _normalise(code: str) -> str:
    """A CURIE with its prefix upper-cased, or a DUO shorthand upper-cased."""
    code = code.strip()
    m = _PURL.match(code) or _CURIE.match(code)
    if m:
        prefix, local = m.group(1).upper(), m.group(2)
        return f"{prefix}:{int(local):07d}" if prefix == "DUO" else f"{prefix}:{local}"
    return code.upper()


def _terms(codes: Iterable[str]) -> dict[str, OntologyTerm]:
    """{normalised code: term} for CURIEs and DUO shorthands, in one query."""
    codes = set(codes)
    curies = {c for c in codes if ":" in c}
    shorthands = codes - curies
    if not codes:
        return {}
    found = OntologyTerm.objects.filter(
        Q(curie__in=curies) | Q(ontology=Ontology.DUO, shorthand__in=shorthands)
    ).only("curie", "ontology", "label", "shorthand", "duo_kind", "obsolete")
    out: dict[str, OntologyTerm] = {}
    for term in found:
        if term.curie in curies:
            out[term.curie] = term
        if term.ontology == Ontology.DUO and term.shorthand in shorthands:
            out[term.shorthand] = term
    return out


def _describe(term: OntologyTerm) -> str:
    short = f"{term.shorthand}, " if term.shorthand else ""
    return f"{term.curie} ({short}{term.label})"


def _duo_problem(code: str, term: OntologyTerm | None, kind: str) -> str | None:
    if term is None or term.ontology != Ontology.DUO:
        return (
            f"Unknown DUO term {code!r}: use a CURIE such as DUO:0000007 or a shorthand such as DS."
        )
    if term.obsolete:
        return f"{_describe(term)} is obsolete in DUO and cannot be evaluated."
    if term.duo_kind != kind or term.curie not in matching.DUO_TERMS:
        want = "data use permission" if kind == DuoKind.PERMISSION else "data use modifier"
        return f"{_describe(term)} is not a DUO {want}."
    return None


def _disease_problem(code: str, term: OntologyTerm | None) -> str | None:
    if term is None or term.ontology != Ontology.DOID:
        return (
            f"Unknown disease term {code!r}: use a Human Disease Ontology CURIE such as DOID:162."
        )
    if term.obsolete:
        return f"{_describe(term)} is obsolete in the Human Disease Ontology."
    return None


# --- JSON input --------------------------------------------------------------------------------
class _Reader:
    """Typed reads of a JSON object that collect one message per bad field."""

    def __init__(self, data: Any, fields: Collection[str], what: str):
        self.errors: dict[str, str] = {}
        if not isinstance(data, Mapping):
            self.errors[""] = f"Expected a JSON object describing the {what}."
            data = {}
        unknown = sorted(set(data) - set(fields))
        for key in unknown:
            self.errors[str(key)] = f"Unknown {what} field; the fields are: {', '.join(fields)}."
        self.data = data

    def strings(self, key: str) -> list[str]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.errors[key] = "Expected a list of strings."
            return []
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            self.errors[key] = "Expected true or false."
            return False
        return value

    def months(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors[key] = "Expected a whole number of months."
            return None
        if value < 1:
            self.errors[key] = "Expected at least 1 month."
            return None
        return value

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.errors[key] = "Expected a string."
            return ""
        return value

    def lines(self, key: str) -> tuple[str, ...]:
        """A list of names, or one string with a name per line (as the admin stores them)."""
        value = self.data.get(key)
        if isinstance(value, str):
            return tuple(s.strip() for s in value.splitlines() if s.strip())
        return tuple(s.strip() for s in self.strings(key) if s.strip())

    def date(self, key: str, validators: Iterable[Callable[[date], None]] = ()) -> date | None:
        value = self.data.get(key)
        if value is None:
            return None
        try:
            day = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            self.errors[key] = "Expected an ISO date (YYYY-MM-DD)."
            return None
        try:
            for validator in validators if day is not None else ():
                validator(day)
        except ValidationError as exc:
            self.errors[key] = " ".join(exc.messages)
            return None
        return day

    def raise_if_any(self) -> None:
        if self.errors:
            raise ConsentInputError(self.errors)


def _country_problem(code: str) -> str | None:
    if code in rules.ISO_COUNTRIES:
        return None
    hint = f" ({_COUNTRY_HINTS[code]})" if code in _COUNTRY_HINTS else ""
    return f"{code!r} is not an ISO 3166-1 alpha-2 country code{hint}."


def consent_input_from_data(data: Any) -> ConsentInput:
    """A consent scope given as JSON (`permission`, `modifiers`, `diseases`, `region`, `months`,
    `moratorium_until`, `named_users`/`named_projects`/`named_institutions`), validated as a stored
    scope would be. Two queries at most; raises `ConsentInputError`."""
    r = _Reader(data, CONSENT_FIELDS, "consent")
    permission = r.data.get("permission")
    if not isinstance(permission, str) or not permission.strip():
        r.errors["permission"] = "Required: one DUO permission term (NRES, GRU, HMB, DS or POA)."
        permission = ""
    modifiers = {_normalise(m): m for m in r.strings("modifiers")}
    diseases = {_normalise(d): d for d in r.strings("diseases")}
    region = [s.strip().upper() for s in r.strings("region")]
    months = r.months("months")
    moratorium_until = r.date(
        "moratorium_until", ConsentScope._meta.get_field("moratorium_until").validators
    )
    named = {k: r.lines(k) for k in ("named_users", "named_projects", "named_institutions")}

    permission = _normalise(permission) if permission else ""
    terms = _terms([*([permission] if permission else []), *modifiers, *diseases])
    if permission:
        problem = _duo_problem(
            r.data["permission"].strip(), terms.get(permission), DuoKind.PERMISSION
        )
        if problem:
            r.errors["permission"] = problem
    problems = [
        p
        for m, given in modifiers.items()
        if (p := _duo_problem(given, terms.get(m), DuoKind.MODIFIER))
    ]
    if problems:
        r.errors.setdefault("modifiers", " ".join(problems))
    problems = [p for d, given in diseases.items() if (p := _disease_problem(given, terms.get(d)))]
    if problems:
        r.errors.setdefault("diseases", " ".join(problems))
    bad = [p for c in region if c not in matching.REGION_GROUPS and (p := _country_problem(c))]
    if bad:
        r.errors.setdefault("region", " ".join([*bad, "Use ISO country codes, EU or EEA."]))
    r.raise_if_any()

    permission_curie = terms[permission].curie
    modifier_curies = frozenset(terms[m].curie for m in modifiers)
    # The same coherence rules as a stored scope (DS needs diseases, GS needs a region, ...).
    coherence = rules.consent_scope_problems(
        permission=matching.PERMISSIONS[permission_curie][0],
        modifiers=[matching.MODIFIERS[m][0] for m in modifier_curies],
        disease_count=len(diseases),
        region=region,
        moratorium_until=moratorium_until,
        time_limit_months=months,
        **{k: "\n".join(v) for k, v in named.items()},
    )
    # A parameter without its modifier (the issue's own example sends `region` and `months`
    # without GS and TS) is inert, not contradictory: the engine reads it only with the modifier.
    inert = {
        key
        for key, short in (
            ("region", "GS"),
            ("time_limit_months", "TS"),
            ("moratorium_until", "MOR"),
            ("named_users", "US"),
            ("named_projects", "PS"),
            ("named_institutions", "IS"),
        )
        if matching.CURIE_BY_SHORTHAND[short] not in modifier_curies
    }
    for key, message in coherence.items():
        if key not in inert:
            r.errors.setdefault("months" if key == "time_limit_months" else key, message)
    r.raise_if_any()
    return ConsentInput(
        permission=permission_curie,
        modifiers=modifier_curies,
        diseases=frozenset(terms[d].curie for d in diseases),
        region=frozenset(region),
        months=months,
        moratorium_until=moratorium_until,
        **named,
    )


def purpose_from_data(data: Any) -> Purpose:
    """A research purpose given as JSON (see `PURPOSE_FIELDS`; flags default to false). One query
    when it names diseases, none otherwise; raises `ConsentInputError`."""
    r = _Reader(data, PURPOSE_FIELDS, "purpose")
    diseases = {_normalise(d): d for d in r.strings("diseases")}
    flags = {k: r.flag(k) for k in matching.PURPOSE_FLAGS}
    months = r.months("months")
    country = r.text("country").strip().upper() or None
    other = r.text("other")
    if country and (problem := _country_problem(country)):
        r.errors["country"] = problem
    terms = _terms(diseases)
    problems = [p for d, given in diseases.items() if (p := _disease_problem(given, terms.get(d)))]
    if problems:
        r.errors.setdefault("diseases", " ".join(problems))
    r.raise_if_any()
    return Purpose(
        diseases=frozenset(terms[d].curie for d in diseases),
        months=months,
        country=country,
        other=other,
        **flags,
    )


# --- stored scopes -----------------------------------------------------------------------------
def consent_input_from_scope(scope: ConsentScope) -> ConsentInput:
    """The engine's view of a stored scope. Queries nothing if `permission` is joined and
    `modifiers`/`diseases` are prefetched (as `selectors.dataset_list_public` does)."""
    return ConsentInput(
        permission=scope.permission.curie,
        modifiers=frozenset(m.curie for m in _related(scope, "modifiers")),
        diseases=frozenset(d.curie for d in _related(scope, "diseases")),
        region=frozenset(scope.region or ()),
        months=scope.time_limit_months,
        moratorium_until=scope.moratorium_until,
        named_users=_split_lines(scope.named_users),
        named_projects=_split_lines(scope.named_projects),
        named_institutions=_split_lines(scope.named_institutions),
    )


def _related(scope: ConsentScope, name: str) -> Iterable[OntologyTerm]:
    # The prefetched rows, read from Django's prefetch cache: going through the related manager
    # builds a manager and a queryset per call, which is most of the cost of matching 20,000
    # datasets (bench/consent_search.py).
    cached = getattr(scope, "_prefetched_objects_cache", {})
    return cached[name] if name in cached else getattr(scope, name).all()


def _loaded(dataset: Dataset) -> bool:
    """Whether the dataset's scope, permission, modifiers and diseases are already in memory."""
    if not Dataset.consent_scope.is_cached(dataset):
        return False
    scope = dataset.consent_scope
    cached = getattr(scope, "_prefetched_objects_cache", {})
    return (
        "modifiers" in cached and "diseases" in cached and ConsentScope.permission.is_cached(scope)
    )


def _split_lines(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in (text or "").splitlines() if s.strip())


# --- evaluation --------------------------------------------------------------------------------
def purpose_ancestry(purpose: Purpose) -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    """Every ancestor (self included) of the purpose's diseases, and the labels of all of them,
    from the precomputed closure in one query (none when the purpose names no disease)."""
    if not purpose.diseases:
        return {}, {}
    ancestors: dict[str, set[str]] = {c: {c} for c in purpose.diseases}
    labels: dict[str, str] = {}
    rows = OntologyAncestry.objects.filter(term__curie__in=purpose.diseases).values_list(
        "term__curie", "ancestor__curie", "ancestor__label"
    )
    for term, ancestor, label in rows:
        ancestors[term].add(ancestor)
        labels[ancestor] = label
    return {c: frozenset(a) for c, a in ancestors.items()}, labels


def _lookup(ancestors: Mapping[str, frozenset[str]]) -> matching.AncestorLookup:
    return lambda curie: ancestors.get(curie, frozenset({curie}))


def evaluate(
    consent: ConsentInput, purpose: Purpose, *, labels: Mapping[str, str] | None = None
) -> Verdict:
    """`matching.evaluate` with the ancestors (and disease labels) read from the loaded ontology:
    one query for the purpose's diseases, two more for the consent's disease labels if not given."""
    ancestors, purpose_labels = purpose_ancestry(purpose)
    if labels is None and consent.diseases:
        labels = dict(
            OntologyTerm.objects.filter(curie__in=consent.diseases).values_list("curie", "label")
        )
    return matching.evaluate(
        consent,
        purpose,
        ancestors=_lookup(ancestors),
        labels={**purpose_labels, **(labels or {})},
    )


def _scope_verdicts(
    scopes: Iterable[tuple[int, ConsentInput, Mapping[str, str]]], purpose: Purpose
) -> dict[int, Verdict]:
    """{scope pk: verdict} from (pk, consent input, consented disease labels) triples."""
    ancestors, purpose_labels = purpose_ancestry(purpose)
    lookup = _lookup(ancestors)
    out: dict[int, Verdict] = {}
    # Many scopes code the same consent (GRU + IRB, ...): equal inputs get one evaluation.
    by_input: dict[ConsentInput, Verdict] = {}
    for pk, consent_input, disease_labels in scopes:
        verdict = by_input.get(consent_input)
        if verdict is None:
            try:
                verdict = matching.evaluate(
                    consent_input,
                    purpose,
                    ancestors=lookup,
                    labels={**purpose_labels, **disease_labels},
                )
            except matching.MatchingError as exc:
                # A stored scope with a DUO term the engine has no rule for (say, from a newer
                # DUO release) must not break the catalogue: it goes to a human, saying why.
                verdict = Verdict(
                    decision=Outcome.REVIEW,
                    rules=(RuleResult(exc.term, Outcome.REVIEW, f"{exc} A committee must judge."),),
                )
            by_input[consent_input] = verdict
        out[pk] = verdict
    return out


def _scope_rows(scope_ids: Any) -> Iterator[tuple[int, ConsentInput, dict[str, str]]]:
    """(pk, consent input, disease labels) for the scopes `scope_ids` (a subquery or a list),
    read as column values in three queries: building 20,000 scope, term and manager objects
    would cost far more than matching them."""
    modifiers: dict[int, set[str]] = defaultdict(set)
    for pk, curie in ConsentScope.modifiers.through.objects.filter(
        consentscope_id__in=scope_ids
    ).values_list("consentscope_id", "ontologyterm__curie"):
        modifiers[pk].add(curie)
    diseases: dict[int, dict[str, str]] = defaultdict(dict)
    for pk, curie, label in ConsentScope.diseases.through.objects.filter(
        consentscope_id__in=scope_ids
    ).values_list("consentscope_id", "ontologyterm__curie", "ontologyterm__label"):
        diseases[pk][curie] = label
    columns = ConsentScope.objects.filter(pk__in=scope_ids).values_list(
        "pk",
        "permission__curie",
        "region",
        "time_limit_months",
        "moratorium_until",
        "named_users",
        "named_projects",
        "named_institutions",
    )
    for pk, permission, region, months, until, users, projects, institutions in columns:
        yield (
            pk,
            ConsentInput(
                permission=permission,
                modifiers=frozenset(modifiers[pk]),
                diseases=frozenset(diseases[pk]),
                region=frozenset(region or ()),
                months=months,
                moratorium_until=until,
                named_users=_split_lines(users),
                named_projects=_split_lines(projects),
                named_institutions=_split_lines(institutions),
            ),
            diseases[pk],
        )


def evaluate_datasets(datasets: Iterable[Dataset], purpose: Purpose) -> dict[str, Verdict]:
    """{accession: verdict} for many datasets against one purpose. A constant number of queries
    whatever the count: none for relations already loaded (`selectors.dataset_list_public`), at
    most four otherwise, plus one for the purpose's ancestors. Datasets sharing a consent scope
    share its verdict, computed once."""
    datasets = list(datasets)
    # Only the rows still missing relations: walking 20,000 loaded rows costs time too.
    prefetch_related_objects(
        [d for d in datasets if d.consent_scope_id is not None and not _loaded(d)],
        "consent_scope__permission",
        "consent_scope__modifiers",
        "consent_scope__diseases",
    )
    scopes = {d.consent_scope_id: d.consent_scope for d in datasets if d.consent_scope_id}
    verdicts = _scope_verdicts(
        (
            (pk, consent_input_from_scope(s), {d.curie: d.label for d in _related(s, "diseases")})
            for pk, s in scopes.items()
        ),
        purpose,
    )
    return {
        d.accession: verdicts[d.consent_scope_id]
        if d.consent_scope_id is not None
        else NO_SCOPE_VERDICT
        for d in datasets
    }


def evaluate_catalogue(qs: QuerySet[Dataset], purpose: Purpose) -> dict[str, Verdict]:
    """{accession: verdict} for every dataset of `qs` (say, the whole catalogue), reading
    columns only, no model instances: five queries whatever the count."""
    pairs = list(qs.order_by().values_list("accession", "consent_scope_id"))
    verdicts = _scope_verdicts(_scope_rows(qs.order_by().values("consent_scope_id")), purpose)
    return {
        accession: verdicts[scope_id] if scope_id is not None else NO_SCOPE_VERDICT
        for accession, scope_id in pairs
    }


def evaluate_dataset(dataset: Dataset, purpose: Purpose) -> Verdict:
    """One dataset's verdict (see `evaluate_datasets`)."""
    return evaluate_datasets([dataset], purpose)[dataset.accession]


# --- cached decisions --------------------------------------------------------------------------
DECISIONS_CACHE_PREFIX = "tessera:consent-decisions:"


def decisions_cache_key(purpose: Purpose) -> str:
    """The cache key of `scope_decisions(purpose)`, in two small queries.

    A digest of everything a decision depends on, so that a change makes a new key and no entry
    is ever deleted (old ones expire): the normalised purpose (`Purpose.to_dict`: CURIEs sorted,
    country upper-cased), `matching.ENGINE_VERSION`, each loaded ontology's source SHA-256 and load
    time (`ontology.load`, the `load_ontologies` command), and the consent scopes' count, highest
    pk and sum of versions (`ConsentScope.version`, raised by `services.consent_scope_update`).
    Versions only grow and pks are never reused, so any create, change or delete of a scope gives
    another triple."""
    releases = OntologyRelease.objects.order_by("ontology").values_list(
        "ontology", "source_sha256", "loaded_at"
    )
    scopes = ConsentScope.objects.aggregate(n=Count("pk"), last=Max("pk"), versions=Sum("version"))
    material = {
        "purpose": purpose.to_dict(),
        "engine": matching.ENGINE_VERSION,
        "ontologies": [[o, sha, at.isoformat()] for o, sha, at in releases],
        "scopes": [scopes["n"], scopes["last"], scopes["versions"]],
    }
    digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    return DECISIONS_CACHE_PREFIX + digest


def scope_decisions(purpose: Purpose) -> dict[str, list[int]]:
    """{decision: pks of the consent scopes with that decision} for every stored scope against
    `purpose`, from Django's cache (settings.CACHES: Redis in production) when it holds them.

    Two queries when cached (`decisions_cache_key`); otherwise every distinct scope is evaluated
    once (`_scope_verdicts`, four more queries) and the result kept for
    TESSERA_CONSENT_CACHE_SECONDS. Nothing is invalidated by hand: an engine version bump, an
    ontology (re)load or any scope's creation, change or deletion changes the key. Only the
    decisions are kept (a few bytes per scope); a page's full verdicts, with their reasons, are
    computed for the rows on it (`evaluate_datasets`). The key is read before the scopes, so an
    entry never holds scopes older than its key says."""
    key = decisions_cache_key(purpose)
    stored = cache.get(key)
    if stored is not None:
        return stored
    verdicts = _scope_verdicts(_scope_rows(ConsentScope.objects.values("pk")), purpose)
    out: dict[str, list[int]] = {str(o): [] for o in Outcome}
    for pk, verdict in verdicts.items():
        out[str(verdict.decision)].append(pk)
    cache.set(key, out, settings.TESSERA_CONSENT_CACHE_SECONDS)
    return out


class _AnyOf(Lookup):
    """`lhs = ANY(%s::<lhs type>[])` with the ids as one array literal (PostgreSQL): an IN list
    of 8,000 placeholders, or a list that psycopg adapts element by element, costs more to build
    and send than the query costs to run. The cast matters: against an int4[] (what psycopg makes
    of small ints) a bigint column is compared element by element, not by hash (0.4 s for 20,000
    rows instead of 5 ms)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        db_type = self.lhs.output_field.db_type(connection)
        literal = "{" + ",".join(map(str, self.rhs)) + "}"
        return f"{lhs} = ANY(%s::{db_type}[])", [*lhs_params, literal]


def _scope_in(ids: list[int]) -> Q:
    if connection.vendor == "postgresql":
        return Q(_AnyOf(F("consent_scope_id"), ids))
    return Q(consent_scope_id__in=ids)


def filter_by_match(
    qs: QuerySet[Dataset], purpose: Purpose, decisions: Collection[str]
) -> QuerySet[Dataset]:
    """Only the datasets whose verdict is one of `decisions`, still as a queryset (so it pages in
    SQL). The decisions of every consent scope come from `scope_decisions`: two queries when
    cached, six when not, whatever the number of datasets."""
    wanted = {str(Outcome(d)) for d in decisions}
    by_decision = scope_decisions(purpose)
    keep = [pk for d, pks in by_decision.items() if d in wanted for pk in pks]
    drop = [pk for d, pks in by_decision.items() if d not in wanted for pk in pks]
    # Whichever list is shorter goes into the SQL, to keep it small.
    condition = (
        _scope_in(keep)
        if len(keep) <= len(drop)
        else Q(consent_scope__isnull=False) & ~_scope_in(drop)
    )
    if str(NO_SCOPE_VERDICT.decision) in wanted:
        condition |= Q(consent_scope__isnull=True)
    return qs.filter(condition)
