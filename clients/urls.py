from django.urls import path

from clients import views

app_name = "clients"

urlpatterns = [
    path("<slug:partner_slug>/", views.signup, name="signup"),
]
