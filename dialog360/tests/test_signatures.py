"""IO and webhook signatures against known-answer vectors computed with the openssl CLI."""

import pytest

from dialog360.signatures import (
    IoSignature,
    io_signature,
    io_signature_matches,
    io_signature_mint,
    verify_webhook,
    webhook_signature,
)

PARTNER_ID = "aAbBcCPA"
SECRET = "secret"
TIMESTAMP = 1775653748

# printf 'aAbBcCPA|1775653748' | openssl dgst -sha512 -hmac 'secret'
IO_HEX = (
    "54131fe181f79e4de221d7b77aa3fc94ecab13af67ef2860c3ec86c59e36439f"
    "91d5ce4ac3e70bcb710ba03c09e8938fbe4c5af942464f1e975ef443c750fdd5"
)
# printf 'aAbBcCPA|1775653748' | openssl dgst -sha512 -hmac 'secret' -binary | base64 -w0
IO_BASE64 = (
    "VBMf4YH3nk3iIde3eqP8lOyrE69n7yhgw+yGxZ42Q5+R1c5Kw+cLy3ELoDwJ6JOPvkxa+UJGTx6XXvRDx1D91Q=="
)
# printf 'aAbBcCPA|0' | openssl dgst -sha512 -hmac 'secret'
IO_HEX_AT_ZERO = (
    "d18de6a5de28583a7803a884713016ec1c5b3b46263f7eca85f212d13fe1dd55"
    "217283b954c501dbf434cba924629fab20eff4e910590035ea7fca1f8f8c3466"
)
# printf 'aAbBcCPA|0' | openssl dgst -sha512 -hmac 'secret' -binary | base64 -w0
IO_BASE64_AT_ZERO = (
    "0Y3mpd4oWDp4A6iEcTAW7BxbO0YmP37KhfIS0T/h3VUhcoO5VMUB2/Q0y6kkYp+rIO/06RBZADXqf8ofj4w0Zg=="
)
# printf 'aAbBcCPA|1775653749' | openssl dgst -sha512 -hmac 'secret'
IO_HEX_NEXT_SECOND = (
    "eee7ef95321fd28e6ee83f83a46e8675cc063597e9ce6ac6c3942e9807e7d72b"
    "19dde6e5e2e458272ba75c63e750236639da0e9cd165689c80d3d0efcd77911a"
)
# printf 'aAbBcCPA|1775653748' | openssl dgst -sha512 -hmac 'other-secret'
IO_HEX_OTHER_SECRET = (
    "582c4df38359ea6d54317d98dbf492bd6854c5e22216a5e6d252926c06191e18"
    "18afd1f53b354d47f93d81038885c255245fc31b4f8cba3021fd1e0d713cc1dd"
)
# printf 'XyZ9PA|1775653748' | openssl dgst -sha512 -hmac 'pläṫform-sëcret'   (UTF-8 locale)
IO_HEX_UNICODE_SECRET = (
    "502d89d8e6fddb6ae1c50530f195e4850a60077c9501a59cb258a196af05f291"
    "ac1e0b31591618aa10e6cbaef7f4d398c0e182a076966b6464a8cb920b6bbfff"
)

