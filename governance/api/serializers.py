from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import (
    AccessAgreement,
    ConsentScope,
    DataAccessCommittee,
    Dataset,
    LegalBasis,
    OntologyTerm,
    Organisation,
)


class OntologyTermSerializer(serializers.ModelSerializer):
    class Meta:
        model = OntologyTerm
        fields = ["curie", "shorthand", "label"]


class ConsentScopeSerializer(serializers.ModelSerializer):
    permission = OntologyTermSerializer()
    modifiers = OntologyTermSerializer(many=True)
    diseases = OntologyTermSerializer(many=True)
    region = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = ConsentScope
        fields = [
            "name",
            "permission",
            "modifiers",
            "diseases",
            "region",
            "moratorium_until",
            "time_limit_months",
        ]


class ArticleSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()


class LegalBasisSerializer(serializers.ModelSerializer):
    article6 = ArticleSerializer()
    article9 = ArticleSerializer(allow_null=True)

    class Meta:
        model = LegalBasis
        fields = ["name", "article6", "article9", "law_reference"]


class CommitteeSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = DataAccessCommittee
        fields = ["slug", "name", "contact_email", "decision_policy", "url"]

    def get_url(self, obj) -> str:
        return settings.TESSERA_BASE_URL + obj.get_absolute_url()


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["name", "country", "ror_id"]


class AgreementVersionSerializer(serializers.ModelSerializer):
    """One published version of an access agreement: its `id` is what
    `POST /api/v1/access-requests/<id>/accept-agreement/` takes."""

    committee = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = AccessAgreement
        fields = ["id", "committee", "title", "version", "text", "published_at"]


class DatasetSerializer(serializers.ModelSerializer):
    consent_scope = ConsentScopeSerializer(allow_null=True)
    legal_basis = LegalBasisSerializer(allow_null=True)
    committee = CommitteeSerializer()
    controller = OrganisationSerializer()
    stains = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    agreement = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = [
            "accession",
            "url",
            "title",
            "description",
            "species",
            "organ",
            "stains",
            "scanner",
            "slide_count",
            "total_bytes",
            "status",
            "published_at",
            "retention_until",
            "controller",
            "committee",
            "consent_scope",
            "legal_basis",
            "agreement",
        ]

    @extend_schema_field(AgreementVersionSerializer(allow_null=True))
    def get_agreement(self, obj):
        """The agreement version in force for this dataset (its own, else its committee's), which
        an applicant accepts before submitting; null if none is published."""
        agreements = self.context.get("agreements")
        agreement = agreements.get(obj.pk) if agreements is not None else obj.current_agreement
        return AgreementVersionSerializer(agreement).data if agreement is not None else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_stains(self, obj) -> list[str]:
        return obj.stain_list

    def get_url(self, obj) -> str:
        return settings.TESSERA_BASE_URL + obj.get_absolute_url()
