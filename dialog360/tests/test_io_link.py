"""The IO link: exact URLs, parameter order, percent-encoding and validation."""

import pytest

from dialog360.io_link import IoLinkParams, io_link, io_permission_url, normalize_number
from dialog360.signatures import IoSignature

HUB = "https://hub.360dialog.com"
PARTNER_ID = "aAbBcCPA"
PERMISSIONS = "https://hub.360dialog.com/dashboard/app/aAbBcCPA/permissions"
# printf 'aAbBcCPA|1775653748' | openssl dgst -sha512 -hmac 'secret'
IO_HEX = (
    "54131fe181f79e4de221d7b77aa3fc94ecab13af67ef2860c3ec86c59e36439f"
    "91d5ce4ac3e70bcb710ba03c09e8938fbe4c5af942464f1e975ef443c750fdd5"
)
# printf 'aAbBcCPA|1775653748' | openssl dgst -sha512 -hmac 'secret' -binary | base64 -w0
IO_BASE64 = (
    "VBMf4YH3nk3iIde3eqP8lOyrE69n7yhgw+yGxZ42Q5+R1c5Kw+cLy3ELoDwJ6JOPvkxa+UJGTx6XXvRDx1D91Q=="
)


def test_io_link_without_parameters_is_the_bare_permission_page():
    assert io_link(HUB, PARTNER_ID, IoLinkParams()) == PERMISSIONS


def test_a_trunk_prefix_in_brackets_is_dropped():
    assert normalize_number("+49 (0) 151 1234 5678") == "4915112345678"


def test_io_link_with_every_parameter_in_the_documented_order():
    params = IoLinkParams(
        email="ada+io@acme-bakery.example",
        name="Ada Baker",
        number="+49 151 1234-5678",
        state="st-8Zq_x.~",
        redirect_url="https://portal.test/r/tok/?x=1",
        partner="crm-4711",
        next="signup",
        lang="de",
        plan_selection="premium",
        connect_client_user=True,
        client_id="oaY9LLfUCL",
        signature=IoSignature(IO_HEX, 1775653748),
    )

    assert io_link(HUB, PARTNER_ID, params) == (
        PERMISSIONS + "?email=ada%2Bio%40acme-bakery.example"
        "&name=Ada%20Baker"
        "&number=4915112345678"
        "&state=st-8Zq_x.~"
        "&redirect_url=https%3A%2F%2Fportal.test%2Fr%2Ftok%2F%3Fx%3D1"
        "&partner=crm-4711"
        "&next=signup"
        "&lang=de"
        "&plan_selection=premium"
        "&connect_client_user=true"
        "&client_id=oaY9LLfUCL"
        f"&io_signature={IO_HEX}"
        "&io_timestamp=1775653748"
    )


@pytest.mark.parametrize(
    ("params", "query"),
    [
        (IoLinkParams(email="ada+io@acme-bakery.example"), "email=ada%2Bio%40acme-bakery.example"),
        (IoLinkParams(name="Ada Baker"), "name=Ada%20Baker"),
        (IoLinkParams(name="Bäckerei & Co"), "name=B%C3%A4ckerei%20%26%20Co"),
        (IoLinkParams(state="a/b?c=d&e#f"), "state=a%2Fb%3Fc%3Dd%26e%23f"),
        (IoLinkParams(partner="crm 4711+x"), "partner=crm%204711%2Bx"),
        (
            IoLinkParams(redirect_url="https://portal.test/r/tok/?x=1"),
            "redirect_url=https%3A%2F%2Fportal.test%2Fr%2Ftok%2F%3Fx%3D1",
        ),
        (
            IoLinkParams(redirect_url="http://localhost:8000/r/t%20k/"),
            "redirect_url=http%3A%2F%2Flocalhost%3A8000%2Fr%2Ft%2520k%2F",
        ),
        (IoLinkParams(next="login"), "next=login"),
        (IoLinkParams(lang="pt"), "lang=pt"),
        (IoLinkParams(plan_selection="basic"), "plan_selection=basic"),
        (IoLinkParams(client_id="oaY9LLfUCL"), "client_id=oaY9LLfUCL"),
    ],
)
def test_io_link_encodes_each_parameter(params, query):
    assert io_link(HUB, PARTNER_ID, params) == f"{PERMISSIONS}?{query}"


