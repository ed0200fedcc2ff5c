"""Webhook subscriptions (superusers; every change through `webhooks.services`, the secret
write-only and shown once) and the delivery log, with "retry now"."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import reverse

from audit.admin_mixins import (
    LedgeredSavesMixin,
    SuperuserOnlyMixin,
    ViewOnlyMixin,
    add_form_errors,
    refusal_message,
)
from core.exceptions import Invalid, ServiceError

from . import services
from .choices import DeliveryStatus, WebhookEvent
from .models import WebhookDelivery, WebhookSubscription
from .tasks import deliver_after_commit


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )
    new_secret = forms.CharField(
        label="Secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Standard Webhooks secret (whsec_…). Leave blank: a new subscription gets a "
        "generated one, shown once; a saved one keeps its secret.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["url", "description", "events", "active"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            services.subscription_check(
                url=data.get("url", ""),
                events_=data.get("events", []),
                secret=data.get("new_secret") or None,
            )
        except Invalid as exc:
            add_form_errors(self, exc)
        return data


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(SuperuserOnlyMixin, LedgeredSavesMixin, admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["url", "description", "event_list", "active", "pending", "given_up"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    actions = None

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        # Deliveries keep their log: a subscription is switched off, not deleted.
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_count=Count(
                    "deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)
                ),
                failed_count=Count(
                    "deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)
                ),
            )
        )

    @admin.display(description="events")
    def event_list(self, obj):
        return ", ".join(obj.events)

    @admin.display(description="pending", ordering="pending_count")
    def pending(self, obj):
        return obj.pending_count

    @admin.display(description="given up", ordering="failed_count")
    def given_up(self, obj):
        return obj.failed_count

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        secret = data.get("new_secret") or None
        if change:
            saved = services.subscription_update(
                subscription=obj,
                actor=request.user,
                url=data["url"],
                events=data["events"],
                active=data["active"],
                description=data["description"],
                secret=secret,
            )
            shown = None
        else:
            saved, shown = services.subscription_create(
                url=data["url"],
                events=data["events"],
                actor=request.user,
                secret=secret,
                description=data["description"],
                active=data["active"],
            )
        obj.pk = saved.pk
        # A generated secret is shown on the next page, once (`response_add`), and kept nowhere
        # else; a secret the administrator typed in they already have.
        request._webhook_secret = None if secret else shown

    def response_add(self, request, obj, post_url_continue=None):
        return self._secret_once(request, obj) or super().response_add(
            request, obj, post_url_continue
        )

    def _secret_once(self, request, obj):
        secret = getattr(request, "_webhook_secret", None)
        if not secret:
            return None
        return TemplateResponse(
            request,
            "admin/webhooks/secret_once.html",
            {
                **self.admin_site.each_context(request),
                "title": "Signing secret",
                "subscription": obj,
                "secret": secret,
                "next_url": reverse("admin:webhooks_webhooksubscription_changelist"),
                "opts": self.opts,
            },
            headers={"Cache-Control": "no-store"},
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(SuperuserOnlyMixin, ViewOnlyMixin, admin.ModelAdmin):
    """The delivery log: every webhook queued, its attempts and its outcome."""

    list_display = [
        "pk",
        "event_type",
        "subscription",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "delivered_at",
        "last_status_code",
        "last_error",
    ]
    list_filter = ["status", "event_type", "subscription"]
    list_select_related = ["subscription"]
    search_fields = ["webhook_id"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["retry_now"]

    @admin.action(description="Retry now (deliveries not yet delivered)")
    def retry_now(self, request, queryset):
        wanted = list(queryset.exclude(status=DeliveryStatus.DELIVERED))
        try:
            subscription_ids = services.deliveries_retry(deliveries=wanted, actor=request.user)
        except ServiceError as exc:
            refusal_message(request, exc)
            return
        deliver_after_commit(subscription_ids)
        self.message_user(
            request, f"{len(wanted)} deliveries queued to be sent now.", messages.SUCCESS
        )