BODY = b'{"event":"channel_live","data":{"id":"y9MiLoCH"}}'
# printf '{"event":"channel_live","data":{"id":"y9MiLoCH"}}' | openssl dgst -sha256 -hmac 'secret'
BODY_SIG = "c755d65d239dc5e2477195bd064cac1997b2412a2b6f3f2e03202378005e2d66"
# printf '{"event":"channel_live","data":{"id":"y9MiLoCH"}}' \
#   | openssl dgst -sha256 -hmac 'new-secret'
BODY_SIG_NEW_SECRET = "ff86c04749853ea081a19b2d3dfd00c1019dfe51357556baedcdf1dcc8a74e4e"
# The same body with its last id character changed (H -> I):
# printf '{"event":"channel_live","data":{"id":"y9MiLoCI"}}' | openssl dgst -sha256 -hmac 'secret'
BODY_ONE_BYTE_CHANGED = b'{"event":"channel_live","data":{"id":"y9MiLoCI"}}'
BODY_ONE_BYTE_CHANGED_SIG = "750e9882898db837b5187aa626dbfb537af95012bf459759807bddbb2a82e77c"
# printf '' | openssl dgst -sha256 -hmac 'secret'
EMPTY_BODY_SIG = "f9e66e179b6747ae54108f82f8ade8b3c25d76fd30afde6c395822c530196169"
UTF8_BODY = '{"name":"Bäckerei"}'.encode()
# printf '{"name":"B\xc3\xa4ckerei"}' | openssl dgst -sha256 -hmac 'secret'
UTF8_BODY_SIG = "465c860f1e4defa3f8b2f903e2b7604dc9f860d4b3996dc4b6e13c537ce8facd"


# --- IO signature: minting --------------------------------------------------------------------


def test_io_signature_is_lowercase_hex_hmac_sha512_by_default():
    assert io_signature(PARTNER_ID, SECRET, TIMESTAMP) == IO_HEX


@pytest.mark.parametrize(
    ("partner_id", "secret", "timestamp", "expected"),
    [
        (PARTNER_ID, SECRET, 0, IO_HEX_AT_ZERO),
        (PARTNER_ID, SECRET, TIMESTAMP + 1, IO_HEX_NEXT_SECOND),
        (PARTNER_ID, "other-secret", TIMESTAMP, IO_HEX_OTHER_SECRET),
        ("XyZ9PA", "pläṫform-sëcret", TIMESTAMP, IO_HEX_UNICODE_SECRET),
    ],
)
def test_io_signature_known_answers(partner_id, secret, timestamp, expected):
    assert io_signature(partner_id, secret, timestamp, "hex") == expected


@pytest.mark.parametrize(
    ("timestamp", "expected"), [(TIMESTAMP, IO_BASE64), (0, IO_BASE64_AT_ZERO)]
)
def test_io_signature_in_base64(timestamp, expected):
    assert io_signature(PARTNER_ID, SECRET, timestamp, "base64") == expected


def test_io_signature_mint_truncates_now_to_whole_seconds():
    assert io_signature_mint(PARTNER_ID, SECRET, 1775653748.999) == IoSignature(IO_HEX, TIMESTAMP)


def test_io_signature_mint_of_a_whole_second():
    assert io_signature_mint(PARTNER_ID, SECRET, 1775653748.0) == IoSignature(IO_HEX, TIMESTAMP)


def test_io_signature_mint_in_base64():
    assert io_signature_mint(PARTNER_ID, SECRET, 1775653748.5, "base64") == IoSignature(
        IO_BASE64, TIMESTAMP
    )


def test_io_signature_mint_timestamp_is_an_int():
    assert type(io_signature_mint(PARTNER_ID, SECRET, 1775653748.25).timestamp) is int


def test_io_signature_needs_a_secret():
    with pytest.raises(ValueError, match="needs the platform secret"):
        io_signature(PARTNER_ID, "", TIMESTAMP)


def test_io_signature_mint_needs_a_secret():
    with pytest.raises(ValueError, match="needs the platform secret"):
        io_signature_mint(PARTNER_ID, "", 1775653748.0)


@pytest.mark.parametrize("timestamp", [-1, True, False, 1775653748.0, "1775653748", None])
def test_io_signature_rejects_a_timestamp_that_is_not_a_non_negative_int(timestamp):
    with pytest.raises(ValueError, match="io_timestamp must be a non-negative whole number"):
        io_signature(PARTNER_ID, SECRET, timestamp)


def test_io_signature_mint_rejects_a_negative_now():
    with pytest.raises(ValueError, match="io_timestamp must be a non-negative whole number"):
        io_signature_mint(PARTNER_ID, SECRET, -2.5)