def test_io_link_encodes_a_base64_signature():
    params = IoLinkParams(signature=IoSignature(IO_BASE64, 1775653748))

    assert io_link(HUB, PARTNER_ID, params) == (
        f"{PERMISSIONS}?io_signature="
        "VBMf4YH3nk3iIde3eqP8lOyrE69n7yhgw%2ByGxZ42Q5%2BR1c5Kw%2BcLy3ELoDwJ6JOPvkxa%2BUJGTx6XXvRDx1D91Q%3D%3D"
        "&io_timestamp=1775653748"
    )


def test_io_link_order_does_not_depend_on_keyword_order():
    params = IoLinkParams(lang="en", state="s1", email="a@b.example", next="login")

    assert io_link(HUB, PARTNER_ID, params) == (
        f"{PERMISSIONS}?email=a%40b.example&state=s1&next=login&lang=en"
    )


def test_io_link_leaves_out_connect_client_user_when_false():
    params = IoLinkParams(connect_client_user=False, client_id="oaY9LLfUCL")

    assert io_link(HUB, PARTNER_ID, params) == f"{PERMISSIONS}?client_id=oaY9LLfUCL"


def test_io_link_with_connect_client_user_and_client_id():
    params = IoLinkParams(connect_client_user=True, client_id="oaY9LLfUCL")

    assert io_link(HUB, PARTNER_ID, params) == (
        f"{PERMISSIONS}?connect_client_user=true&client_id=oaY9LLfUCL"
    )


def test_io_link_signature_at_timestamp_zero():
    params = IoLinkParams(signature=IoSignature("abc", 0))

    assert io_link(HUB, PARTNER_ID, params) == f"{PERMISSIONS}?io_signature=abc&io_timestamp=0"


# --- Hub URL --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hub_url", "expected"),
    [
        ("https://hub.360dialog.com", PERMISSIONS),
        ("https://hub.360dialog.com/", PERMISSIONS),
        ("https://hub.360dialog.com//", PERMISSIONS),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/dashboard/app/aAbBcCPA/permissions"),
        ("https://hub.test/base/", "https://hub.test/base/dashboard/app/aAbBcCPA/permissions"),
        (
            "https://app.360dialog.com/onboarding/{partner_id}",
            "https://app.360dialog.com/onboarding/aAbBcCPA",
        ),
        (
            "https://app.360dialog.com/onboarding/{partner_id}/",
            "https://app.360dialog.com/onboarding/aAbBcCPA/",
        ),
    ],
)
def test_io_permission_url(hub_url, expected):
    assert io_permission_url(hub_url, PARTNER_ID) == expected


def test_io_link_with_a_trailing_slash_on_the_hub_url():
    assert io_link(HUB + "/", PARTNER_ID, IoLinkParams(lang="de")) == f"{PERMISSIONS}?lang=de"


def test_io_link_with_a_partner_id_template_in_the_hub_url():
    url = io_link(
        "https://app.360dialog.com/onboarding/{partner_id}",
        PARTNER_ID,
        IoLinkParams(state="s1", lang="de"),
    )

    assert url == "https://app.360dialog.com/onboarding/aAbBcCPA?state=s1&lang=de"


@pytest.mark.parametrize(
    "hub_url",
    [
        "https://hub.360dialog.com/?x=1",
        "https://hub.360dialog.com/#top",
        "hub.360dialog.com",
        "/dashboard",
        "ftp://hub.360dialog.com",
        "https://",
        "",
    ],
)
def test_io_link_rejects_a_hub_url_that_is_not_absolute_http_without_a_query(hub_url):
    with pytest.raises(ValueError, match="hub URL must be an absolute http"):
        io_link(hub_url, PARTNER_ID, IoLinkParams())


@pytest.mark.parametrize("hub_url", ["https://hub.360dialog.com/?", "https://hub.360dialog.com#"])
def test_io_link_rejects_a_hub_url_with_an_empty_query_or_fragment(hub_url):
    with pytest.raises(ValueError, match="hub URL must be an absolute http"):
        io_link(hub_url, PARTNER_ID, IoLinkParams())


