"""REST endpoints for the storage tier: the JWKS, access tokens, introspection (RFC 7662), the
revocation feed and GA4GH Passport visas. The work is done in `tokens.issue`, `tokens.visas`,
`tokens.revocation` and `tokens.introspection`."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_GET
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotAuthenticated
from rest_framework.parsers import FormParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from audit.actors import pseudonym_for
from audit.models import ActorPseudonym
from core.api_auth import ClientAddressIdent, TokenScopes
from core.parsers import JSONParser
from core.scopes import GA4GH_PASSPORT, INTROSPECTION, PRIVILEGED_SCOPES, TOKENS_ISSUE

from .. import keyring
from ..introspection import INTROSPECT_ACTION, NO_STORE, introspection_response
from ..issue import AccessToken, TokenRefused, token_issue
from ..oauth import ClientBearerAuthentication, ClientHasScope, ClientToken
from ..revocation import revocation_feed
from ..subjects import visa_subject
from ..visas import grant_for_dataset, visas_issue


class StorageClientScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes `ClientBearerAuthentication`."""

    target_class = "tokens.oauth.ClientBearerAuthentication"
    name = "storageClient"

    def get_security_definition(self, auto_schema):  # noqa: ARG002 - drf-spectacular's hook
        return {
            "type": "oauth2",
            "description": "An OAuth2 access token from POST /o/token/ (client credentials).",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/o/token/",
                    "scopes": dict(PRIVILEGED_SCOPES),
                }
            },
        }

    def get_security_requirement(self, auto_schema):
        return {self.name: list(getattr(auto_schema.view, "required_scopes", []))}


