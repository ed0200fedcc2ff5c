from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import filters, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny

from core.api_auth import TokenScopes
from core.scopes import CATALOGUE_READ

from .. import selectors
from ..choices import Ontology, Species
from ..models import Dataset
from .consent import CATALOGUE_MATCH_PARAMETERS, CatalogueMatchMixin, DatasetMatchSerializer
from .serializers import DatasetSerializer


class CataloguePagination(PageNumberPagination):
    """Page numbers from 1, up to 100 datasets a page. A malformed `page` or `page_size` is a
    400 naming it (DRF would answer 404 for the one and silently ignore the other); a page past
    the end stays a 404."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    @staticmethod
    def _whole_number(request, name: str) -> int | None:
        raw = request.query_params.get(name, "").strip()
        if not raw:
            return None
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            raise ValidationError({name: ["Expected a whole number from 1."]})
        return value

    def get_page_size(self, request):
        size = self._whole_number(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) in self.last_page_strings:
            return paginator.num_pages
        return self._whole_number(request, self.page_query_param) or 1

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] += f" At most {self.max_page_size}."
        return parameters


class CatalogueSearchFilter(filters.SearchFilter):
    def get_search_terms(self, request):
        # DRF rejects NUL characters (PostgreSQL cannot store them) with an anonymous error list.
        try:
            return super().get_search_terms(request)
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from None


class DatasetFilter(django_filters.FilterSet):
    species = django_filters.ChoiceFilter(choices=Species.choices)
    organ = django_filters.CharFilter(field_name="organ", lookup_expr="iexact")
    committee = django_filters.CharFilter(field_name="committee__slug")
    duo = django_filters.CharFilter(
        method="filter_duo", label="DUO term (CURIE or shorthand) used as permission or modifier"
    )
    disease = django_filters.CharFilter(
        method="filter_disease", label="DOID disease term; datasets for it or any descendant"
    )

    class Meta:
        model = Dataset
        fields = ["species", "organ", "committee", "duo", "disease"]

    def filter_duo(self, queryset, name, value):
        term = selectors.resolve_term(value, ontology=Ontology.DUO)
        if term is None:
            raise ValidationError(
                {
                    "duo": f"Unknown DUO term {value!r}: use a CURIE (DUO:0000007) or a shorthand (DS)."
                }
            )
        return selectors.filter_by_duo_term(queryset, term)

    def filter_disease(self, queryset, name, value):
        term = selectors.resolve_term(value, ontology=Ontology.DOID) if ":" in value else None
        if term is None:
            raise ValidationError(
                {"disease": f"Unknown disease term {value!r}: use a DOID CURIE such as DOID:162."}
            )
        return selectors.filter_by_disease(queryset, term)


@extend_schema_view(
    list=extend_schema(
        summary="List published datasets",
        description="The public catalogue: published datasets with their consent scope, legal basis and committee. "
        "With `purpose`, each dataset carries a `match` verdict for that purpose (and `match` filters by it).",
        parameters=CATALOGUE_MATCH_PARAMETERS,
        responses=DatasetMatchSerializer(many=True),
    ),
    retrieve=extend_schema(
        summary="One published dataset",
        parameters=[
            OpenApiParameter(
                "accession", str, OpenApiParameter.PATH, description="e.g. TSR-DS-000001"
            ),
            *CATALOGUE_MATCH_PARAMETERS[:1],
        ],
        responses=DatasetMatchSerializer,
    ),
)
class DatasetViewSet(CatalogueMatchMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = DatasetSerializer
    # Public: anyone, and any token holding catalogue:read (the default scope).
    permission_classes = [AllowAny, TokenScopes]
    required_scopes = [CATALOGUE_READ]
    lookup_field = "accession"
    lookup_value_regex = r"TSR-DS-\d{6}"
    pagination_class = CataloguePagination
    filterset_class = DatasetFilter
    filter_backends = [
        django_filters.rest_framework.DjangoFilterBackend,
        CatalogueSearchFilter,
        filters.OrderingFilter,
    ]
    search_fields = ["title", "description", "organ", "accession"]
    ordering_fields = ["accession", "title", "slide_count", "published_at"]
    ordering = ["accession"]

    def get_queryset(self):
        return selectors.dataset_list_public()

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        # Each dataset's agreement version, for the whole page in one query.
        self._agreements = selectors.current_agreements(page if page is not None else queryset)
        return page

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if hasattr(self, "_agreements"):
            context["agreements"] = self._agreements
        return context

    def get_object(self):
        obj = selectors.dataset_get_public(self.kwargs["accession"])
        self.check_object_permissions(self.request, obj)
        return obj
