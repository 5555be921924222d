"""Input normalisation shared by every validator: full-width to half-width, no spaces."""

from __future__ import annotations

import unicodedata


def normalize_digits(value: object) -> str:
    """NFKC turns full-width digits and letters into ASCII; all whitespace goes."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    return "".join(text.split())
