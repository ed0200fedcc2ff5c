"""The researcher's portal (namespace "access"): its views are in access/portal/."""

from django.urls import path

from .portal import cart, experts, grants, renewals, team, views

urlpatterns = [
    path("requests/", views.request_list, name="request-list"),
    path("requests/new/", views.request_create, name="request-create"),
    path("requests/cart/", cart.cart, name="cart"),
    path("requests/diseases.json", views.disease_search_json, name="disease-search-json"),
    path("requests/<int:pk>/", views.request_detail, name="request-detail"),
    path("requests/<int:pk>/edit/", views.request_edit, name="request-edit"),
    *(
        path(
            f"requests/<int:pk>/{action}/",
            views.request_transition,
            {"action": action},
            name=f"request-{action}",
        )
        for action in views.CONFIRMATIONS
    ),
    path("requests/<int:pk>/copy/", views.request_copy, name="request-copy"),
    path("requests/<int:pk>/amend/", views.request_amend, name="request-amend"),
    path("requests/<int:pk>/closeout/", views.closeout_file, name="closeout-file"),
    path(
        "requests/<int:pk>/agreements/accept-all/",
        views.agreements_accept_all,
        name="agreements-accept-all",
    ),
    path(
        "requests/<int:pk>/agreements/<int:agreement_pk>/accept/",
        views.agreement_accept,
        name="agreement-accept",
    ),
    path("requests/<int:pk>/renew/", renewals.request_renew, name="request-renew"),
    path("requests/<int:pk>/comments/", views.comment_add, name="comment-add"),
    path("requests/<int:pk>/ethics-document/", views.ethics_document, name="ethics-document"),
    path("requests/<int:pk>/invitations/", team.invitation_send, name="invitation-send"),
    path(
        "requests/<int:pk>/invitations/<int:invitation_pk>/withdraw/",
        team.invitation_withdraw,
        name="invitation-withdraw",
    ),
    path(
        "requests/<int:pk>/team/<int:user_pk>/remove/",
        team.team_member_remove,
        name="team-member-remove",
    ),
    path("invitations/", team.invitation_list, name="invitation-list"),
    path("invitations/<str:token>/", team.invitation_answer, name="invitation"),
    path("access/", grants.grant_list, name="grant-list"),
    path("expert/", experts.expert_list, name="expert-list"),
    path("expert/reviews/<int:pk>/", experts.expert_review, name="expert-review"),
    path("expert/invitations/<str:token>/", experts.expert_invitation, name="expert-invitation"),
]