@pytest.mark.parametrize(
    "partner_id", ["", "PA", "aAbBcC", "aAbBcCpa", "aAb-cCPA", "aAb/cCPA", "aAbBcCPA\n", None]
)
def test_io_signature_rejects_a_bad_partner_id(partner_id):
    with pytest.raises(ValueError, match="partner id must be letters and digits ending in PA"):
        io_signature(partner_id, SECRET, TIMESTAMP)


@pytest.mark.parametrize("encoding", ["HEX", "base32", ""])
def test_io_signature_rejects_an_unknown_encoding(encoding):
    with pytest.raises(ValueError, match="unknown IO signature encoding"):
        io_signature(PARTNER_ID, SECRET, TIMESTAMP, encoding)


# --- IO signature: checking ------------------------------------------------------------------


def test_io_signature_matches_the_right_signature():
    assert io_signature_matches(PARTNER_ID, SECRET, IO_HEX, "1775653748") is True


def test_io_signature_matches_in_base64():
    assert io_signature_matches(PARTNER_ID, SECRET, IO_BASE64, "1775653748", "base64") is True


def test_io_signature_matches_a_minted_signature():
    minted = io_signature_mint(PARTNER_ID, SECRET, 1775653748.7)
    assert io_signature_matches(PARTNER_ID, SECRET, minted.signature, str(minted.timestamp))


@pytest.mark.parametrize(
    "signature",
    [
        IO_HEX_OTHER_SECRET,
        IO_HEX_NEXT_SECOND,
        IO_HEX.upper(),
        IO_HEX[:-1],
        IO_HEX + "0",
        "",
        IO_BASE64,
    ],
)
def test_io_signature_does_not_match_a_wrong_signature(signature):
    assert io_signature_matches(PARTNER_ID, SECRET, signature, "1775653748") is False


def test_io_signature_does_not_match_under_another_secret():
    assert io_signature_matches(PARTNER_ID, "other-secret", IO_HEX, "1775653748") is False


def test_io_signature_hex_does_not_match_when_base64_is_expected():
    assert io_signature_matches(PARTNER_ID, SECRET, IO_HEX, "1775653748", "base64") is False


def test_io_signature_does_not_match_a_wrong_timestamp():
    assert io_signature_matches(PARTNER_ID, SECRET, IO_HEX, "1775653749") is False


@pytest.mark.parametrize(
    "timestamp",
    ["", " 1775653748", "1775653748 ", "-1775653748", "+1775653748", "1775653748.0", "1e9", "١٢٣"],
)
def test_io_signature_does_not_match_a_timestamp_that_is_not_ascii_digits(timestamp):
    assert io_signature_matches(PARTNER_ID, SECRET, IO_HEX, timestamp) is False


def test_io_signature_does_not_match_a_non_ascii_signature():
    assert io_signature_matches(PARTNER_ID, SECRET, "é" + IO_HEX[1:], "1775653748") is False


def test_io_signature_does_not_match_a_timestamp_with_thousands_of_digits():
    assert io_signature_matches(PARTNER_ID, SECRET, IO_HEX, "9" * 5000) is False


# --- Webhook signature ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "secret", "expected"),
    [
        (BODY, SECRET, BODY_SIG),
        (BODY, "new-secret", BODY_SIG_NEW_SECRET),
        (BODY_ONE_BYTE_CHANGED, SECRET, BODY_ONE_BYTE_CHANGED_SIG),
        (b"", SECRET, EMPTY_BODY_SIG),
        (UTF8_BODY, SECRET, UTF8_BODY_SIG),
    ],
)
def test_webhook_signature_known_answers(body, secret, expected):
    assert webhook_signature(body, secret) == expected


def test_webhook_signature_needs_a_secret():
    with pytest.raises(ValueError, match="needs the platform secret"):
        webhook_signature(BODY, "")


