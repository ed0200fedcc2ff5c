"""The researcher's portal (namespace "access"): its views are in access/portal/."""

from django.urls import path

from .portal import grants, views

urlpatterns = [
    path("requests/", views.request_list, name="request-list"),
    path("requests/new/", views.request_create, name="request-create"),
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
    path(
        "requests/<int:pk>/agreements/<int:agreement_pk>/accept/",
        views.agreement_accept,
        name="agreement-accept",
    ),
    path("requests/<int:pk>/comments/", views.comment_add, name="comment-add"),
    path("requests/<int:pk>/ethics-document/", views.ethics_document, name="ethics-document"),
    path("access/", grants.grant_list, name="grant-list"),
]
