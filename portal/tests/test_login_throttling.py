"""Admin logins are throttled: wrong passwords in a row lock the user name at that address
out, even for the right password, until the cool-off ends or `manage.py axes_reset`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient
from django.test import RequestFactory, override_settings

from portal.client_ip import client_ip
from portal.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "the-right-password-123"


@pytest.fixture
def staff_user():
    user = UserFactory.create(username="ada")
    user.set_password(PASSWORD)
    user.save()
    return user


def attempt(http: HttpClient, password: str, address: str = "198.51.100.7"):
    return http.post(LOGIN, {"username": "ada", "password": password}, REMOTE_ADDR=address)


def test_the_sixth_wrong_password_locks_out_even_the_right_one(staff_user):
    http = HttpClient()
    for _ in range(5):
        assert attempt(http, "wrong").status_code == 200  # the form again, with its error

    assert attempt(http, "wrong").status_code == 429
    locked = attempt(http, PASSWORD)

    assert locked.status_code == 429
    assert "_auth_user_id" not in http.session
    # Another address is not locked out by this one's failures.
    assert attempt(HttpClient(), PASSWORD, address="203.0.113.9").status_code == 302


def test_axes_reset_unlocks(staff_user):
    http = HttpClient()
    for _ in range(6):
        attempt(http, "wrong")
    assert attempt(http, PASSWORD).status_code == 429

    call_command("axes_reset", stdout=StringIO())

    assert attempt(http, PASSWORD).status_code == 302


def test_a_right_password_resets_the_count(staff_user):
    http = HttpClient()
    for _ in range(5):
        attempt(http, "wrong")
    assert attempt(http, PASSWORD).status_code == 302
    for _ in range(5):
        assert attempt(HttpClient(), "wrong").status_code == 200

    assert attempt(HttpClient(), PASSWORD).status_code == 302


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_the_address_it_saw_counts():
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7"
    )

    assert client_ip(request) == "198.51.100.7"


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4")

    assert client_ip(request) == "10.0.0.2"
