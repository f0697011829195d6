"""The redirect back from the hub: parsing what arrives in transit, and formatting it."""

import re

import pytest

from dialog360.redirect import (
    Redirect,
    RedirectError,
    format_redirect_query,
    parse_id_list,
    parse_redirect,
)

CLIENT = "oaY9LLfUCL"
CHANNELS = ("y9MiLoCH", "abC123")


# --- parse_redirect: accepted forms ---------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "client=oaY9LLfUCL&channels=%5By9MiLoCH%2CabC123%5D",
        "?client=oaY9LLfUCL&channels=%5By9MiLoCH%2CabC123%5D",
        "client=oaY9LLfUCL&channels=[y9MiLoCH,abC123]",
        "channels=[y9MiLoCH,abC123]&client=oaY9LLfUCL",
        # spaces, as + and as %20, around the client, the brackets and every id
        "client=+oaY9LLfUCL%20&channels=+%5B+y9MiLoCH+%2C%20abC123%20%5D+",
        "client=oaY9LLfUCL&channels=[ y9MiLoCH , abC123 ]",
        "client=oaY9LLfUCL&channels=[y9MiLoCH,+abC123]",
        # one trailing comma
        "client=oaY9LLfUCL&channels=[y9MiLoCH,abC123,]",
        "client=oaY9LLfUCL&channels=%5By9MiLoCH%2CabC123%2C%5D",
        # URL-encoded twice
        "client=oaY9LLfUCL&channels=%255By9MiLoCH%252CabC123%255D",
        "client=oaY9LLfUCL&channels=%255By9MiLoCH%252C%2520abC123%255D",
        "client=%256FaY9LLfUCL&channels=%5By9MiLoCH%2CabC123%5D",
        # duplicates dropped, first occurrence kept
        "client=oaY9LLfUCL&channels=[y9MiLoCH,abC123,y9MiLoCH,abC123]",
        # parameters we do not know are ignored
        "client=oaY9LLfUCL&channels=[y9MiLoCH,abC123]&utm_source=x&foo",
    ],
)
def test_parse_redirect_accepts_what_happens_in_transit(query):
    assert parse_redirect(query) == Redirect(client_id=CLIENT, channel_ids=CHANNELS)


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        ("[]", ()),
        ("%5B%5D", ()),
        ("[+]", ()),
        ("%5B%20%5D", ()),
        ("%255B%255D", ()),
        ("[y9MiLoCH]", ("y9MiLoCH",)),
        ("[y9MiLoCH,]", ("y9MiLoCH",)),
        ("[b,a,b,c,a]", ("b", "a", "c")),
        ("[A,a]", ("A", "a")),
        ("[123,0]", ("123", "0")),
    ],
)
def test_parse_redirect_channel_lists(channels, expected):
    assert parse_redirect(f"client={CLIENT}&channels={channels}").channel_ids == expected


def test_parse_redirect_without_channels_is_refused():
    # 360Dialog always sends channels, [] when there are none: its absence is not a return.
    with pytest.raises(RedirectError, match=r"^channels is missing$"):
        parse_redirect("client=oaY9LLfUCL")


def test_parse_redirect_with_revoked():
    redirect = parse_redirect("client=oaY9LLfUCL&channels=%5B%5D&revoked=%5By9MiLoCH%2Cx1%5D")

    assert redirect == Redirect(client_id=CLIENT, channel_ids=(), revoked_ids=("y9MiLoCH", "x1"))


def test_parse_redirect_with_revoked_only():
    assert parse_redirect("client=oaY9LLfUCL&channels=[]&revoked=[x1]") == Redirect(
        client_id=CLIENT, channel_ids=(), revoked_ids=("x1",)
    )


def test_parse_redirect_passes_state_and_partner_through_decoded_once():
    redirect = parse_redirect(
        "client=oaY9LLfUCL&channels=[y9MiLoCH]&state=s%20t%2F1%2Bx&partner=crm-4711"
    )

    assert redirect == Redirect(
        client_id=CLIENT,
        channel_ids=("y9MiLoCH",),
        state="s t/1+x",
        partner="crm-4711",
    )


def test_parse_redirect_without_state_and_partner_gives_none():
    redirect = parse_redirect("client=oaY9LLfUCL&channels=[y9MiLoCH]")

    assert (redirect.state, redirect.partner) == (None, None)


def test_parse_redirect_keeps_an_empty_state():
    assert parse_redirect("client=oaY9LLfUCL&channels=[]&state=").state == ""


