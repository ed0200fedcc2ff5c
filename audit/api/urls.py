from django.urls import path

from . import views

app_name = "audit-api"

urlpatterns = [
    path("events/", views.EventListView.as_view(), name="event-list"),
    path("events/<int:seq>/proof", views.EventProofView.as_view(), name="event-proof"),
    path("checkpoints/latest", views.CheckpointLatestView.as_view(), name="checkpoint-latest"),
    path(
        "checkpoints/consistency",
        views.ConsistencyProofView.as_view(),
        name="checkpoint-consistency",
    ),
    path(
        "checkpoints/<int:tree_size>",
        views.CheckpointDetailView.as_view(),
        name="checkpoint-detail",
    ),
    path("key", views.PublicKeyView.as_view(), name="public-key"),
]
