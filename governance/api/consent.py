"""REST for consent matching: `POST /api/v1/consent/evaluate`, and the catalogue's search by purpose
(`GET /api/v1/datasets/?purpose=<json>&match=approve`) through `CatalogueMatchMixin`.

Validation of consent and purpose lives in `governance.consent` (so the portal and the access
requests share it); the serializers here adapt its errors to DRF and describe the JSON in the
OpenAPI schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core import safejson
from core.api_auth import ScopedThrottle, TokenScopes
from core.scopes import CATALOGUE_READ

from .. import consent, matching, selectors
from .serializers import DatasetSerializer

_OUTCOMES = [str(o) for o in matching.Outcome]


# --- documentation of the JSON shapes (validation is governance.consent's) --------------------
class ConsentSerializer(serializers.Serializer):
    """A consent scope coded with DUO: one permission plus modifiers."""

    permission = serializers.CharField(
        help_text="One DUO permission: NRES, GRU, HMB, DS or POA, as shorthand or CURIE "
        "(DUO:0000007)."
    )
    modifiers = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="DUO modifiers as shorthands or CURIEs: NPU, NCU, NPUNCU, NMDS, GSO, IRB, PUB, "
        "COL, RTN, GS, MOR, TS, US, PS, IS, RS, NPOA, CC.",
    )
    diseases = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="For DS: DOID CURIEs; descendants of these fit too.",
    )
    region = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="For GS (ignored without it): ISO 3166-1 alpha-2 codes, or the groups EU and EEA.",
    )
    months = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="For TS (ignored without it)."
    )
    moratorium_until = serializers.DateField(
        required=False, allow_null=True, help_text="For MOR (ignored without it)."
    )
    named_users = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="For US."
    )
    named_projects = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="For PS."
    )
    named_institutions = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="For IS."
    )


# A structured research purpose; the flags (`matching.PURPOSE_FLAGS`) default to false. Built
# with type() so that the flags sit between the diseases and the duration, as in the engine.
PurposeSerializer = type(
    "PurposeSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "A structured research purpose; the flags default to false.",
        "__module__": __name__,
        "diseases": serializers.ListField(
            child=serializers.CharField(), required=False, help_text="DOID CURIEs studied."
        ),
        **{
            name: serializers.BooleanField(required=False, default=False)
            for name in matching.PURPOSE_FLAGS
        },
        "months": serializers.IntegerField(
            min_value=1, required=False, allow_null=True, help_text="Requested duration."
        ),
        "country": serializers.CharField(
            required=False,
            allow_null=True,
            help_text="Where the data will be used: ISO 3166-1 alpha-2.",
        ),
        "other": serializers.CharField(
            required=False,
            allow_blank=True,
            help_text="Anything the fields do not cover; non-empty text needs a committee's review.",
        ),
    },
)


class RuleResultSerializer(serializers.Serializer):
    term = serializers.CharField(help_text="The DUO CURIE the rule applies.")
    outcome = serializers.ChoiceField(choices=matching.OUTCOME_CHOICES)
    reason = serializers.CharField()


class ObligationSerializer(serializers.Serializer):
    term = serializers.CharField(help_text="The DUO CURIE that imposes it.")
    text = serializers.CharField()


class VerdictSerializer(serializers.Serializer):
    """Any deny denies; else any review needs a committee; else approve."""

    decision = serializers.ChoiceField(choices=matching.OUTCOME_CHOICES)
    rules = RuleResultSerializer(many=True)
    obligations = ObligationSerializer(many=True)


# --- request fields that delegate to governance.consent ---------------------------------------
def _raise(exc: consent.ConsentInputError):
    if set(exc.errors) == {""}:
        raise ValidationError(exc.errors[""])
    raise ValidationError({k or "non_field_errors": [v] for k, v in exc.errors.items()})


class _ConsentInputField(serializers.Field):
    """A request field that `parse` (one of governance.consent's readers) turns into its value;
    the reader's input errors become validation errors."""

    parse: Callable[[Any], Any]

    def to_internal_value(self, data):
        try:
            return self.parse(data)
        except consent.ConsentInputError as exc:
            _raise(exc)


@extend_schema_field(ConsentSerializer)
class ConsentField(_ConsentInputField):
    parse = staticmethod(consent.consent_input_from_data)

    def to_representation(self, value):  # pragma: no cover - request only
        return value


@extend_schema_field(PurposeSerializer)
class PurposeField(_ConsentInputField):
    parse = staticmethod(consent.purpose_from_data)

    def to_representation(self, value):  # pragma: no cover - request only
        return value.to_dict()


class ConsentEvaluateSerializer(serializers.Serializer):
    consent = ConsentField(
        required=False, help_text="The consent scope to check; or give `dataset` instead."
    )
    dataset = serializers.RegexField(
        r"^TSR-DS-\d{6}$",
        required=False,
        help_text="A published dataset's accession, whose consent scope is used.",
    )
    purpose = PurposeField()

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise ValidationError(
                {key: ["Unknown field; give consent or dataset, and purpose."] for key in unknown}
            )
        if ("consent" in attrs) == ("dataset" in attrs):
            raise ValidationError(
                {"non_field_errors": ["Give either a consent scope or a dataset accession."]}
            )
        return attrs


_EXAMPLE_REQUEST = {
    "consent": {
        "permission": "DS",
        "diseases": ["DOID:162"],
        "modifiers": ["NCU", "IRB"],
    },
    "purpose": {"diseases": ["DOID:1324"], "commercial": False, "ethics_approval": True},
}
_EXAMPLE_APPROVE = {
    "decision": "approve",
    "rules": [
        {
            "term": "DUO:0000007",
            "outcome": "approve",
            "reason": "DS (disease specific research) for cancer (DOID:162): "
            "lung cancer (DOID:1324) is a kind of cancer (DOID:162).",
        },
        {
            "term": "DUO:0000046",
            "outcome": "approve",
            "reason": "NCU (non-commercial use only): the purpose is not commercial.",
        },
        {
            "term": "DUO:0000021",
            "outcome": "approve",
            "reason": "IRB (ethics approval required): the applicant states an ethics approval; "
            "the committee checks its documentation.",
        },
    ],
    "obligations": [
        {
            "term": "DUO:0000021",
            "text": "Provide documentation of the local ethics committee (IRB/ERB) approval and "
            "keep it valid while using the data.",
        }
    ],
}
_EXAMPLE_DENY = {
    "decision": "deny",
    "rules": [
        {
            "term": "DUO:0000007",
            "outcome": "deny",
            "reason": "DS (disease specific research) for lung cancer (DOID:1324): "
            "cancer (DOID:162) is neither a consented disease nor a kind of one.",
        },
        {
            "term": "DUO:0000022",
            "outcome": "deny",
            "reason": "GS (geographical restriction) to EU: US is outside it.",
        },
    ],
    "obligations": [],
}


class ConsentEvaluateView(APIView):
    """Evaluate a research purpose against a consent scope, or a published dataset's."""

    permission_classes = [IsAuthenticated, TokenScopes]
    required_scopes = [CATALOGUE_READ]
    throttle_classes = [ScopedThrottle]
    throttle_scope = "consent"

    @extend_schema(
        operation_id="consent_evaluate",
        summary="Evaluate a research purpose against a consent scope",
        description=(
            "Checks the purpose against the DUO permission (NRES, GRU, HMB, DS with DOID "
            "diseases, POA) and every modifier, and explains each rule. `decision` is `deny` if "
            "any rule denies, else `review` (a committee must look) if any rule asks for it, "
            "else `approve`. Give either `consent` or `dataset` (a published dataset's "
            "accession; 404 if there is none). Unknown fields, unknown or obsolete terms, bad "
            "country codes and durations under one month are 400s naming the field. Rate-limited "
            "(scope `consent`)."
        ),
        request=ConsentEvaluateSerializer,
        responses={
            200: VerdictSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Bad input, by field: `{purpose: {country: [...]}}`",
            ),
            401: OpenApiResponse(description="Not logged in."),
            403: OpenApiResponse(description="Not logged in (session authentication)."),
            404: OpenApiResponse(description="No published dataset has that accession."),
            429: OpenApiResponse(description="Too many evaluations; retry later."),
        },
        examples=[
            OpenApiExample("Consent given inline", value=_EXAMPLE_REQUEST, request_only=True),
            OpenApiExample(
                "A published dataset's consent",
                value={
                    "dataset": "TSR-DS-000001",
                    "purpose": {
                        "diseases": ["DOID:3910"],
                        "methods_development": True,
                        "ethics_approval": True,
                        "country": "NL",
                        "months": 24,
                    },
                },
                request_only=True,
            ),
            OpenApiExample("Approved", value=_EXAMPLE_APPROVE, response_only=True),
            OpenApiExample("Denied, with reasons", value=_EXAMPLE_DENY, response_only=True),
            OpenApiExample(
                "Bad input",
                value={
                    "purpose": {
                        "country": [
                            "'UK' is not an ISO 3166-1 alpha-2 country code "
                            "(the United Kingdom is GB)."
                        ]
                    }
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request):
        serializer = ConsentEvaluateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        purpose = serializer.validated_data["purpose"]
        if "dataset" in serializer.validated_data:
            dataset = selectors.dataset_get_public(serializer.validated_data["dataset"])
            verdict = consent.evaluate_dataset(dataset, purpose)
        else:
            verdict = consent.evaluate(serializer.validated_data["consent"], purpose)
        return Response(verdict.to_dict())


# --- the catalogue searched by purpose ---------------------------------------------------------
@extend_schema_field(VerdictSerializer)
class MatchField(serializers.Field):
    """The verdict computed for the page (`CatalogueMatchMixin`); optional in the schema because
    only a search by purpose carries it."""

    def __init__(self, **kwargs):
        super().__init__(source="*", required=False, **kwargs)

    def to_representation(self, value):
        # The list precomputes the page's verdicts in a constant number of queries; a single
        # dataset (retrieve) is evaluated here.
        verdict = self.context.get("verdicts", {}).get(value.accession)
        if verdict is None:
            verdict = consent.evaluate_dataset(value, self.context["purpose"])
        return verdict.to_dict()


class DatasetMatchSerializer(DatasetSerializer):
    """A catalogue entry with the verdict for the purpose the search states."""

    match = MatchField(help_text="Present when the request states a `purpose`.")

    class Meta(DatasetSerializer.Meta):
        fields = [*DatasetSerializer.Meta.fields, "match"]


CATALOGUE_MATCH_PARAMETERS = [
    OpenApiParameter(
        "purpose",
        str,
        OpenApiParameter.QUERY,
        description="A research purpose as URL-encoded JSON (the `purpose` object of "
        "`POST /api/v1/consent/evaluate`). Each dataset then carries a `match` verdict.",
        examples=[
            OpenApiExample(
                "Lung cancer methods, in the Netherlands",
                value=json.dumps(
                    {"diseases": ["DOID:1324"], "methods_development": True, "country": "NL"}
                ),
            )
        ],
    ),
    OpenApiParameter(
        "match",
        str,
        OpenApiParameter.QUERY,
        description="With `purpose`: only datasets whose verdict is one of these "
        "(comma-separated: approve, review, deny).",
    ),
]


class CatalogueMatchMixin:
    """Adds search by purpose to the catalogue viewset: a `match` verdict per dataset and the
    `match` filter, at a constant number of queries per page."""

    throttle_scope = "consent"

    def _purpose(self) -> matching.Purpose | None:
        if not hasattr(self, "_parsed_purpose"):
            raw = self.request.query_params.get("purpose")
            self._parsed_purpose = None
            if raw is not None:
                try:
                    data = safejson.loads(raw)
                except safejson.JSONTooDeep as exc:
                    raise ValidationError({"purpose": [str(exc.detail)]}) from None
                except ValueError:
                    raise ValidationError({"purpose": ["Expected URL-encoded JSON."]}) from None
                try:
                    self._parsed_purpose = consent.purpose_from_data(data)
                except consent.ConsentInputError as exc:
                    raise ValidationError(
                        {"purpose": {k or "non_field_errors": [v] for k, v in exc.errors.items()}}
                    ) from None
        return self._parsed_purpose

    def get_throttles(self):
        throttles = super().get_throttles()
        # Matching the whole catalogue costs more than listing it: same budget as /consent/.
        if "purpose" in self.request.query_params:
            throttles = [*throttles, ScopedThrottle()]
        return throttles

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        raw = self.request.query_params.get("match")
        if raw is None or self.action != "list":
            return queryset
        purpose = self._purpose()
        if purpose is None:
            raise ValidationError({"match": ["Filtering by match needs a purpose."]})
        decisions = {d.strip() for d in raw.split(",") if d.strip()}
        if not decisions or decisions - set(_OUTCOMES):
            raise ValidationError({"match": [f"Expected one or more of {', '.join(_OUTCOMES)}."]})
        return consent.filter_by_match(queryset, purpose, decisions)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        purpose = self._purpose()
        if purpose is not None:
            self._verdicts = consent.evaluate_datasets(
                page if page is not None else queryset, purpose
            )
        return page

    def get_serializer_class(self):
        if getattr(self, "request", None) is not None and self._purpose() is not None:
            return DatasetMatchSerializer
        return super().get_serializer_class()

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "request", None) is not None and self._purpose() is not None:
            context["purpose"] = self._purpose()
            context["verdicts"] = getattr(self, "_verdicts", {})
        return context