@pytest.mark.parametrize(
    "partner_id", ["", "PA", "aAbBcC", "aAbBcCpa", "aAbBc/PA", "../xPA", "aAbBcCPA?x=1"]
)
def test_io_link_rejects_a_bad_partner_id(partner_id):
    with pytest.raises(ValueError, match="partner id must be letters and digits ending in PA"):
        io_link(HUB, partner_id, IoLinkParams())


# --- Phone number ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4915112345678", "4915112345678"),
        ("+49 151 1234-5678", "4915112345678"),
        ("0049 151 12345678", "4915112345678"),
        ("004915112345678", "4915112345678"),
        ("+1 (415) 555-2671", "14155552671"),
        ("  +44 20.7946.0958 ", "442079460958"),
        ("+49\t151\u00a012345678", "4915112345678"),
        ("123456", "123456"),
        ("123456789012345", "123456789012345"),
    ],
)
def test_normalize_number(raw, expected):
    assert normalize_number(raw) == expected


def test_io_link_normalizes_the_number():
    params = IoLinkParams(number="0049 (151) 1234-5678")

    assert io_link(HUB, PARTNER_ID, params) == f"{PERMISSIONS}?number=4915112345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "+",
        "12345",  # too short
        "1234567890123456",  # too long
        "015112345678",  # national format: no country code
        "+0049151123456",
        "++4915112345678",
        "49 151 CALL-NOW",
        "49/151/12345678",
        "+49 151 1234 5678 ext 2",
        "49151\uff11\uff12\uff13\uff14\uff15\uff16\uff17",  # full-width digits
    ],
)
def test_normalize_number_rejects_a_bad_number(raw):
    with pytest.raises(ValueError, match="number must be a phone number with its country code"):
        normalize_number(raw)


def test_io_link_rejects_a_bad_number():
    with pytest.raises(ValueError, match=r"^number must be a phone number"):
        io_link(HUB, PARTNER_ID, IoLinkParams(number="0151 1234"))


# --- Validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lang": "fr"}, r"^lang must be one of en, de, pt, got 'fr'$"),
        ({"lang": "DE"}, r"^lang must be one of en, de, pt, got 'DE'$"),
        (
            {"plan_selection": "gold"},
            r"^plan_selection must be one of regular, premium, basic, got 'gold'$",
        ),
        ({"next": "register"}, r"^next must be one of login, signup, got 'register'$"),
        (
            {"redirect_url": "/r/tok/"},
            r"^redirect_url must be an absolute http\(s\) URL, got '/r/tok/'$",
        ),
        (
            {"redirect_url": "ftp://portal.test/r/"},
            r"^redirect_url must be an absolute http\(s\) URL, got 'ftp://portal.test/r/'$",
        ),
        (
            {"redirect_url": "javascript:alert(1)"},
            r"^redirect_url must be an absolute http\(s\) URL",
        ),
        ({"redirect_url": "https:///r/"}, r"^redirect_url must be an absolute http"),
        ({"redirect_url": ""}, r"^redirect_url must be an absolute http"),
        ({"connect_client_user": True}, r"^connect_client_user needs client_id$"),
        (
            {"client_id": "oaY9/LLfUCL"},
            r"^client_id must be 1-64 letters or digits, got 'oaY9/LLfUCL'$",
        ),
        ({"client_id": ""}, r"^client_id must be 1-64 letters or digits"),
        ({"client_id": "a" * 65}, r"^client_id must be 1-64 letters or digits"),
        (
            {"connect_client_user": True, "client_id": "x.y"},
            r"^client_id must be 1-64 letters or digits, got 'x.y'$",
        ),
    ],
)
def test_io_link_rejects_a_bad_value_naming_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        io_link(HUB, PARTNER_ID, IoLinkParams(**kwargs))


def test_io_link_accepts_a_64_character_client_id():
    client_id = "a" * 64

    assert io_link(HUB, PARTNER_ID, IoLinkParams(client_id=client_id)) == (
        f"{PERMISSIONS}?client_id={client_id}"
    )
