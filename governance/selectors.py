"""Permission-filtered reads of the catalogue."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from .choices import DatasetStatus, Ontology
from .models import ConsentScope, Dataset, OntologyAncestry, OntologyTerm


def _with_catalogue_relations(qs: QuerySet[Dataset]) -> QuerySet[Dataset]:
    # A fixed number of queries per page whatever its size: joins for the to-one relations,
    # one prefetch each for modifiers and diseases.
    return qs.select_related(
        "committee",
        "controller",
        "consent_scope__permission",
        "legal_basis__article6",
        "legal_basis__article9",
    ).prefetch_related(
        Prefetch("consent_scope__modifiers", queryset=OntologyTerm.objects.order_by("curie")),
        Prefetch("consent_scope__diseases", queryset=OntologyTerm.objects.order_by("curie")),
    )


def dataset_list_public() -> QuerySet[Dataset]:
    return _with_catalogue_relations(Dataset.objects.filter(status=DatasetStatus.PUBLISHED))


def dataset_get_public(accession: str) -> Dataset:
    try:
        return dataset_list_public().get(accession=accession)
    except Dataset.DoesNotExist:
        raise Http404("No published dataset has that accession.") from None


def dataset_list_for_user(user) -> QuerySet[Dataset]:
    """Datasets the user may see in the admin: their committees' and their organisations'."""
    if user.is_superuser:
        return Dataset.objects.all()
    return get_objects_for_user(
        user,
        "governance.view_dataset",
        klass=Dataset,
        accept_global_perms=True,
        with_superuser=True,
    )


def resolve_term(code: str, *, ontology: str | None = None) -> OntologyTerm | None:
    """A term by CURIE (DUO:0000007, DOID:162) or DUO shorthand (DS)."""
    qs = OntologyTerm.objects.all()
    if ontology:
        qs = qs.filter(ontology=ontology)
    code = code.strip()
    if ":" in code:
        return qs.filter(curie__iexact=code).first()
    return qs.filter(ontology=Ontology.DUO, shorthand__iexact=code).first()


def filter_by_disease(qs: QuerySet[Dataset], disease: OntologyTerm) -> QuerySet[Dataset]:
    """Datasets consented for `disease` or any of its descendants."""
    scoped = ConsentScope.diseases.through.objects.filter(
        consentscope_id=OuterRef("consent_scope_id"),
        ontologyterm_id__in=OntologyAncestry.objects.filter(ancestor=disease).values("term_id"),
    )
    return qs.filter(Exists(scoped))


def filter_by_duo_term(qs: QuerySet[Dataset], term: OntologyTerm) -> QuerySet[Dataset]:
    """Datasets whose consent scope uses `term` as its permission or as a modifier."""
    as_modifier = ConsentScope.modifiers.through.objects.filter(
        consentscope_id=OuterRef("consent_scope_id"), ontologyterm_id=term.pk
    )
    return qs.filter(Q(consent_scope__permission=term) | Exists(as_modifier))
