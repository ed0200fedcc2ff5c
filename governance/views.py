"""The researcher-facing catalogue pages of the portal (server-rendered, no JavaScript needed)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, render

from . import selectors
from .choices import DatasetStatus, Ontology, Species
from .models import DataAccessCommittee, OntologyTerm


def home(request):
    return render(
        request, "portal/home.html", {"dataset_count": selectors.dataset_list_public().count()}
    )


def catalogue(request):
    qs = selectors.dataset_list_public()
    params = request.GET
    errors: dict[str, str] = {}
    q = params.get("q", "").strip()[:200]
    if q:
        from django.db.models import Q

        qs = qs.filter(
            Q(title__icontains=q)
            | Q(description__icontains=q)
            | Q(organ__icontains=q)
            | Q(accession__iexact=q)
        )
    species = params.get("species", "")
    if species in Species.values:
        qs = qs.filter(species=species)
    organ = params.get("organ", "").strip()
    if organ:
        qs = qs.filter(organ__iexact=organ)
    duo = params.get("duo", "").strip()
    if duo:
        term = selectors.resolve_term(duo, ontology=Ontology.DUO)
        if term:
            qs = selectors.filter_by_duo_term(qs, term)
        else:
            errors["duo"] = f"Unknown DUO term “{duo}”."
    disease = params.get("disease", "").strip()
    disease_term = None
    if disease:
        disease_term = (
            selectors.resolve_term(disease, ontology=Ontology.DOID)
            if ":" in disease
            else (
                OntologyTerm.objects.filter(ontology=Ontology.DOID, label__iexact=disease).first()
            )
        )
        if disease_term:
            qs = selectors.filter_by_disease(qs, disease_term)
        else:
            errors["disease"] = f"No disease “{disease}” in the Human Disease Ontology."
    if errors:
        qs = qs.none()
    page = Paginator(qs, 20).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    organs = (
        selectors.dataset_list_public().values_list("organ", flat=True).order_by("organ").distinct()
    )
    duo_terms = OntologyTerm.objects.filter(
        ontology=Ontology.DUO, duo_kind__in=["permission", "modifier"], obsolete=False
    ).order_by("duo_kind", "shorthand")
    return render(
        request,
        "governance/catalogue.html",
        {
            "page": page,
            "q": q,
            "species": species,
            "organ": organ,
            "duo": duo,
            "disease": disease,
            "disease_term": disease_term,
            "errors": errors,
            "species_choices": Species.choices,
            "organs": organs,
            "duo_terms": duo_terms,
            "querystring": query.urlencode(),
        },
    )


def dataset_detail(request, accession: str):
    dataset = selectors.dataset_get_public(accession)
    return render(
        request,
        "governance/dataset_detail.html",
        {
            "dataset": dataset,
            "agreement": dataset.current_agreement,
            "parties": dataset.parties.select_related("organisation"),
        },
    )


def committee_detail(request, slug: str):
    committee = get_object_or_404(DataAccessCommittee, slug=slug)
    datasets = committee.datasets.filter(status=DatasetStatus.PUBLISHED).order_by("accession")
    return render(
        request,
        "governance/committee.html",
        {
            "committee": committee,
            "datasets": datasets,
            "agreement": committee.agreements.filter(
                dataset__isnull=True, status="published"
            ).first(),
            "member_count": committee.memberships.aggregate(n=Count("id"))["n"],
        },
    )


def disease_search(request):
    """Plain search form for DOID terms (works without JavaScript; also used as a datalist)."""
    q = request.GET.get("q", "").strip()[:100]
    results = []
    if len(q) >= 2:
        results = OntologyTerm.objects.filter(ontology=Ontology.DOID, label__icontains=q).order_by(
            "label"
        )[:50]
    return render(request, "governance/disease_search.html", {"q": q, "results": results})
