"""The researcher-facing catalogue pages of the portal (server-rendered, no JavaScript needed)."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse

from . import selectors
from .choices import Species
from .models import DataAccessCommittee, OntologyTerm

CATALOGUE_PAGE_SIZE = 20


class CatalogueFilterForm(forms.Form):
    """The catalogue's search and filters, validated so that each error sits next to its field."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="Words from the title, description, organ or stains, "
        "or an accession such as TSR-DS-000001.",
    )
    species = forms.ChoiceField(
        required=False,
        choices=[("", "Any species"), *Species.choices],
        error_messages={"invalid_choice": "Choose human or laboratory animal."},
    )
    organ = forms.ChoiceField(
        label="Organ / tissue",
        required=False,
        error_messages={"invalid_choice": "No published dataset has the organ “%(value)s”."},
    )
    duo = forms.ChoiceField(
        label="Consent term (DUO)",
        required=False,
        error_messages={
            "invalid_choice": "“%(value)s” is not a DUO permission or modifier; "
            "choose one from the list."
        },
    )
    committee = forms.ChoiceField(
        label="Committee",
        required=False,
        error_messages={"invalid_choice": "No committee “%(value)s” governs a published dataset."},
    )
    disease = forms.CharField(
        required=False,
        max_length=200,
        help_text="A DOID identifier such as DOID:162, or the exact disease name. "
        "Includes the more specific diseases beneath it.",
    )

    def __init__(
        self,
        data,
        *,
        organs: list[str],
        duo_terms: list[OntologyTerm],
        committees: list[DataAccessCommittee],
    ):
        self._duo_terms = {t.curie: t for t in duo_terms}
        self._committees = {c.slug: c for c in committees}
        super().__init__(self._normalised(data, organs, duo_terms))
        self.fields["organ"].choices = [("", "Any organ"), *((o, o) for o in organs)]
        self.fields["duo"].choices = [
            ("", "Any consent term"),
            *(
                (
                    group,
                    [
                        (t.curie, f"{t.shorthand} — {t.label}")
                        for t in duo_terms
                        if t.duo_kind == kind
                    ],
                )
                for group, kind in (("Permissions", "permission"), ("Modifiers", "modifier"))
            ),
        ]
        self.fields["committee"].choices = [
            ("", "Any committee"),
            *((c.slug, c.name) for c in committees),
        ]

    @staticmethod
    def _normalised(data, organs, duo_terms):
        # Links and people type "lung" for "Lung" and "DS" for DUO:0000007; map them to the
        # option values so that the filter applies *and* the select shows it as chosen.
        data = data.copy()
        organ = data.get("organ", "").strip()
        by_lower = {o.lower(): o for o in organs}
        if organ.lower() in by_lower:
            data["organ"] = by_lower[organ.lower()]
        duo = data.get("duo", "").strip()
        by_code = {t.shorthand.upper(): t.curie for t in duo_terms} | {
            t.curie.upper(): t.curie for t in duo_terms
        }
        if duo.upper() in by_code:
            data["duo"] = by_code[duo.upper()]
        return data

    def clean_duo(self) -> OntologyTerm | None:
        return self._duo_terms.get(self.cleaned_data["duo"])

    def clean_committee(self) -> DataAccessCommittee | None:
        return self._committees.get(self.cleaned_data["committee"])

    def clean_disease(self) -> OntologyTerm | None:
        text = self.cleaned_data["disease"].strip()
        if not text:
            return None
        term = selectors.disease_resolve(text)
        if term is None:
            raise forms.ValidationError(
                "No disease “%(text)s” in the Human Disease Ontology. Enter a DOID identifier "
                "such as DOID:162 or a disease's exact name.",
                params={"text": text},
                code="unknown_disease",
            )
        return term


def home(request):
    return render(request, "portal/home.html", {"summary": selectors.catalogue_summary()})


def catalogue(request):
    form = CatalogueFilterForm(
        request.GET,
        organs=selectors.catalogue_organs(),
        duo_terms=list(selectors.duo_filter_terms()),
        committees=list(selectors.committee_list_public()),
    )
    datasets = selectors.dataset_list_public()
    # A filter that cannot be understood shows its error and no results, rather than results
    # that silently ignore it.
    datasets = (
        selectors.dataset_list_filtered(datasets, **form.cleaned_data)
        if form.is_valid()
        else datasets.none()
    )
    page = Paginator(datasets, CATALOGUE_PAGE_SIZE).get_page(request.GET.get("page"))
    # Without JavaScript there is no autocomplete: offer the nearest names instead.
    disease_suggestions = (
        selectors.disease_search(request.GET["disease"][:100], limit=5)[0]
        if "disease" in form.errors and len(request.GET["disease"].strip()) >= 2
        else []
    )
    filtered = any(request.GET.get(name, "").strip() for name in form.fields)
    return render(
        request,
        "governance/catalogue.html",
        {
            "form": form,
            "page": page,
            "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2),
            "filtered": filtered,
            "disease_suggestions": disease_suggestions,
        },
    )


def dataset_detail(request, accession: str):
    dataset = selectors.dataset_get_public(accession)
    api_path = reverse("dataset-detail", kwargs={"accession": dataset.accession})
    return render(
        request,
        "governance/dataset_detail.html",
        {
            "dataset": dataset,
            "scope": dataset.consent_scope,
            "legal_basis": dataset.legal_basis,
            "agreement": dataset.current_agreement,
            "parties": selectors.dataset_parties(dataset),
            "api_path": api_path,
            "api_url": request.build_absolute_uri(api_path),
        },
    )


def committee_detail(request, slug: str):
    committee = selectors.committee_get_public(slug)
    return render(
        request,
        "governance/committee.html",
        {
            "committee": committee,
            "datasets": selectors.dataset_list_public().filter(committee=committee),
            "agreement": selectors.committee_agreement_current(committee),
        },
    )


def disease_search(request):
    """A plain search form over DOID, so that the catalogue's disease filter needs no JavaScript."""
    q = request.GET.get("q", "").strip()[:100]
    results: list[OntologyTerm] = []
    total = 0
    too_short = 0 < len(q) < 2
    if len(q) >= 2:
        results, total = selectors.disease_search(q)
    return render(
        request,
        "governance/disease_search.html",
        {"q": q, "results": results, "total": total, "too_short": too_short},
    )