@pytest.mark.parametrize(
    "params",
    [
        {"client": "oaY9LLfUCL", "channels": "[y9MiLoCH,abC123]"},
        {"client": ["oaY9LLfUCL"], "channels": ["[y9MiLoCH, abC123]"]},
        {"client": " oaY9LLfUCL ", "channels": "%5By9MiLoCH%2CabC123%5D"},  # encoded twice
        {"client": "oaY9LLfUCL", "channels": "[y9MiLoCH,abC123,y9MiLoCH]", "other": ["1", "2"]},
    ],
)
def test_parse_redirect_accepts_a_mapping(params):
    assert parse_redirect(params) == Redirect(client_id=CLIENT, channel_ids=CHANNELS)


def test_parse_redirect_mapping_with_everything():
    redirect = parse_redirect(
        {
            "client": CLIENT,
            "channels": "[]",
            "revoked": ["[x1]"],
            "state": "s t",
            "partner": "crm-4711",
        }
    )

    assert redirect == Redirect(
        client_id=CLIENT, channel_ids=(), revoked_ids=("x1",), state="s t", partner="crm-4711"
    )


def test_parse_redirect_accepts_a_query_of_exactly_4096_characters():
    prefix = "client=oaY9LLfUCL&channels=[y9MiLoCH]&state="
    query = prefix + "s" * (4096 - len(prefix))

    assert len(query) == 4096
    assert parse_redirect(query).state == "s" * (4096 - len(prefix))


def test_parse_redirect_accepts_64_character_ids():
    long_id = "A" * 64

    assert parse_redirect(f"client={long_id}&channels=[{long_id}]") == Redirect(
        client_id=long_id, channel_ids=(long_id,)
    )


def test_parse_redirect_accepts_50_ids():
    ids = tuple(f"c{n}" for n in range(50))

    assert parse_redirect(f"client={CLIENT}&channels=[{','.join(ids)}]").channel_ids == ids


def test_parse_redirect_counts_ids_after_dropping_duplicates():
    ids = tuple(f"c{n}" for n in range(50))
    raw = ",".join((*ids, "c0"))

    assert parse_redirect(f"client={CLIENT}&channels=[{raw}]").channel_ids == ids


# --- parse_redirect: errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("channels=[y9MiLoCH]", "^client is missing$"),
        ("", "^client is missing$"),
        ("Client=oaY9LLfUCL", "^client is missing$"),
        ("client=&channels=[y9MiLoCH]", re.escape("client must be a 360Dialog id") + ".*got ''"),
        ("client=+&channels=[y9MiLoCH]", re.escape("client must be a 360Dialog id") + ".*got ' '"),
        ("client=oaY9-LLfUCL", re.escape("client must be a 360Dialog id") + ".*'oaY9-LLfUCL'"),
        ("client=oaY9%2FLLfUCL", re.escape("client must be a 360Dialog id") + ".*'oaY9/LLfUCL'"),
        ("client=..%2Fadmin", re.escape("client must be a 360Dialog id") + r".*'\.\./admin'"),
        ("client=[oaY9LLfUCL]", re.escape("client must be a 360Dialog id")),
        ("client=oaY9%", re.escape("client must be a 360Dialog id") + ".*'oaY9%'"),
        ("client=" + "a" * 65, re.escape("client must be a 360Dialog id")),
        ("client=oaY9LLfUCL&client=oaY9LLfUCL", "^client is given 2 times$"),
        ("client=a&client=b&client=c", "^client is given 3 times$"),
        ("client=a&channels=[b]&channels=[c]", "^channels is given 2 times$"),
        ("client=a&channels=[]&revoked=[b]&revoked=[c]", "^revoked is given 2 times$"),
        ("client=a&channels=[]&state=1&state=2", "^state is given 2 times$"),
        (
            "client=a&channels=y9MiLoCH,abC123",
            re.escape("channels must be a bracketed list like [id1,id2], got 'y9MiLoCH,abC123'"),
        ),
        (
            "client=a&channels=y9MiLoCH",
            re.escape("channels must be a bracketed list like [id1,id2], got 'y9MiLoCH'"),
        ),
        ("client=a&channels=(a,b)", re.escape("channels must be a bracketed list")),
        ("client=a&channels=[a,b", re.escape("channels must be a bracketed list")),
        ("client=a&channels=a,b]", re.escape("channels must be a bracketed list")),
        (
            "client=a&channels=[]&revoked=x1",
            re.escape("revoked must be a bracketed list like [id1,id2], got 'x1'"),
        ),
        ("client=a&channels=[a,,b]", re.escape("channels has an empty entry: '[a,,b]'")),
        ("client=a&channels=[,a]", re.escape("channels has an empty entry: '[,a]'")),
        ("client=a&channels=[,]", re.escape("channels has an empty entry: '[,]'")),
        ("client=a&channels=[a,,]", re.escape("channels has an empty entry: '[a,,]'")),
        ("client=a&channels=[]&revoked=[a,,b]", re.escape("revoked has an empty entry: '[a,,b]'")),
        (
            'client=a&channels=["y9MiLoCH"]',
            re.escape(
                """channels must hold 360Dialog ids (letters and digits), got '"y9MiLoCH"'"""
            ),
        ),
        (
            "client=a&channels=%5B%22y9MiLoCH%22%5D",
            re.escape(
                """channels must hold 360Dialog ids (letters and digits), got '"y9MiLoCH"'"""
            ),
        ),
        (
            "client=a&channels=['y9MiLoCH']",
            re.escape(
                """channels must hold 360Dialog ids (letters and digits), got "'y9MiLoCH'\""""
            ),
        ),
        (
            "client=a&channels=[y9Mi-LoCH]",
            re.escape("channels must hold 360Dialog ids (letters and digits), got 'y9Mi-LoCH' in"),
        ),
        ("client=a&channels=[y9Mi_LoCH]", re.escape("got 'y9Mi_LoCH' in '[y9Mi_LoCH]'")),
        ("client=a&channels=[a/b]", re.escape("got 'a/b' in '[a/b]'")),
        ("client=a&channels=[a%2Fb]", re.escape("got 'a/b' in '[a/b]'")),
        ("client=a&channels=[a.b]", re.escape("got 'a.b' in '[a.b]'")),
        ("client=a&channels=[..]", re.escape("got '..' in '[..]'")),
        ("client=a&channels=[a b]", re.escape("got 'a b' in '[a b]'")),
        ("client=a&channels=[a;b]", re.escape("got 'a;b' in '[a;b]'")),
        ("client=a&channels=[[a]]", re.escape("got '[a]' in '[[a]]'")),
        ("client=a&channels=[é]", re.escape("got 'é' in '[é]'")),
        (
            "client=a&channels=[]&revoked=[a-b]",
            re.escape("revoked must hold 360Dialog ids (letters and digits), got 'a-b'"),
        ),
        ("client=a&channels=[" + "a" * 65 + "]", re.escape("got '" + "a" * 65 + "'")),
    ],
)
def test_parse_redirect_rejects_and_says_why(query, message):
    with pytest.raises(RedirectError, match=message):
        parse_redirect(query)


