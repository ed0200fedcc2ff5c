from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("datasets/", views.catalogue, name="catalogue"),
    path("datasets/<str:accession>/", views.dataset_detail, name="dataset"),
    path("committees/<slug:slug>/", views.committee_detail, name="committee"),
    path("diseases/", views.disease_search, name="disease-search"),
]