# --- JWKS -------------------------------------------------------------------------------------
@require_GET
def jwks(request: HttpRequest) -> HttpResponse:
    """`GET /.well-known/jwks.json`: the active, next and retired public keys.

    max-age is TESSERA_JWKS_MAX_AGE; `keys_rotate` never lets a key sign before it has been
    published that long (see tokens/keyring.py), so a cached copy always knows the signer."""
    body = json.dumps(keyring.jwks(), separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    max_age = int(settings.TESSERA_JWKS_MAX_AGE.total_seconds())
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/jwk-set+json")
    response["Cache-Control"] = f"public, max-age={max_age}"
    response["ETag"] = etag
    response["Access-Control-Allow-Origin"] = "*"
    return response


# --- access tokens (the researcher, logged in) ------------------------------------------------
class TokenThrottle(ClientAddressIdent, UserRateThrottle):
    scope = "tokens"
    rate = "120/min"


TokenRequest = inline_serializer(
    "TokenRequest", {"dataset": serializers.CharField(max_length=32, help_text="An accession.")}
)
TokenResponse = inline_serializer(
    "TokenResponse",
    {
        "access_token": serializers.CharField(),
        "token_type": serializers.CharField(),
        "expires_in": serializers.IntegerField(),
        "expires_at": serializers.DateTimeField(),
        "scope": serializers.CharField(),
        "dataset": serializers.CharField(),
        "grant": serializers.IntegerField(),
        "jti": serializers.CharField(),
    },
)
Refusal = inline_serializer("TokenRefusal", {"detail": serializers.CharField()})
# {field: [messages]}, e.g. {"dataset": ["Give the accession of a dataset, ..."]}.
BadTokenRequest = OpenApiResponse(OpenApiTypes.OBJECT, description="Errors by field name.")


class TokenCreateView(APIView):
    """`POST /api/v1/tokens/`: an access token for the caller's active grant on a dataset,
    for the person signed in, or for an OAuth token of theirs with `tokens:issue`."""

    permission_classes = [IsAuthenticated, TokenScopes]
    required_scopes = [TOKENS_ISSUE]
    throttle_classes = [TokenThrottle]
    parser_classes = [JSONParser, FormParser]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        summary="Get an access token for the storage tier",
        description=(
            "An RFC 9068 JWT (`typ: at+jwt`) for the caller's active grant on the dataset, "
            "valid for TESSERA_TOKEN_LIFETIME (1 hour by default) and never beyond the grant. "
            "403 with the reason when there is no active grant (expired, revoked, dataset "
            "retired, agreement not accepted, ethics approval expired, account suspended)."
        ),
        request=TokenRequest,
        responses={201: TokenResponse, 400: BadTokenRequest, 403: Refusal},
        examples=[OpenApiExample("Request", value={"dataset": "TSR-DS-000001"}, request_only=True)],
    )
    def post(self, request):
        accession = request.data.get("dataset") if hasattr(request.data, "get") else None
        if not isinstance(accession, str) or not accession.strip() or len(accession) > 32:
            return Response(
                {"dataset": ["Give the accession of a dataset, e.g. TSR-DS-000001."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        grant, why_not = grant_for_dataset(request.user, accession.strip())
        if grant is None:
            return Response({"detail": why_not}, status=status.HTTP_403_FORBIDDEN)
        try:
            issued = token_issue(grant=grant, actor=request.user)
        except TokenRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return Response(token_payload(issued), status=status.HTTP_201_CREATED, headers=NO_STORE)


def token_payload(issued: AccessToken) -> dict:
    return {
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "expires_at": issued.expires_at.isoformat().replace("+00:00", "Z"),
        "scope": issued.scope,
        "dataset": issued.dataset,
        "grant": issued.grant_id,
        "jti": issued.jti,
    }


# --- introspection (the storage tier, an OAuth client) ----------------------------------------
class ClientView(APIView):
    """Storage-tier endpoints: an OAuth2 bearer token of a client holding `required_scopes`
    (401 without one, 403 without the scope)."""

    authentication_classes = [ClientBearerAuthentication]
    permission_classes = [ClientHasScope]
    renderer_classes = [JSONRenderer]
    required_scopes = [INTROSPECTION]


IntrospectionResponse = inline_serializer(
    "IntrospectionResponse",
    {
        "active": serializers.BooleanField(),
        "iss": serializers.CharField(required=False),
        "sub": serializers.CharField(required=False, help_text="The holder's pseudonymous id."),
        "aud": serializers.JSONField(required=False),
        "scope": serializers.CharField(required=False),
        "dataset": serializers.CharField(required=False),
        "grant": serializers.IntegerField(required=False),
        "exp": serializers.IntegerField(required=False),
        "iat": serializers.IntegerField(required=False),
        "nbf": serializers.IntegerField(required=False),
        "jti": serializers.CharField(required=False),
        "client_id": serializers.CharField(required=False),
        "token_type": serializers.CharField(required=False),
    },
)


class IntrospectView(ClientView):
    """`POST /api/v1/tokens/introspect` (RFC 7662): its schema, and DRF's answers to the calls
    `tokens.introspection.IntrospectionMiddleware` leaves to it (other methods and content
    types). A form POST is answered by `introspection_response`, the one implementation."""

    parser_classes = [FormParser]
    # A call without valid client credentials (401) or scope (403) is recorded (core/api.py),
    # as `introspection_response` records its own.
    refusals_recorded = {"post": INTROSPECT_ACTION}

    @extend_schema(
        summary="Introspect an access token (RFC 7662)",
        description=(
            "For the storage tier, authenticated as an OAuth2 client (client credentials, "
            'scope `introspection`). `{"active": false}` for anything not valid right now, '
            "with no hint of why; every call is recorded in the audit ledger before the answer."
        ),
        request=inline_serializer("IntrospectionRequest", {"token": serializers.CharField()}),
        responses={200: IntrospectionResponse},
    )
    def post(self, request):
        # Reached with a form only where the middleware is not installed: the client is
        # authenticated again there, in the query that reads the token's state.
        return introspection_response(request)


class RevocationFeedView(ClientView):
    """`GET /api/v1/tokens/revoked?since=<cursor>`: what offline verifiers poll."""

    refusals_recorded = {"get": "tokens.revocation_feed"}

    @extend_schema(
        summary="Revoked tokens since a cursor",
        description=(
            "Revoked tokens and visas that have not expired yet, in cursor order. Start with "
            "`since=0`, then pass `next_cursor`; repeat at once while `has_more`. Cursors only "
            "grow, and an entry never appears below a cursor already handed out."
        ),
        parameters=[
            OpenApiParameter("since", OpenApiTypes.INT, description="The last cursor seen."),
            OpenApiParameter("limit", OpenApiTypes.INT, description="At most 1000 (500)."),
        ],
        responses=inline_serializer(
            "RevocationFeed",
            {
                "revoked": inline_serializer(
                    "RevokedToken",
                    {
                        "cursor": serializers.IntegerField(),
                        "jti": serializers.CharField(),
                        "exp": serializers.IntegerField(),
                        "revoked_at": serializers.IntegerField(),
                    },
                    many=True,
                ),
                "next_cursor": serializers.IntegerField(),
                "has_more": serializers.BooleanField(),
            },
        ),
    )
    def get(self, request):
        try:
            since = int(request.query_params.get("since", "0"))
            limit = int(request.query_params.get("limit", "500"))
        except ValueError:
            return Response(
                {"detail": "since and limit are integers."}, status=status.HTTP_400_BAD_REQUEST
            )
        if since < 0 or limit < 1:
            return Response(
                {"detail": "since must be >= 0 and limit >= 1."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        page = revocation_feed(since=since, limit=limit)
        return Response(
            {"revoked": page.entries, "next_cursor": page.next_cursor, "has_more": page.has_more},
            headers={"Cache-Control": "no-cache"},
        )


# --- GA4GH Passport visas ---------------------------------------------------------------------
class PassportView(APIView):
    """`GET /api/v1/ga4gh/permissions/<user>`: the user's visas, for the user themself (by
    username or pseudonym) or for an OAuth client with the `ga4gh_passport` scope (by
    pseudonym, the `sub` of our tokens). The person may also name themself by their visas' `sub`
    (their subject at the identity provider, tokens/subjects.py)."""

    authentication_classes = [ClientBearerAuthentication, SessionAuthentication]
    # A client needs the scope; a person may read only their own (checked in get()).
    permission_classes = [TokenScopes]
    required_scopes = [GA4GH_PASSPORT]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        summary="GA4GH Passport visas of a user",
        description=(
            "One GA4GH Passport v1.2 ControlledAccessGrants visa per active grant "
            "(`typ: vnd.ga4gh.visa+jwt`, `jku` = our JWKS). Like REMS' permissions API."
        ),
        responses=inline_serializer(
            "Passport", {"ga4gh_passport_v1": serializers.ListField(child=serializers.CharField())}
        ),
    )
    def get(self, request, user: str):
        if isinstance(request.auth, ClientToken):
            subject = _user_by_pseudonym(user)
            actor = request.auth.actor
        elif request.user and request.user.is_authenticated:
            me = request.user
            if user not in (me.get_username(), pseudonym_for(me), visa_subject(me)):
                raise Http404
            subject, actor = me, me
        else:
            raise NotAuthenticated()
        visas = visas_issue(user=subject, actor=actor)
        return Response({"ga4gh_passport_v1": visas}, headers=NO_STORE)


def _user_by_pseudonym(pseudonym: str):
    # select_related: the user comes with its `pseudonym` relation filled, so the visas and
    # their ledger events name the subject without reading the row again.
    row = ActorPseudonym.objects.filter(pseudonym=pseudonym).select_related("user").first()
    if row is None:
        raise Http404
    return row.user
