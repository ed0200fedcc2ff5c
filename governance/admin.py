"""The stewards' and committees' view of the catalogue. Every save goes through a service (and so
into the ledger); object permissions decide what each person sees, and anything else is a 404.
A service's refusal is shown the admin's one way (`audit.admin_mixins`): next to the form's
fields, or as a message naming the object an action refused."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms.models import construct_instance
from django.template.response import TemplateResponse

from audit.admin_mixins import (
    LedgeredAdminMixin,
    ViewOnlyMixin,
    add_form_errors,
    refusal_message,
)
from core.exceptions import REFUSALS

from . import selectors, services
from .choices import Ontology
from .models import (
    AccessAgreement,
    CommitteeMembership,
    ConsentScope,
    DataAccessCommittee,
    Dataset,
    DatasetParty,
    LegalBasis,
    LegalBasisArticle,
    OntologyRelease,
    OntologyTerm,
    Organisation,
)


def submitted(form: forms.ModelForm):
    """A copy of the form's instance carrying the submitted values.

    `ModelForm.clean()` runs before Django copies `cleaned_data` onto `form.instance`, so a rule
    checked against `form.instance` would judge the stored object (or, when adding, an empty
    one) instead of what the steward typed.
    """
    return construct_instance(form, copy.copy(form.instance), form._meta.fields, form._meta.exclude)


def _counted(annotation: str, description: str):
    """A list column showing the count that the admin's `get_queryset` annotates as `annotation`,
    sortable by it."""

    def column(model_admin, obj):  # noqa: ARG001 - Django admin calls columns with (admin, obj)
        return getattr(obj, annotation)

    return admin.display(description=description, ordering=annotation)(column)


def _is_staff(request) -> bool:
    # The admin's login page asks these hooks about the anonymous visitor too.
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


class _ServiceSavedAdmin(LedgeredAdminMixin, admin.ModelAdmin):
    """An admin whose saves go through the services: `save_services` is the (create, update)
    pair, `saved_as` their keyword for the object, `service_terms(form)` anything else they take.
    The service validates, saves and writes the ledger event in one go."""

    save_services: tuple[Callable[..., Any], Callable[..., Any]]
    saved_as: str

    def service_terms(self, form) -> dict[str, Any]:
        return {}

    def save_model(self, request, obj, form, change):
        create, update = self.save_services
        save = update if change else create
        save(**{self.saved_as: obj}, actor=request.user, **self.service_terms(form))


@admin.register(Organisation)
class OrganisationAdmin(_ServiceSavedAdmin):
    save_services = (services.organisation_create, services.organisation_update)
    saved_as = "organisation"
    list_display = ["name", "country", "ror_id", "dpo_email", "dataset_count"]
    list_filter = ["country"]
    search_fields = ["name", "ror_id"]
    filter_horizontal = ["stewards"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_datasets=Count("datasets"))

    dataset_count = _counted("n_datasets", "datasets")

    def save_related(self, request, form, formsets, change):
        organisation = form.instance
        wanted = set(form.cleaned_data.get("stewards", []))
        current = set(organisation.stewards.all())
        for user in wanted - current:
            services.organisation_steward_add(
                organisation=organisation, user=user, actor=request.user
            )
        for user in current - wanted:
            services.organisation_steward_remove(
                organisation=organisation, user=user, actor=request.user
            )
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(OntologyTerm)
class OntologyTermAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Reference data, loaded by `manage.py load_ontologies`."""

    list_display = ["curie", "label", "shorthand", "ontology", "duo_kind", "obsolete"]
    list_filter = ["ontology", "duo_kind", "obsolete"]
    search_fields = ["curie", "label", "shorthand"]
    readonly_fields = [f.name for f in OntologyTerm._meta.fields] + ["parent_list"]
    exclude = ["parents"]

    @admin.display(description="parents")
    def parent_list(self, obj):
        return ", ".join(str(p) for p in obj.parents.all())

    def get_search_results(self, request, queryset, search_term):
        # The consent scope's disease autocomplete offers DOID terms only.
        if request.GET.get("field_name") == "diseases":
            queryset = queryset.filter(ontology=Ontology.DOID)
        return super().get_search_results(request, queryset, search_term)


@admin.register(OntologyRelease)
class OntologyReleaseAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["ontology", "term_count", "source_sha256", "loaded_at"]


class _ServiceValidatedForm(forms.ModelForm):
    """A model form that asks the service's own rules (`service_validate`) about what was typed
    (`submitted`), once the fields are valid, so the admin shows their refusal next to the fields."""

    def service_validate(self, obj, cleaned: dict[str, Any]) -> None:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                self.service_validate(submitted(self), cleaned)
            except ValidationError as exc:
                add_form_errors(self, exc)
        return cleaned


class ConsentScopeForm(_ServiceValidatedForm):
    region = forms.CharField(
        required=False,
        help_text="For GS: ISO country codes or EU / EEA, separated by commas or spaces.",
    )

    class Meta:
        model = ConsentScope
        exclude: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["region"] = ", ".join(self.instance.region or [])

    def clean_region(self):
        raw = self.cleaned_data.get("region") or ""
        return [r.upper() for r in raw.replace(",", " ").split()]

    def service_validate(self, obj, cleaned):
        services.consent_scope_validate(
            scope=obj,
            modifiers=cleaned.get("modifiers") or [],
            diseases=cleaned.get("diseases") or [],
        )


