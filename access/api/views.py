"""REST API for access requests and grants: the same services and permission rules as the
portal and the admin, for committees' and institutions' own tooling. A service's refusal is
answered by `core.api.exception_handler` (400 bad input, 403 not allowed, 409 wrong state, with
the locked `fields` when the answers an approval relied on would change)."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import StandardPagination
from core.api_auth import OneOf, token_allows
from core.parsers import JSONParser
from core.scopes import COMMITTEE_REVIEW, GRANTS_READ, REQUESTS_READ, REQUESTS_WRITE
from governance.models import AccessAgreement, DataAccessCommittee

from .. import selectors
from ..choices import InvitationStatus
from ..models import AccessRequest, Grant, Review
from ..services import amendments as amendment_services
from ..services import closeouts as closeout_services
from ..services import decisions as decision_services
from ..services import experts as expert_services
from ..services import grants as grant_services
from ..services import renewals as renewal_services
from ..services import requests as request_services
from ..services import reviews as review_services
from ..services import team as team_services
from .serializers import (
    AcceptAgreementSerializer,
    AccessRequestCopySerializer,
    AccessRequestSerializer,
    CloseOutFileSerializer,
    CloseSerializer,
    CommentSerializer,
    ConsentReevaluationSerializer,
    ConversationEntrySerializer,
    DecideSerializer,
    ExpertInviteSerializer,
    GrantSerializer,
    InvitationAnsweredSerializer,
    InvitationAnswerSerializer,
    InvitationSendSerializer,
    InvitationSerializer,
    OutsideReviewerSerializer,
    RecuseSerializer,
    RenewSerializer,
    RevokeSerializer,
    TeamDepartureSerializer,
    VoteSerializer,
)


def _visible_requests(user, *, as_applicant: bool = True, as_reviewer: bool = True):
    if not (as_applicant or as_reviewer):
        return AccessRequest.objects.none()
    ids = selectors.request_ids_visible_to(user, as_applicant=as_applicant, as_reviewer=as_reviewer)
    return (
        AccessRequest.objects.filter(pk__in=ids)
        .select_related("applicant", "closeout__filed_by")
        .prefetch_related(
            "reviews__committee__memberships",
            "reviews__deputies",
            "reviews__recusals",
            "datasets__committee",
            "diseases",
            "team_members",
        )
        .order_by("-created_at", "-pk")
    )


@extend_schema_view(
    list=extend_schema(
        summary="Access requests I applied for, am on the team of, or review",
        parameters=[
            OpenApiParameter(
                "role",
                str,
                enum=["applicant", "committee"],
                description="Only mine / only my committees'.",
            ),
        ],
    ),
    create=extend_schema(summary="Create a draft access request"),
    retrieve=extend_schema(summary="One access request"),
    partial_update=extend_schema(summary="Edit a draft (or a request returned for changes)"),
)
class AccessRequestViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AccessRequestSerializer
    pagination_class = StandardPagination
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    http_method_names = ["get", "post", "patch", "head", "options"]
    # What an OAuth token needs, per action (core/api_auth.py); an action missing here
    # refuses tokens. A token reads the applicant's side with requests:read or :write, and
    # the committee's side (the review queue) with committee:review only.
    token_scopes = {
        "list": OneOf((REQUESTS_READ, REQUESTS_WRITE, COMMITTEE_REVIEW)),
        "retrieve": OneOf((REQUESTS_READ, REQUESTS_WRITE, COMMITTEE_REVIEW)),
        "create": [REQUESTS_WRITE],
        "partial_update": [REQUESTS_WRITE],
        "submit": [REQUESTS_WRITE],
        "withdraw": [REQUESTS_WRITE],
        "resubmit": [REQUESTS_WRITE],
        "renew": [REQUESTS_WRITE],
        "amend": [REQUESTS_WRITE],
        "copy": [REQUESTS_WRITE],
        "closeout": [REQUESTS_WRITE],
        "accept_agreement": [REQUESTS_WRITE],
        "comment": OneOf((REQUESTS_WRITE, COMMITTEE_REVIEW)),  # narrowed in comment()
        "comments": OneOf((REQUESTS_READ, REQUESTS_WRITE, COMMITTEE_REVIEW)),
        "invitations": OneOf((REQUESTS_READ, REQUESTS_WRITE)),
        "invite": [REQUESTS_WRITE],
        "invitation_withdraw": [REQUESTS_WRITE],
        "team_member_remove": [REQUESTS_WRITE],
        "member_remove": [REQUESTS_WRITE],
        "leave": [REQUESTS_WRITE],
        "vote": [COMMITTEE_REVIEW],
        "decide": [COMMITTEE_REVIEW],
        "revoke": [COMMITTEE_REVIEW],
        "close": [COMMITTEE_REVIEW],
        "recuse": [COMMITTEE_REVIEW],
    }

    def _reach(self) -> dict[str, bool]:
        """Which sides of requests the caller reaches: a person's session both, a token those
        its scopes cover."""
        request = self.request
        return {
            "as_applicant": token_allows(request, REQUESTS_READ)
            or token_allows(request, REQUESTS_WRITE),
            "as_reviewer": token_allows(request, COMMITTEE_REVIEW),
        }

    def _visible(self):
        return _visible_requests(self.request.user, **self._reach())

    # A refused action (403/404) is recorded in the ledger, bounded (core/api.py).
    refusals_recorded = {
        action: f"access_request.{action}"
        for action in (
            "submit",
            "withdraw",
            "resubmit",
            "renew",
            "amend",
            "copy",
            "closeout",
            "accept_agreement",
            "comment",
            "invite",
            "invitation_withdraw",
            "team_member_remove",
            "member_remove",
            "leave",
            "vote",
            "decide",
            "revoke",
            "close",
            "recuse",
        )
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular building the schema
            return AccessRequest.objects.none()
        role = self.request.query_params.get("role")
        if role not in (None, "applicant", "committee"):
            raise ValidationError({"role": "Use applicant or committee."})
        reach = self._reach()
        return _visible_requests(
            self.request.user,
            as_applicant=reach["as_applicant"] and role != "committee",
            as_reviewer=reach["as_reviewer"] and role != "applicant",
        )

    def get_object(self):
        try:
            return self._visible().get(pk=int(self.kwargs["pk"]))
        except (AccessRequest.DoesNotExist, ValueError):
            raise Http404 from None

    def _relations(self, data):
        return {k: data.pop(k) for k in ("datasets", "diseases") if k in data}

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        relations = self._relations(data)
        serializer.instance = request_services.request_create(
            applicant=self.request.user, data=data, **relations
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        relations = self._relations(data)
        serializer.instance = request_services.request_update(
            access_request=serializer.instance,
            actor=self.request.user,
            data=data,
            **relations,
        )

    def _respond(self, access_request, code=status.HTTP_200_OK):
        fresh = self._visible().get(pk=access_request.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=None, responses=AccessRequestSerializer, summary="Submit a draft")
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        access_request = request_services.request_submit(
            access_request=self.get_object(), actor=request.user
        )
        return self._respond(access_request)

    @extend_schema(request=None, responses=AccessRequestSerializer, summary="Withdraw the request")
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        access_request = request_services.request_withdraw(
            access_request=self.get_object(), actor=request.user
        )
        return self._respond(access_request)

    @extend_schema(
        request=None,
        responses=AccessRequestSerializer,
        summary="Resubmit after answering a committee",
    )
    @action(detail=True, methods=["post"])
    def resubmit(self, request, pk=None):
        access_request = request_services.request_resubmit(
            access_request=self.get_object(), actor=request.user
        )
        return self._respond(access_request)

    @extend_schema(
        request=RenewSerializer,
        responses={201: AccessRequestSerializer},
        summary="Ask for more time on an approved request (its applicant only)",
        description="From `TESSERA_RENEWAL_WINDOW_DAYS` (60) days before a grant ends: a "
        "renewal request for the datasets whose grants end within the window, with the "
        "request's answers and team, submitted at once to their committees. Its approval "
        "extends the grants without a gap, up to the ethics approval's expiry and the datasets' "
        "retention end. 409 outside the window or while a renewal is waiting.",
    )
    @action(detail=True, methods=["post"])
    def renew(self, request, pk=None):
        access_request = self._applicants_request()
        body = RenewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        renewal = renewal_services.renewal_open(
            access_request=access_request,
            actor=request.user,
            months=body.validated_data["months"],
            progress_report=body.validated_data["progress_report"],
        )
        return self._respond(renewal, code=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={201: AccessRequestSerializer},
        summary="Start changing an approved project (its applicant only)",
        description="Returns a new draft amendment (`kind` `amendment`, `parent` this request), "
        "pre-filled from the project as it stands: its answers, the datasets it holds active "
        "grants for, its diseases, its team and the agreements accepted. Edit it (PATCH: add "
        "or remove datasets, change the purpose or the ethics approval; invite or remove team "
        "members) and submit it as any draft. Only the committees whose decision the change "
        "touches review it (`amendment.review`): an added dataset's committee; for a changed "
        "purpose every committee whose datasets the project keeps; for an added member every "
        "committee of the project. Once every one of them approves (or at submission, when "
        "none has to), the project's grants are created and revoked to match. 409 when the "
        "request is not an approved first request, holds no active grant, or a change is "
        "already under way. Anyone but the applicant gets a 404.",
    )
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        amendment = amendment_services.amendment_open(
            access_request=self._applicants_request(), actor=request.user
        )
        return self._respond(amendment, code=status.HTTP_201_CREATED)

    @extend_schema(
        request=AcceptAgreementSerializer,
        responses=AccessRequestSerializer,
        summary="Accept an agreement version",
    )
    @action(detail=True, methods=["post"], url_path="accept-agreement")
    def accept_agreement(self, request, pk=None):
        access_request = self.get_object()
        body = AcceptAgreementSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        agreement = AccessAgreement.objects.filter(pk=body.validated_data["agreement"]).first()
        if agreement is None:
            raise ValidationError({"agreement": "No such agreement version."})
        request_services.agreement_accept(
            access_request=access_request,
            user=request.user,
            agreement=agreement,
        )
        return self._respond(access_request)

    @extend_schema(
        request=None,
        responses={201: AccessRequestCopySerializer},
        summary="Copy a finished request as a new draft (its applicant only)",
        description="Starts a new draft pre-filled from this request, which must be finished: "
        "withdrawn, closed, or submitted with every committee's part decided (409 otherwise). "
        "Copied: the answers, the diseases and the datasets still in the catalogue. Not "
        "copied: the ethics approval document (upload it again), datasets no longer in the "
        "catalogue, and the team (invite its members again); the answer lists them. The new "
        "draft's `copied_from` names this request. Anyone but the applicant gets a 404.",
    )
    @action(detail=True, methods=["post"])
    def copy(self, request, pk=None):
        copy = request_services.request_copy(
            access_request=self._applicants_request(), actor=request.user
        )
        fresh = self._visible().get(pk=copy.pk)
        for name in ("datasets_skipped", "not_copied", "team_not_copied"):
            setattr(fresh, name, getattr(copy, name))
        body = AccessRequestCopySerializer(fresh, context=self.get_serializer_context())
        return Response(body.data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CloseOutFileSerializer,
        responses={201: AccessRequestSerializer},
        summary="File the close-out of the project (its applicant only)",
        description="At the end of a project, once every grant of the request has ended "
        "(expired or revoked) or the request is closed: what became of the data (deleted, or "
        "kept under an agreement, named in `agreement`) and the results and publications. "
        "Once per request (409 when filed already or the project has not ended). The answer "
        "is the request, its `closeout` filled in; its committees read it there. A committee "
        "with `requires_closeout` refuses the applicant's next request until it is filed. "
        "Anyone but the applicant gets a 404.",
    )
    @action(detail=True, methods=["post"])
    def closeout(self, request, pk=None):
        access_request = self._applicants_request()
        body = CloseOutFileSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        closeout_services.closeout_file(
            access_request=access_request, actor=request.user, data=dict(body.validated_data)
        )
        return self._respond(access_request, status.HTTP_201_CREATED)

    # --- the team: by e-mail invitation (access.services.team), for the applicant only --------
    def _applicants_request(self) -> AccessRequest:
        """The request, for its applicant only: anyone else, team members included, gets a 404
        (as in the portal)."""
        access_request = self.get_object()
        if access_request.applicant_id != self.request.user.pk:
            raise Http404
        return access_request

    @extend_schema(
        request=None,
        responses=InvitationSerializer(many=True),
        summary="The team invitations sent for this request (its applicant only)",
    )
    # Answered whole (at most MAX_PENDING open ones); `pagination_class=None` tells the schema.
    @action(detail=True, methods=["get"], pagination_class=None)
    def invitations(self, request, pk=None):
        invitations = selectors.invitations_of_request(self._applicants_request())
        return Response(InvitationSerializer(invitations, many=True).data)

    @extend_schema(
        request=InvitationSendSerializer,
        responses={201: InvitationSerializer},
        summary="Invite an e-mail address to join the team",
        description="The address receives a link; the person joins the team when they accept "
        "it, signed in, in the portal. The answer is the same whether or not the address has "
        "an account.",
    )
    @invitations.mapping.post
    def invite(self, request, pk=None):
        access_request = self._applicants_request()
        body = InvitationSendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invitation = team_services.invitation_send(
            access_request=access_request, actor=request.user, email=body.validated_data["email"]
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=InvitationSerializer,
        parameters=[OpenApiParameter("invitation_pk", int, OpenApiParameter.PATH)],
        summary="Withdraw a pending team invitation (its link stops working)",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"invitations/(?P<invitation_pk>[0-9]+)/withdraw",
    )
    def invitation_withdraw(self, request, pk=None, invitation_pk=None):
        access_request = self._applicants_request()
        invitation = access_request.invitations.filter(pk=int(invitation_pk)).first()
        if invitation is None:
            raise Http404
        invitation = team_services.invitation_withdraw(invitation=invitation, actor=request.user)
        return Response(InvitationSerializer(invitation).data)

    def _remove_member(self, username: str):
        access_request = self._applicants_request()
        body = TeamDepartureSerializer(data=self.request.data)
        body.is_valid(raise_exception=True)
        if username == access_request.applicant.get_username():
            member = access_request.applicant  # refused by the service: the applicant stays
        else:
            member = access_request.team_members.filter(username=username).first()
        if member is None:
            raise Http404
        team_services.team_member_remove(
            access_request=access_request,
            actor=self.request.user,
            user=member,
            reason=body.validated_data.get("reason", ""),
        )
        return self._respond(access_request)

    @extend_schema(
        request=TeamDepartureSerializer,
        responses=AccessRequestSerializer,
        parameters=[
            OpenApiParameter("username", str, OpenApiParameter.PATH, description="A team member.")
        ],
        summary="Take a member off the team (the applicant)",
        description="Needs no review. Before an approval the member is simply off the team; "
        "after one, every grant the member holds from this request is revoked at once (the "
        "reason recorded on each, their tokens and visas listed in the revocation feed). The "
        "applicant cannot remove themselves (409: withdraw the request instead).",
    )
    @action(detail=True, methods=["post"], url_path=r"members/(?P<username>[^/]+)/remove")
    def member_remove(self, request, pk=None, username=None):
        return self._remove_member(username)

    @extend_schema(
        request=TeamDepartureSerializer,
        responses=AccessRequestSerializer,
        parameters=[
            OpenApiParameter("username", str, OpenApiParameter.PATH, description="A team member.")
        ],
        summary="Take a member off the team (the former route of members/{username}/remove/)",
        deprecated=True,
    )
    @action(detail=True, methods=["post"], url_path=r"team/(?P<username>[^/]+)/remove")
    def team_member_remove(self, request, pk=None, username=None):
        return self._remove_member(username)

    @extend_schema(
        request=TeamDepartureSerializer,
        responses={204: None},
        summary="Leave this request's team (a member)",
        description="Needs no review: the caller is off the team, and every grant they hold "
        "from this request is revoked at once (tokens and visas into the revocation feed); the "
        "applicant is told. The applicant cannot leave (409: withdraw the request instead); "
        "anyone not on the team gets 404.",
    )
    @action(detail=True, methods=["post"])
    def leave(self, request, pk=None):
        body = TeamDepartureSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        team_services.team_member_leave(
            access_request=self.get_object(),
            actor=request.user,
            reason=body.validated_data.get("reason", ""),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _review(self, access_request, slug: str | None) -> Review:
        reviews = selectors.review_list_for_user(self.request.user).filter(request=access_request)
        if slug:
            reviews = reviews.filter(committee__slug=slug)
        found = list(reviews[:2])
        if not found:
            raise PermissionDenied("You do not sit on a committee reviewing this request.")
        if len(found) > 1:
            raise ValidationError(
                {"committee": "You sit on several reviewing committees: name one."}
            )
        return found[0]

    @extend_schema(
        request=CommentSerializer,
        responses=AccessRequestSerializer,
        summary="Comment (applicant or committee)",
    )
    @action(detail=True, methods=["post"])
    def comment(self, request, pk=None):
        access_request = self.get_object()
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        committee = None
        if access_request.applicant_id != request.user.pk or body.validated_data.get("committee"):
            if not token_allows(request, COMMITTEE_REVIEW):
                raise PermissionDenied(
                    "Commenting as a committee needs the committee:review scope."
                )
            committee = self._review(access_request, body.validated_data.get("committee")).committee
        elif not token_allows(request, REQUESTS_WRITE):
            raise PermissionDenied("Commenting as the applicant needs the requests:write scope.")
        review_services.comment_add(
            access_request=access_request,
            actor=request.user,
            body=body.validated_data["body"],
            visibility=body.validated_data["visibility"],
            committee=committee,
        )
        return self._respond(access_request, status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=ConversationEntrySerializer(many=True),
        summary="The conversation: a committee's questions, the applicant's replies",
        description="Oldest first. The applicant and the team read the public comments (a "
        "committee's questions when it returns the request are among them); a reviewer also "
        "reads the internal notes of their own committees.",
    )
    # One conversation, answered whole (no pages): `pagination_class=None` also tells the schema.
    @action(detail=True, methods=["get"], pagination_class=None)
    def comments(self, request, pk=None):
        access_request = self.get_object()
        entries = selectors.comments_for_user(request.user, access_request, **self._reach())
        return Response(ConversationEntrySerializer(entries, many=True).data)

    @extend_schema(
        request=VoteSerializer,
        responses=AccessRequestSerializer,
        summary="Vote (committee chair or member)",
    )
    @action(detail=True, methods=["post"])
    def vote(self, request, pk=None):
        access_request = self.get_object()
        body = VoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        review = self._review(access_request, body.validated_data.get("committee"))
        review_services.vote_cast(
            review=review,
            actor=request.user,
            choice=body.validated_data["choice"],
            rationale=body.validated_data["rationale"],
        )
        return self._respond(access_request)

    @extend_schema(
        request=RecuseSerializer,
        responses=AccessRequestSerializer,
        summary="Declare a conflict of interest on this committee's review (recusal)",
    )
    @action(detail=True, methods=["post"])
    def recuse(self, request, pk=None):
        access_request = self.get_object()
        body = RecuseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        review = self._review(access_request, body.validated_data.get("committee"))
        review_services.recusal_declare(
            review=review,
            actor=request.user,
            reason=body.validated_data["reason"],
        )
        return self._respond(access_request, status.HTTP_201_CREATED)

    @extend_schema(
        request=DecideSerializer,
        responses=AccessRequestSerializer,
        summary="Decide: approve, reject or return",
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        access_request = self.get_object()
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        review = self._review(access_request, data.get("committee"))
        datasets = None
        if data.get("datasets"):
            datasets = list(review.datasets().filter(accession__in=data["datasets"]))
            if len(datasets) != len(set(data["datasets"])):
                raise ValidationError(
                    {"datasets": "Name only this committee's requested datasets."}
                )
        decision_services.decision_record(
            review=review,
            actor=request.user,
            outcome=data["outcome"],
            end_date=data.get("end_date"),
            conditions=data.get("conditions", ""),
            reason=data.get("reason", ""),
            questions=data.get("questions", ""),
            datasets=datasets,
        )
        return self._respond(access_request)

    @extend_schema(
        request=RevokeSerializer,
        responses=GrantSerializer,
        summary="Revoke a grant of this request",
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        access_request = self.get_object()
        body = RevokeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # A grant of this request, or one a decision on it made for its project (an amendment's
        # grants belong to the project it changed).
        grant = (
            selectors.grant_list_for_committee_user(request.user)
            .filter(Q(request=access_request) | Q(decision__review__request=access_request))
            .filter(pk=body.validated_data["grant"])
            .first()
        )
        if grant is None:
            raise Http404
        grant = grant_services.grant_revoke(
            grant=grant,
            actor=request.user,
            reason=body.validated_data["reason"],
            bar_until=body.validated_data.get("bar_until"),
        )
        return Response(GrantSerializer(grant).data)

    @extend_schema(
        request=CloseSerializer,
        responses=AccessRequestSerializer,
        summary="Close this committee's review, with the reason the applicant is told",
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        access_request = self.get_object()
        body = CloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        review = self._review(access_request, body.validated_data.get("committee"))
        review_services.review_close(
            review=review, actor=request.user, reason=body.validated_data["reason"]
        )
        return self._respond(access_request)


class ReviewViewSet(viewsets.GenericViewSet):
    """One committee's review of a request, by its id (`reviews[].id` of an access request):
    the committee's steps that concern its review alone. A review of a committee the caller
    does not sit on (nor is deputy for) is a 404, whatever the reason."""

    serializer_class = ConsentReevaluationSerializer
    token_scopes = {
        "reevaluate": [COMMITTEE_REVIEW],
        "experts": [COMMITTEE_REVIEW],
        "expert_end": [COMMITTEE_REVIEW],
    }
    refusals_recorded = {
        "reevaluate": "review.reevaluate",
        "experts": "review.expert_invite",
        "expert_end": "review.expert_end",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular building the schema
            return Review.objects.none()
        return selectors.review_list_for_user(self.request.user)

    def get_object(self):
        try:
            return self.get_queryset().get(pk=int(self.kwargs["pk"]))
        except (Review.DoesNotExist, ValueError):
            raise Http404 from None

    @extend_schema(
        request=None,
        responses=ConsentReevaluationSerializer,
        summary="Judge this review's consent matches again with the current consent engine",
        description="For the review's committee members without a conflict, while the review "
        "is open for a decision (409 once decided or closed). The stored verdicts of the "
        "committee's datasets are replaced by the current engine's, and one ledger event "
        "records each one's engine and decision before and after. Other committees' verdicts "
        "stay as they are, and no automatic policy runs. Answers the review's matches now.",
    )
    @action(detail=True, methods=["post"])
    def reevaluate(self, request, pk=None):
        review = self.get_object()
        result = review_services.consent_reevaluate(review=review, actor=request.user)
        return Response(
            ConsentReevaluationSerializer(
                {
                    "review": review.pk,
                    "engine_version": result.engine_version,
                    "matches": result.matches,
                    "changes": result.changes,
                }
            ).data
        )

    @extend_schema(
        request=ExpertInviteSerializer,
        responses={201: OutsideReviewerSerializer},
        summary="Invite an outside expert to give an opinion on this review (by e-mail)",
        description="For the review's committee members without a conflict, while the review is "
        "open. The address gets a link; whoever signs in with it reads the request's answers "
        "and attachments and writes internal comments to the committee, never votes or "
        "decides, and loses access when the review ends.",
    )
    @action(detail=True, methods=["post"])
    def experts(self, request, pk=None):
        review = self.get_object()
        body = ExpertInviteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        expert = expert_services.expert_invite(
            review=review, actor=request.user, email=body.validated_data["email"]
        )
        return Response(_expert_data(expert), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=OutsideReviewerSerializer,
        summary="End an outside expert's invitation or access to this review",
    )
    @action(detail=True, methods=["post"], url_path=r"experts/(?P<expert_id>\d+)/end")
    def expert_end(self, request, pk=None, expert_id=None):
        review = self.get_object()
        expert = review.outside_reviewers.filter(pk=expert_id).first()
        if expert is None:
            raise Http404
        expert = expert_services.expert_end(expert=expert, actor=request.user)
        return Response(_expert_data(expert))


def _expert_data(expert) -> dict:
    return OutsideReviewerSerializer(
        {
            "id": expert.pk,
            "email": expert.email,
            "state": expert.state,
            "invited_at": expert.invited_at,
            "accepted_at": expert.accepted_at,
            "ended_at": expert.ended_at,
        }
    ).data


class InvitationAnswerView(APIView):
    """`POST /api/v1/invitations/answer/`: the invitee answers a team invitation with the token
    of the link they were e-mailed, as on the link's page in the portal. A link that cannot be
    used is a 404 whatever the reason (`access.services.team.LINK_REFUSED`)."""

    token_scopes = {"post": [REQUESTS_WRITE]}
    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        request=InvitationAnswerSerializer,
        responses=InvitationAnsweredSerializer,
        summary="Accept or decline a team invitation (the invitee, with the e-mailed link's token)",
    )
    def post(self, request):
        body = InvitationAnswerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        service = {
            "accept": team_services.invitation_accept,
            "decline": team_services.invitation_decline,
        }[body.validated_data["answer"]]
        invitation = service(token=body.validated_data["token"], actor=request.user)
        joined = invitation.status == InvitationStatus.ACCEPTED
        return Response(
            {"status": invitation.status, "request": invitation.request_id if joined else None}
        )


@extend_schema_view(
    list=extend_schema(
        summary="My grants, or a committee's",
        parameters=[
            OpenApiParameter(
                "committee", str, description="A committee slug you sit on: its grants."
            )
        ],
    ),
    retrieve=extend_schema(summary="One grant"),
)
class GrantViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = GrantSerializer
    pagination_class = StandardPagination
    required_scopes = [GRANTS_READ]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular building the schema
            return Grant.objects.none()
        slug = self.request.query_params.get("committee")
        if slug is None:
            return selectors.grant_list_for_user(self.request.user).order_by("-valid_from", "pk")
        if not DataAccessCommittee.objects.filter(
            slug=slug, memberships__user=self.request.user
        ).exists():
            raise Http404
        return (
            selectors.grant_list_for_committee_user(self.request.user)
            .filter(decision__review__committee__slug=slug)
            .order_by("-valid_from", "pk")
        )

    def get_object(self):
        try:
            pk = int(self.kwargs["pk"])
        except ValueError:
            raise Http404 from None
        grant = (
            selectors.grant_list_for_user(self.request.user).filter(pk=pk).first()
            or selectors.grant_list_for_committee_user(self.request.user).filter(pk=pk).first()
        )
        if grant is None:
            raise Http404
        return grant