def test_parse_redirect_rejects_more_than_50_ids():
    raw = ",".join(f"c{n}" for n in range(51))

    with pytest.raises(RedirectError, match=r"^channels has more than 50 ids$"):
        parse_redirect(f"client={CLIENT}&channels=[{raw}]")


def test_parse_redirect_rejects_more_than_50_revoked_ids():
    raw = ",".join(f"c{n}" for n in range(51))

    with pytest.raises(RedirectError, match=r"^revoked has more than 50 ids$"):
        parse_redirect(f"client={CLIENT}&channels=[]&revoked=[{raw}]")


def test_parse_redirect_rejects_a_query_over_4096_characters():
    prefix = "client=oaY9LLfUCL&channels=[y9MiLoCH]&state="
    query = prefix + "s" * (4097 - len(prefix))

    assert len(query) == 4097
    with pytest.raises(RedirectError, match=r"^the query is longer than 4096 characters$"):
        parse_redirect(query)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"channels": "[a]"}, "^client is missing$"),
        ({"client": []}, "^client is missing$"),
        ({"client": ["a", "b"]}, "^client is given 2 times$"),
        ({"client": "a-b"}, re.escape("client must be a 360Dialog id")),
        ({"client": "a", "channels": "a,b"}, re.escape("channels must be a bracketed list")),
    ],
)
def test_parse_redirect_rejects_a_bad_mapping(params, message):
    with pytest.raises(RedirectError, match=message):
        parse_redirect(params)


def test_redirect_error_is_a_value_error():
    with pytest.raises(ValueError, match=r"^client is missing$"):
        parse_redirect("")


# --- parse_id_list --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[a,b]", ("a", "b")),
        ("[]", ()),
        (" [ ] ", ()),
        ("[a,]", ("a",)),
        ("[ a , b , ]", ("a", "b")),
        ("%5Ba%2Cb%5D", ("a", "b")),
        ("[a,b,a]", ("a", "b")),
    ],
)
def test_parse_id_list(raw, expected):
    assert parse_id_list(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("a,b", re.escape("list must be a bracketed list like [id1,id2], got 'a,b'")),
        ("", re.escape("list must be a bracketed list like [id1,id2], got ''")),
        ("[", re.escape("list must be a bracketed list")),
        ("]", re.escape("list must be a bracketed list")),
        ("[a,,b]", re.escape("list has an empty entry: '[a,,b]'")),
        ("[a-b]", re.escape("list must hold 360Dialog ids (letters and digits), got 'a-b'")),
    ],
)
def test_parse_id_list_errors_name_the_default_list(raw, message):
    with pytest.raises(RedirectError, match=message):
        parse_id_list(raw)