@admin.register(ConsentScope)
class ConsentScopeAdmin(_ServiceSavedAdmin):
    save_services = (services.consent_scope_create, services.consent_scope_update)
    saved_as = "scope"
    form = ConsentScopeForm
    list_display = ["name", "permission", "modifier_codes", "disease_count", "dataset_count"]
    list_filter = ["permission", "modifiers"]
    search_fields = ["name", "diseases__label", "diseases__curie"]
    autocomplete_fields = ["diseases"]
    filter_horizontal = ["modifiers"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("permission")
            .prefetch_related("modifiers")
            .annotate(
                n_diseases=Count("diseases", distinct=True),
                n_datasets=Count("datasets", distinct=True),
            )
        )

    @admin.display(description="modifiers")
    def modifier_codes(self, obj):
        return " ".join(sorted(m.shorthand for m in obj.modifiers.all())) or "—"

    disease_count = _counted("n_diseases", "diseases")

    dataset_count = _counted("n_datasets", "datasets")

    def service_terms(self, form):
        return {
            "modifiers": form.cleaned_data["modifiers"],
            "diseases": form.cleaned_data["diseases"],
        }

    def save_related(self, request, form, formsets, change):
        # The terms were set by the service together with their validation and ledger event.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(LegalBasisArticle)
class LegalBasisArticleAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["__str__", "article", "point", "needs_law"]
    list_filter = ["article", "needs_law"]


class LegalBasisForm(_ServiceValidatedForm):
    class Meta:
        model = LegalBasis
        exclude: tuple[str, ...] = ()

    def service_validate(self, obj, cleaned):
        services.legal_basis_validate(obj)


@admin.register(LegalBasis)
class LegalBasisAdmin(_ServiceSavedAdmin):
    save_services = (services.legal_basis_create, services.legal_basis_update)
    saved_as = "legal_basis"
    form = LegalBasisForm
    list_display = ["name", "article6", "article9", "law_reference"]
    list_filter = ["article6", "article9"]
    search_fields = ["name", "law_reference"]
    list_select_related = ["article6", "article9"]

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipForm(forms.ModelForm):
    class Meta:
        model = CommitteeMembership
        fields = ["user", "role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # A seat belongs to its person: the services change roles, not occupants (a
            # changed user here used to be dropped silently). Remove the row and add another.
            self.fields["user"].disabled = True


class MembershipInline(admin.TabularInline):
    model = CommitteeMembership
    form = MembershipForm
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(DataAccessCommittee)
class DataAccessCommitteeAdmin(_ServiceSavedAdmin):
    save_services = (services.committee_create, services.committee_update)
    saved_as = "committee"
    list_display = [
        "name",
        "slug",
        "decision_policy",
        "quorum",
        "service_level_days",
        "organisation",
        "member_count",
        "dataset_count",
    ]
    list_filter = [
        "decision_policy",
        "requires_ethics_approval",
        "requires_bona_fide",
        "requires_closeout",
    ]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request):
        qs = (
            super()
            .get_queryset(request)
            .select_related("organisation")
            .annotate(
                n_members=Count("memberships", distinct=True),
                n_datasets=Count("datasets", distinct=True),
            )
        )
        if request.user.is_superuser:
            return qs
        return qs.filter(memberships__user=request.user)

    member_count = _counted("n_members", "members")

    dataset_count = _counted("n_datasets", "datasets")

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if obj is None:
            return _is_staff(request) and request.user.committee_memberships.exists()
        return obj.memberships.filter(user=request.user).exists()

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def save_formset(self, request, form, formset, change):
        if formset.model is not CommitteeMembership:
            return super().save_formset(request, form, formset, change)
        # The services make the changes (formset.save() would bypass them); the admin's change
        # message reads what formset.save() would have recorded, so record the same lists.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.deleted_forms:
            if inline_form.instance.pk:
                services.membership_remove(membership=inline_form.instance, actor=request.user)
                formset.deleted_objects.append(inline_form.instance)
        for inline_form in formset.forms:
            if not inline_form.has_changed() or inline_form in formset.deleted_forms:
                continue
            data = inline_form.cleaned_data
            if inline_form.instance.pk:
                seat = services.membership_change_role(
                    membership=inline_form.instance, role=data["role"], actor=request.user
                )
                formset.changed_objects.append((seat, inline_form.changed_data))
            else:
                seat = services.membership_add(
                    committee=form.instance,
                    user=data["user"],
                    role=data["role"],
                    actor=request.user,
                )
                formset.new_objects.append(seat)
        return None


