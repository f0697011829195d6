from django.urls import path

from clients import views

app_name = "clients"

urlpatterns = [
    path("<slug:partner_slug>/", views.signup, name="signup"),
    path("<slug:partner_slug>/o/<uuid:public_id>/", views.onboarding_page, name="onboarding"),
    path("<slug:partner_slug>/o/<uuid:public_id>/launch/", views.launch, name="launch"),
    path("<slug:partner_slug>/o/<uuid:public_id>/status.json", views.status, name="status"),
    # The token is a secret: portal.logging redacts this path segment.
    path("<slug:partner_slug>/r/<str:token>/", views.return_view, name="return"),
    path("<slug:partner_slug>/r/", views.return_view, name="return_untokened"),
]
