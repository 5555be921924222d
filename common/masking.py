"""Masked display of personal identifiers (lists and cross-school summaries)."""

from __future__ import annotations


def mask_id_number(value: str | None) -> str:
    """4301**********123X: region prefix and last four stay, the birth date is hidden."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_name(value: str | None) -> str:
    """张*三 / 李* : first and (for three or more characters) last stay."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_phone(value: str | None) -> str:
    """138****1234: the first three and the last four stay."""
    if not value:
        return ""
    value = str(value)
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "****" + value[-4:]