def test_parse_id_list_errors_name_the_given_parameter():
    with pytest.raises(RedirectError, match=r"^revoked has an empty entry: '\[,\]'$"):
        parse_id_list("[,]", "revoked")


# --- format_redirect_query ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("encoded", "client=oaY9LLfUCL&channels=%5By9MiLoCH%2CabC123%5D"),
        ("literal", "client=oaY9LLfUCL&channels=[y9MiLoCH,abC123]"),
        ("spaced", "client=oaY9LLfUCL&channels=%5By9MiLoCH%2C%20abC123%5D"),
    ],
)
def test_format_redirect_query(style, expected):
    assert format_redirect_query(CLIENT, CHANNELS, style=style) == expected


def test_format_redirect_query_is_encoded_by_default():
    assert format_redirect_query(CLIENT, CHANNELS) == (
        "client=oaY9LLfUCL&channels=%5By9MiLoCH%2CabC123%5D"
    )


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        (
            "encoded",
            "client=oaY9LLfUCL&channels=%5By9MiLoCH%2CabC123%5D&revoked=%5Bx1%2Cx2%5D"
            "&state=s%20t%2F1%2Bx%26y",
        ),
        (
            "literal",
            "client=oaY9LLfUCL&channels=[y9MiLoCH,abC123]&revoked=[x1,x2]&state=s%20t%2F1%2Bx%26y",
        ),
        (
            "spaced",
            "client=oaY9LLfUCL&channels=%5By9MiLoCH%2C%20abC123%5D&revoked=%5Bx1%2C%20x2%5D"
            "&state=s%20t%2F1%2Bx%26y",
        ),
    ],
)
def test_format_redirect_query_with_revoked_and_state(style, expected):
    query = format_redirect_query(CLIENT, CHANNELS, ["x1", "x2"], state="s t/1+x&y", style=style)

    assert query == expected


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("encoded", "client=oaY9LLfUCL&channels=%5B%5D&revoked=%5By9MiLoCH%5D"),
        ("literal", "client=oaY9LLfUCL&channels=[]&revoked=[y9MiLoCH]"),
        ("spaced", "client=oaY9LLfUCL&channels=%5B%5D&revoked=%5By9MiLoCH%5D"),
    ],
)
def test_format_redirect_query_with_revoked_only(style, expected):
    assert format_redirect_query(CLIENT, [], ["y9MiLoCH"], style=style) == expected


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("encoded", "client=oaY9LLfUCL&channels=%5By9MiLoCH%5D&state=abc"),
        ("literal", "client=oaY9LLfUCL&channels=[y9MiLoCH]&state=abc"),
        ("spaced", "client=oaY9LLfUCL&channels=%5By9MiLoCH%5D&state=abc"),
    ],
)
def test_format_redirect_query_with_state_only(style, expected):
    assert format_redirect_query(CLIENT, ["y9MiLoCH"], state="abc", style=style) == expected


def test_format_redirect_query_with_an_empty_revoked_list():
    assert format_redirect_query(CLIENT, CHANNELS, []) == (
        "client=oaY9LLfUCL&channels=%5By9MiLoCH%2CabC123%5D&revoked=%5B%5D"
    )


def test_format_redirect_query_takes_any_iterable():
    assert format_redirect_query(CLIENT, iter(CHANNELS), (x for x in ["x1"])) == (
        "client=oaY9LLfUCL&channels=%5By9MiLoCH%2CabC123%5D&revoked=%5Bx1%5D"
    )


@pytest.mark.parametrize("style", ["encoded", "literal", "spaced"])
@pytest.mark.parametrize(
    ("channels", "revoked", "state"),
    [
        (CHANNELS, None, None),
        (CHANNELS, ["x1", "x2"], "s t/1+x&y=%"),
        ((), ["y9MiLoCH"], "abc"),
        ((), (), None),
        (tuple(f"c{n}" for n in range(50)), None, ""),
    ],
)
def test_format_then_parse_round_trips(style, channels, revoked, state):
    query = format_redirect_query(CLIENT, channels, revoked, state=state, style=style)

    assert parse_redirect(query) == Redirect(
        client_id=CLIENT,
        channel_ids=tuple(channels),
        revoked_ids=tuple(revoked or ()),
        state=state,
    )
