"""The forms of the committee's review workspace: one per step on the review page (comment, vote,
the three decisions, revoke a grant, declare a conflict, appoint a deputy) and the one-field
"why" form an admin action asks before it acts. They only validate what is typed; the services
they feed decide whether the step is allowed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.forms import reason_form
from governance.models import Dataset

from ..choices import CommentVisibility, DecisionOutcome, VoteChoice
from ..models import Decision, Grant, Review
from ..services import decisions as decision_services
from ..services.grants import bar_until_problem


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write a comment."},
    )
    visibility = forms.ChoiceField(
        label="Who may read it",
        choices=CommentVisibility.choices,
        initial=CommentVisibility.INTERNAL,
        widget=forms.RadioSelect,
    )


class VoteForm(forms.Form):
    choice = forms.ChoiceField(
        label="Your vote",
        choices=VoteChoice.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Vote approve, reject or abstain."},
    )
    rationale = forms.CharField(
        label="Rationale",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Give the rationale for your vote."},
    )


class _DecisionForm(forms.Form):
    def __init__(self, *args, review: Review, **kwargs):
        self.review = review
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict[str, Any]:
        """What `decision_record` takes from this form: its fields, by the same names."""
        return dict(self.cleaned_data)


class ApproveForm(_DecisionForm):
    end_date = forms.DateField(
        label="End date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "An approval needs an end date."},
        validators=Decision._meta.get_field("end_date").validators,
    )
    conditions = forms.CharField(
        label="Conditions (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    datasets = forms.ModelMultipleChoiceField(
        label="Datasets to approve",
        queryset=Dataset.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Approve one or more of this committee's requested datasets."},
    )

    def __init__(self, *args, review: Review, **kwargs):
        super().__init__(*args, review=review, **kwargs)
        datasets = review.datasets().order_by("accession")
        self.fields["datasets"].queryset = datasets
        self.fields["datasets"].label_from_instance = lambda d: f"{d.accession} — {d.title}"
        latest = decision_services.latest_end_date(review.request)
        # A hint for the browser; the service enforces the same limits.
        self.fields["end_date"].widget.attrs.update(
            min=(timezone.localdate() + timedelta(days=1)).isoformat(), max=latest.isoformat()
        )
        if not self.is_bound:
            self.initial.setdefault("end_date", latest)
            self.initial.setdefault("datasets", [d.pk for d in datasets])

    def service_kwargs(self):
        data = self.cleaned_data
        return {
            "end_date": data["end_date"],
            "conditions": data["conditions"],
            "datasets": list(data["datasets"]),
        }


class RejectForm(_DecisionForm):
    reason = forms.CharField(
        label="Reason for rejecting (the applicant reads it)",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "A rejection needs a reason."},
    )


class ReturnForm(_DecisionForm):
    questions = forms.CharField(
        label="Questions for the applicant (they answer before resubmitting)",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Returning a request needs the committee's questions."},
    )


DECISION_FORMS: dict[str, type[_DecisionForm]] = {
    DecisionOutcome.APPROVE: ApproveForm,
    DecisionOutcome.REJECT: RejectForm,
    DecisionOutcome.RETURN: ReturnForm,
}


class CloseForm(forms.Form):
    reason = forms.CharField(
        label="Reason for closing (the applicant reads it)",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why the review is closed; the applicant is told."},
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 1}),
        error_messages={"required": "Say why the grant is revoked."},
    )

    bar_until = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="For misuse only: leave empty to revoke this grant alone.",
    )

    def __init__(self, *args, grant: Grant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = (
            f"Reason for revoking {grant.user.username}'s access to {grant.dataset.accession} "
            "(they read it)"
        )
        self.fields[
            "bar_until"
        ].label = f"Also bar {grant.user.username} from the committee's datasets until (optional)"

    def clean_bar_until(self):
        until = self.cleaned_data.get("bar_until")
        problem = bar_until_problem(until)
        if problem:
            raise forms.ValidationError(problem)
        return until


class ExpertInviteForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address of the outside expert",
        max_length=254,
        help_text="They get a link: after signing in they read this request's answers and "
        "attachments and write their opinion to the committee. They never vote or decide; "
        "their access ends with this review.",
        error_messages={"required": "Give the expert's e-mail address."},
    )


class RecusalForm(forms.Form):
    reason = forms.CharField(
        label="Your conflict of interest",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say what the conflict of interest is."},
    )


class DeputyForm(forms.Form):
    user = forms.CharField(
        label="Username of the deputy decider",
        max_length=150,
        error_messages={"required": "Name the person to appoint."},
    )
    reason = forms.CharField(
        label="Why a deputy is needed",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why a deputy decider is needed."},
    )

    def __init__(self, *args, actor, **kwargs):
        self.actor = actor
        super().__init__(*args, **kwargs)

    def clean_user(self):
        # The service refuses anyone but an administrator; refuse before the look-up too, so
        # that a committee member cannot use this form to learn which usernames exist.
        if not self.actor.is_superuser:
            raise ValidationError("Only an administrator may appoint a deputy decider.")
        username = self.cleaned_data["user"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise ValidationError("No account with that username.")
        return user


RevokeActionForm = reason_form(
    label="Reason for revoking", required="Say why the grants are revoked."
)
