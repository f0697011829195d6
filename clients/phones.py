"""Phone numbers as people type and read them: national formats read with the page's country,
stored as 360Dialog takes them (E.164 digits, no `+`), shown grouped for humans."""

from __future__ import annotations

import phonenumbers

# The country whose national format a page in this language reads (a German page reads
# `0151 2345 6790` as a German mobile number).
LANGUAGE_REGIONS = {"de": "DE", "pt": "PT", "en": "GB"}


def phone_normalize(raw: str, *, region: str | None = None) -> str:
    """E.164 digits without the `+` (`4915123456790`). Raises ValueError for what is not a
    possible phone number. `+49 ...` and `0049 ...` need no region; a national number needs it."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def phone_display(digits: str) -> str:
    """`4915112345678` as people read it: `+49 151 12345678`; unparseable values unchanged
    with a `+`."""
    if not digits:
        return ""
    try:
        number = phonenumbers.parse(f"+{digits.lstrip('+')}", None)
    except phonenumbers.NumberParseException:
        return f"+{digits.lstrip('+')}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
