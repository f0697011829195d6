from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("360dialog/<str:token>/", views.receive, name="receive"),
]
