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


def mask_national_number(value: str | None) -> str:
    """A G number is G + the resident ID number, so it is masked like the ID itself;
    L and J numbers (area + birth date + sequence, no ID) are shown as they are."""
    if not value:
        return ""
    if value.startswith("G"):
        return "G" + mask_id_number(value[1:])
    return value


def mask_lookup_key(value: str | None) -> str:
    """Any number typed into a look-up (ID, G/L/J number, 学籍辅号), for the audit log:
    the first four and last four characters stay, as for an ID number."""
    return mask_id_number(value.strip().upper() if value else "")


# Column kinds (registry.fields) whose values lists, APIs and exports show masked
# unless the reader revealed them: every ID type (身份证, 护照, …) and phones.
MASKERS = {"id_number": mask_id_number, "phone": mask_phone}


def mask_by_kind(kind: str, value: object) -> object:
    """`value` masked when its column kind is one of MASKERS, else unchanged."""
    masker = MASKERS.get(kind)
    if masker is None or value in (None, ""):
        return value
    return masker(str(value))