@pytest.mark.parametrize(
    "header",
    [
        BODY_SIG,
        BODY_SIG.upper(),
        f"sha256={BODY_SIG}",
        f"SHA256={BODY_SIG}",
        f"Sha256={BODY_SIG.upper()}",
        f"  {BODY_SIG}  ",
        f"\t{BODY_SIG}\r\n",
        f" sha256={BODY_SIG} ",
        f"sha256= {BODY_SIG}",
    ],
)
def test_verify_webhook_accepts_each_hex_form(header):
    assert verify_webhook(BODY, header, [SECRET]) is True


@pytest.mark.parametrize(
    ("body", "header"),
    [(b"", EMPTY_BODY_SIG), (UTF8_BODY, UTF8_BODY_SIG)],
)
def test_verify_webhook_accepts_other_bodies(body, header):
    assert verify_webhook(body, header, [SECRET]) is True


@pytest.mark.parametrize(
    "secrets",
    [
        ["new-secret", SECRET],
        [SECRET, "new-secret"],
        ("", SECRET),
        iter(["old", SECRET]),
    ],
)
def test_verify_webhook_accepts_when_any_secret_matches(secrets):
    assert verify_webhook(BODY, BODY_SIG, secrets) is True


def test_verify_webhook_accepts_the_new_secret_during_a_rotation():
    assert verify_webhook(BODY, BODY_SIG_NEW_SECRET, [SECRET, "new-secret"]) is True


@pytest.mark.parametrize("header", [None, ""])
def test_verify_webhook_rejects_a_missing_header(header):
    assert verify_webhook(BODY, header, [SECRET]) is False


def test_verify_webhook_rejects_a_wrong_secret():
    assert verify_webhook(BODY, BODY_SIG, ["new-secret", "other"]) is False


def test_verify_webhook_rejects_a_body_changed_by_one_byte():
    assert verify_webhook(BODY_ONE_BYTE_CHANGED, BODY_SIG, [SECRET]) is False


def test_verify_webhook_rejects_the_signature_of_another_body():
    assert verify_webhook(BODY, BODY_ONE_BYTE_CHANGED_SIG, [SECRET]) is False


@pytest.mark.parametrize(
    "header",
    [
        BODY_SIG[:-2],  # one byte short
        BODY_SIG[:-1],  # odd number of hex digits
        BODY_SIG + "00",  # one byte too many
        "z" + BODY_SIG[1:],  # not hex
        BODY_SIG[:32] + " " + BODY_SIG[32:],  # whitespace inside
        "é" + BODY_SIG[1:],  # not ASCII
        "٣" + BODY_SIG[1:],  # a non-ASCII digit
        "sha256=",
        f"sha256=sha256={BODY_SIG}",
        f"sha1={BODY_SIG}",
        f"0x{BODY_SIG}",
        "   ",
    ],
)
def test_verify_webhook_rejects_a_malformed_header(header):
    assert verify_webhook(BODY, header, [SECRET]) is False


@pytest.mark.parametrize("secrets", [[], [""], ["", ""]])
def test_verify_webhook_rejects_when_there_is_no_usable_secret(secrets):
    assert verify_webhook(BODY, BODY_SIG, secrets) is False


def test_verify_webhook_skips_an_empty_secret_instead_of_using_it_as_a_key():
    # The HMAC of BODY under an empty key, which an empty secret must never validate:
    # printf '{"event":"channel_live","data":{"id":"y9MiLoCH"}}' | openssl dgst -sha256 -hmac ''
    empty_key_sig = "8cedea20d8c9df9a21decedb13da947f0332f43213edada62e16a6ff4edc9e23"
    assert verify_webhook(BODY, empty_key_sig, [""]) is False


def test_verify_webhook_refuses_a_single_string_as_the_secrets():
    # A string would be taken character by character: "s" alone would be a valid secret.
    with pytest.raises(TypeError, match="not one string"):
        verify_webhook(b"{}", "00" * 32, "secret")
