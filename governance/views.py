"""The researcher-facing catalogue pages of the portal (server-rendered, no JavaScript needed)."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import capfirst

from core.exceptions import add_form_errors

from . import cart, consent, matching, selectors
from .choices import Ontology, Species
from .countries import COUNTRY_CHOICES, country_code_for
from .matching import Outcome
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


# One checkbox for each of the engine's yes/no facts, labelled as the engine labels it.
PurposeFlagsForm = type(
    "PurposeFlagsForm",
    (forms.Form,),
    {
        name: forms.BooleanField(label=capfirst(label), required=False)
        for name, label in matching.PURPOSE_FLAGS.items()
    },
)


class PurposeForm(PurposeFlagsForm):
    """A research purpose stated once, against which every listed dataset's consent is matched."""

    field_order = ["diseases", *matching.PURPOSE_FLAGS, "months", "country", "match"]

    def general_fields(self):
        """The form's fields but the sensitive-research flags, in order."""
        return [f for f in self if f.name not in matching.SENSITIVE_FLAGS]

    def sensitive_fields(self):
        return [self[name] for name in matching.SENSITIVE_FLAGS]

    diseases = forms.CharField(
        label="Diseases studied",
        required=False,
        max_length=500,
        help_text="DOID identifiers or exact disease names, separated by semicolons "
        "(e.g. DOID:1324; colorectal cancer).",
    )
    months = forms.IntegerField(
        label="Duration (months)", required=False, min_value=1, max_value=120
    )
    # Chosen by name, sent as the ISO code (as on the request form); a typed name or code from a
    # bookmarked or hand-made URL is taken too, anything else refused rather than cut.
    country = forms.CharField(
        label="Country of use",
        required=False,
        max_length=100,
        widget=forms.Select(choices=[("", "Any country"), *COUNTRY_CHOICES]),
    )
    match = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[
            ("", "All datasets, with their verdict"),
            (Outcome.APPROVE, "Only datasets that fit"),
            (
                f"{Outcome.APPROVE},{Outcome.REVIEW}",
                "Datasets that fit or need a committee's review",
            ),
        ],
    )

    def is_stated(self) -> bool:
        return any(
            str(self.data.get(self.add_prefix(name), "")).strip()
            for name in self.fields
            if name != "match"
        )

    def clean_diseases(self):
        curies = []
        for raw in self.cleaned_data["diseases"].split(";"):
            text = raw.strip()
            if not text:
                continue
            term = (
                selectors.resolve_term(text, ontology=Ontology.DOID)
                if ":" in text
                else OntologyTerm.objects.filter(ontology=Ontology.DOID, label__iexact=text).first()
            )
            if term is None:
                raise forms.ValidationError(f"No disease “{text}” in the Human Disease Ontology.")
            curies.append(term.curie)
        return curies

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A typed name or code shows as the list's choice (its code), not as typed.
        key = self.add_prefix("country")
        code = country_code_for(str(self.data.get(key, "")))
        if code is not None:
            self.data = self.data.copy()
            self.data[key] = code

    def clean_country(self) -> str:
        value = self.cleaned_data["country"].strip()
        if not value:
            return value
        code = country_code_for(value)
        if code is None:
            raise forms.ValidationError("Choose the country from the list.")
        return code

    def purpose(self):
        """The engine's Purpose, or None with the problems added to the form."""
        data = {k: v for k, v in self.cleaned_data.items() if k != "match" and v not in (None, "")}
        try:
            return consent.purpose_from_data(data)
        except consent.ConsentInputError as exc:
            add_form_errors(self, exc)
            return None


def catalogue(request):
    purpose_form = PurposeForm(request.GET, prefix="p")
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
    purpose = None
    if purpose_form.is_stated():
        purpose = purpose_form.purpose() if purpose_form.is_valid() else None
        if purpose is None:
            datasets = datasets.none()
        elif purpose_form.cleaned_data["match"]:
            datasets = consent.filter_by_match(
                datasets, purpose, purpose_form.cleaned_data["match"].split(",")
            )
    page = Paginator(datasets, CATALOGUE_PAGE_SIZE).get_page(request.GET.get("page"))
    # Only the page on screen is matched: a constant amount of work per page.
    on_page = list(page.object_list)
    verdicts = (
        {a: v.to_dict() for a, v in consent.evaluate_datasets(on_page, purpose).items()}
        if purpose is not None
        else {}
    )
    mine = cart.cart_for(request.user, on_page)
    # (dataset, its verdict against the purpose or None, what the person already has of it)
    rows = [
        (dataset, verdicts.get(dataset.accession), mine["holdings"].get(dataset.pk))
        for dataset in on_page
    ]
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
            "rows": rows,
            "drafts": mine["drafts"],
            "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2),
            "filtered": filtered or purpose_form.is_stated(),
            "disease_suggestions": disease_suggestions,
            "purpose_form": purpose_form,
            "purpose": purpose,
        },
    )


def dataset_detail(request, accession: str):
    retired = selectors.dataset_retired_public(accession)
    if retired is not None:
        # 410 Gone: the page existed and was removed on purpose, for good. Links and bookmarks
        # to it get a page that says what happened; crawlers and API-minded clients get a status
        # that tells "retired" from "never existed" (404, which unpublished drafts keep).
        return render(request, "governance/dataset_retired.html", {"dataset": retired}, status=410)
    dataset = selectors.dataset_get_public(accession)
    api_path = reverse("dataset-detail", kwargs={"accession": dataset.accession})
    mine = cart.cart_for(request.user, [dataset])
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
            "holding": mine["holdings"].get(dataset.pk),
            "drafts": mine["drafts"],
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