@admin.register(AccessAgreement)
class AccessAgreementAdmin(_ServiceSavedAdmin):
    save_services = (services.agreement_create, services.agreement_update)
    saved_as = "agreement"
    list_display = ["title", "committee", "dataset", "version", "status", "published_at"]
    list_filter = ["status", "committee"]
    search_fields = ["title", "text"]
    actions = ["publish"]
    list_select_related = ["committee", "dataset"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != "draft":
            return ["committee", "dataset", "title", "text", "version", "status", "published_at"]
        if obj is not None:
            # The version was numbered within its committee (or dataset): it stays there.
            return ["committee", "dataset", "version", "status", "published_at"]
        return ["version", "status", "published_at"]

    def has_change_permission(self, request, obj=None):
        # Applicants accepted the exact text of a published version: nobody edits it.
        if obj is not None and obj.status != "draft":
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(
        description="Publish the selected draft versions (they become current and immutable)"
    )
    def publish(self, request, queryset):
        for agreement in queryset:
            try:
                services.agreement_publish(agreement=agreement, actor=request.user)
            except REFUSALS as exc:
                refusal_message(request, exc, about=str(agreement))
            else:
                self.message_user(request, f"Published {agreement}.", messages.SUCCESS)


class DatasetPartyInline(admin.TabularInline):
    model = DatasetParty
    extra = 0


class DatasetForm(_ServiceValidatedForm):
    class Meta:
        model = Dataset
        exclude: tuple[str, ...] = ()

    def service_validate(self, obj, cleaned):
        services.dataset_validate(obj, publishing=obj.status == "published")


class RetireForm(forms.Form):
    reason = forms.CharField(max_length=500)


@admin.register(Dataset)
class DatasetAdmin(_ServiceSavedAdmin):
    save_services = (services.dataset_create, services.dataset_update)
    saved_as = "dataset"
    form = DatasetForm
    list_display = [
        "accession",
        "title",
        "species",
        "organ",
        "status",
        "committee",
        "controller",
        "permission_code",
        "slide_count",
    ]
    list_filter = ["status", "species", "committee", "controller", "consent_scope__permission"]
    search_fields = ["accession", "title", "organ", "description"]
    readonly_fields = [
        "accession",
        "status",
        "published_at",
        "retired_at",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["committee", "controller", "consent_scope__permission"]
    inlines = [DatasetPartyInline]
    actions = ["publish", "retire"]
    list_per_page = 50
    show_full_result_count = False

    def get_queryset(self, request):
        return selectors.dataset_list_for_user(request.user).select_related(
            "committee", "controller", "consent_scope__permission"
        )

    @admin.display(description="DUO", ordering="consent_scope__permission__shorthand")
    def permission_code(self, obj):
        return obj.consent_scope.permission.shorthand if obj.consent_scope_id else "—"

    def _stewarded(self, request):
        if not _is_staff(request):
            return Organisation.objects.none()
        return Organisation.objects.filter(stewards=request.user)

    def has_module_permission(self, request):
        return request.user.is_superuser or self.has_view_permission(request)

    def has_view_permission(self, request, obj=None):
        user = request.user
        if user.is_superuser:
            return True
        if obj is None:
            return _is_staff(request) and (
                user.committee_memberships.exists() or self._stewarded(request).exists()
            )
        return user.has_perm("governance.view_dataset", obj)

    def has_change_permission(self, request, obj=None):
        user = request.user
        if user.is_superuser:
            return True
        if obj is None:
            return self._stewarded(request).exists()
        return user.has_perm("governance.change_dataset", obj)

    def has_add_permission(self, request):
        return request.user.is_superuser or self._stewarded(request).exists()

    def has_delete_permission(self, request, obj=None):
        return False  # datasets are retired, never deleted (grants and the ledger refer to them)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "controller" and not request.user.is_superuser:
            kwargs["queryset"] = self._stewarded(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _may_publish(self, request, dataset):
        return request.user.is_superuser or request.user.has_perm(
            "governance.publish_dataset", dataset
        )

    def _on_each(self, request, queryset, call, *, verb: str, done: str) -> None:
        """`call(dataset)` for each selected dataset the person may publish or retire, with one
        message per dataset: refused ("you may not <verb> it", or the service's reason) or done."""
        for dataset in queryset:
            if not self._may_publish(request, dataset):
                self.message_user(
                    request, f"{dataset.accession}: you may not {verb} it.", messages.ERROR
                )
                continue
            try:
                call(dataset)
            except REFUSALS as exc:
                refusal_message(request, exc, about=dataset.accession)
            else:
                self.message_user(request, f"{done} {dataset.accession}.", messages.SUCCESS)

    @admin.action(description="Publish the selected draft datasets")
    def publish(self, request, queryset):
        self._on_each(
            request,
            queryset,
            lambda dataset: services.dataset_publish(dataset=dataset, actor=request.user),
            verb="publish",
            done="Published",
        )

    @admin.action(description="Retire the selected datasets (asks for a reason)")
    def retire(self, request, queryset):
        form = RetireForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            self._on_each(
                request,
                queryset,
                lambda dataset: services.dataset_retire(
                    dataset=dataset, actor=request.user, reason=form.cleaned_data["reason"]
                ),
                verb="retire",
                done="Retired",
            )
            return None
        return TemplateResponse(
            request,
            "admin/governance/retire_confirm.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "datasets": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )
