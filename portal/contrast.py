"""Colour contrast as WCAG 2.2 computes it: which text colour a partner's brand colour takes,
and whether a colour can carry text or a focus ring on the pages' white."""

from __future__ import annotations

BLACK, WHITE = "#000000", "#ffffff"
TEXT_MINIMUM = 4.5  # AA, normal text
NON_TEXT_MINIMUM = 3.0  # AA, focus indicators and other graphics
# What the pages use instead when a brand colour is too light for text or a focus ring.
DARK_FALLBACK = "#1f2933"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """Relative luminance of `#rrggbb`."""
    digits = colour.lstrip("#")
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_on(background: str) -> str:
    """Black or white, whichever contrasts more with `background` (always >= 4.58:1)."""
    return (
        BLACK if contrast_ratio(background, BLACK) >= contrast_ratio(background, WHITE) else WHITE
    )


def usable_on_white(colour: str, minimum: float) -> str:
    """`colour` when it reaches `minimum` against white, else the dark fallback."""
    return colour if contrast_ratio(colour, WHITE) >= minimum else DARK_FALLBACK


def brand_warnings(*, primary: str, accent: str) -> list[str]:
    """What the admin says about a partner's colours the pages cannot use as they are."""
    warnings = []
    ratio = contrast_ratio(primary, WHITE)
    if ratio < TEXT_MINIMUM:
        warnings.append(
            f"The primary colour {primary} has {ratio:.2f}:1 against white (4.5:1 needed for "
            f"text): links and labels use {DARK_FALLBACK} instead; buttons in it get "
            f"{'black' if text_on(primary) == BLACK else 'white'} text."
        )
    ratio = contrast_ratio(accent, WHITE)
    if ratio < NON_TEXT_MINIMUM:
        warnings.append(
            f"The accent colour {accent} has {ratio:.2f}:1 against white (3:1 needed for the "
            f"focus ring): the focus ring uses {DARK_FALLBACK} instead."
        )
    return warnings


def brand_css(*, primary: str, accent: str) -> str:
    """The custom properties the client pages' stylesheet reads, chosen for contrast."""
    return (
        f":root {{ --primary: {primary}; --accent: {accent}; --on-primary: {text_on(primary)}; "
        f"--primary-text: {usable_on_white(primary, TEXT_MINIMUM)}; "
        f"--focus: {usable_on_white(accent, NON_TEXT_MINIMUM)}; }}"
    )
