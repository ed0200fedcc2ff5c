"""The ledger over REST. Checkpoints, the public key and consistency proofs are public (outside
witnesses keep copies); events and inclusion proofs are for auditors only."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.cache import cache
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_auth import TokenScopes
from core.scopes import AUDIT_READ

from .. import checkpoints, selectors, signing
from .serializers import (
    MAX_BIGINT,
    AuditEventSerializer,
    CheckpointSerializer,
    ConsistencyProofSerializer,
    ConsistencyQuerySerializer,
    EventPageSerializer,
    EventQuerySerializer,
    InclusionProofSerializer,
    ProofQuerySerializer,
    PublicKeySerializer,
)


class IsAuditor(BasePermission):
    message = "Only auditors may read the ledger."

    def has_permission(self, request, view):
        return selectors.is_auditor(request.user)


class PublicView(APIView):
    permission_classes = [AllowAny, TokenScopes]
    required_scopes: list[str] = []  # public: anyone, with any token or none


class AuditorView(APIView):
    permission_classes = [IsAuthenticated, TokenScopes, IsAuditor]
    required_scopes = [AUDIT_READ]  # auditors only, with a token that may read the ledger


def _query(serializer_class, request):
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class EventListView(AuditorView):
    @extend_schema(
        summary="Ledger events in seq order (auditors only)",
        parameters=[EventQuerySerializer],
        responses=EventPageSerializer,
    )
    def get(self, request):
        query = _query(EventQuerySerializer, request)
        try:
            events = selectors.event_list_for_auditor(
                request.user,
                after=query.get("after"),
                event_type=query.get("type", ""),
                target=query.get("target", ""),
                limit=query["limit"],
            )
        except PermissionError as exc:
            raise PermissionDenied() from exc
        next_url = None
        if len(events) == query["limit"]:
            params = {k: v for k, v in request.query_params.items() if k != "after"}
            params["after"] = events[-1].seq
            next_url = request.build_absolute_uri(f"{request.path}?{urlencode(params)}")
        return Response({"results": AuditEventSerializer(events, many=True).data, "next": next_url})


class EventProofView(AuditorView):
    @extend_schema(
        summary="RFC 9162 inclusion proof of one event (auditors only)",
        parameters=[ProofQuerySerializer],
        responses=InclusionProofSerializer,
    )
    def get(self, request, seq: int):
        query = _query(ProofQuerySerializer, request)
        if seq > MAX_BIGINT:
            raise NotFound("No such event.")
        event = selectors.event_get_for_auditor(request.user, seq)
        if event is None:
            raise NotFound("No such event.")
        tree_size = query.get("tree_size")
        if tree_size is None:
            latest = selectors.checkpoint_latest()
            if latest is None or latest.tree_size <= seq:
                raise ValidationError(
                    {"tree_size": "No checkpoint covers this event yet; give tree_size."}
                )
            tree_size = latest.tree_size
        if tree_size <= seq:
            raise ValidationError({"tree_size": f"Must be greater than {seq}."})
        if tree_size > checkpoints.ledger_size():
            raise ValidationError({"tree_size": "Larger than the ledger."})
        key = f"audit:inclusion:{seq}:{tree_size}"
        proof = cache.get(key)
        if proof is None:
            proof = checkpoints.inclusion_proof(seq=seq, tree_size=tree_size)
            cache.set(key, proof, timeout=3600)
        checkpoint = selectors.checkpoint_get(tree_size)
        data = {
            **proof,
            "checkpoint": CheckpointSerializer(checkpoint).data if checkpoint else None,
        }
        return Response(data)


class CheckpointLatestView(PublicView):
    @extend_schema(summary="The latest signed checkpoint", responses=CheckpointSerializer)
    def get(self, request):
        checkpoint = selectors.checkpoint_latest()
        if checkpoint is None:
            raise NotFound("No checkpoint has been signed yet.")
        return Response(CheckpointSerializer(checkpoint).data)


class CheckpointDetailView(PublicView):
    @extend_schema(summary="The checkpoint of one tree size", responses=CheckpointSerializer)
    def get(self, request, tree_size: int):
        checkpoint = selectors.checkpoint_get(tree_size) if tree_size <= MAX_BIGINT else None
        if checkpoint is None:
            raise NotFound("No checkpoint of that size.")
        return Response(CheckpointSerializer(checkpoint).data)


class ConsistencyProofView(PublicView):
    @extend_schema(
        summary="RFC 9162 consistency proof between two checkpoints",
        parameters=[
            OpenApiParameter(
                "first", int, required=True, description="The older checkpoint's size."
            ),
            OpenApiParameter(
                "second", int, required=True, description="The newer checkpoint's size."
            ),
        ],
        responses=ConsistencyProofSerializer,
    )
    def get(self, request):
        query = _query(ConsistencyQuerySerializer, request)
        first, second = query["first"], query["second"]
        if first > second:
            raise ValidationError({"first": "Must not be larger than second."})
        # Only between signed checkpoints: each proof costs a pass over the ledger's hashes,
        # and anything else proves nothing a witness could hold us to.
        for name, size in (("first", first), ("second", second)):
            if selectors.checkpoint_get(size) is None:
                raise NotFound(f"No checkpoint of size {size} ({name}).")
        key = f"audit:consistency:{first}:{second}"
        proof = cache.get(key)
        if proof is None:
            proof = checkpoints.consistency_proof(first=first, second=second)
            cache.set(key, proof, timeout=3600)
        return Response(proof)


class PublicKeyView(PublicView):
    @extend_schema(summary="The Ed25519 key that signs checkpoints", responses=PublicKeySerializer)
    def get(self, request):
        return Response(
            {
                "key_id": signing.key_id(),
                "algorithm": "Ed25519",
                "public_key": signing.public_key_raw_b64(),
                "pem": signing.public_key_pem(),
            }
        )
