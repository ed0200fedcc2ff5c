from __future__ import annotations

from rest_framework import serializers

from ..canonical import format_time
from ..models import AuditEvent, Checkpoint
from ..triggers import EVENT_COLUMNS

MAX_BIGINT = 2**63 - 1


class EventQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(
        required=False,
        min_value=-1,
        max_value=MAX_BIGINT,
        help_text="Only events with seq > after.",
    )
    type = serializers.CharField(
        required=False,
        max_length=64,
        allow_blank=True,
        help_text='An event type ("governance.dataset_published") or an area ("governance").',
    )
    target = serializers.CharField(
        required=False,
        max_length=140,
        allow_blank=True,
        help_text='"type" or "type:id", e.g. "governance.dataset:TSR-DS-000001".',
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)


class ProofQuerySerializer(serializers.Serializer):
    tree_size = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_BIGINT,
        help_text="Size of the tree to prove inclusion in (default: the latest checkpoint's).",
    )


class ConsistencyQuerySerializer(serializers.Serializer):
    first = serializers.IntegerField(min_value=1, max_value=MAX_BIGINT)
    second = serializers.IntegerField(min_value=1, max_value=MAX_BIGINT)


class AuditEventSerializer(serializers.ModelSerializer):
    # The exact string that was hashed, so that a client can recompute `hash`.
    occurred_at = serializers.SerializerMethodField()
    payload = serializers.JSONField()

    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            *EVENT_COLUMNS,
            "prev_hash",
            "hash",
        ]

    def get_occurred_at(self, obj: AuditEvent) -> str:
        return format_time(obj.occurred_at)


class EventPageSerializer(serializers.Serializer):
    results = AuditEventSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="URL of the next page, or null.")


class CheckpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = Checkpoint
        fields = ["tree_size", "root_hash", "issued_at", "key_id", "body", "signature"]


class PublicKeySerializer(serializers.Serializer):
    key_id = serializers.CharField()
    algorithm = serializers.CharField()
    public_key = serializers.CharField(help_text="Base64 of the 32 raw Ed25519 public key bytes.")
    pem = serializers.CharField()


class InclusionProofSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    leaf_hash = serializers.CharField()
    root_hash = serializers.CharField()
    proof = serializers.ListField(child=serializers.CharField())
    checkpoint = CheckpointSerializer(allow_null=True)


class ConsistencyProofSerializer(serializers.Serializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    first_root_hash = serializers.CharField()
    second_root_hash = serializers.CharField()
    proof = serializers.ListField(child=serializers.CharField())
