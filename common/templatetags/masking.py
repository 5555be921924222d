from django import template

from common.masking import mask_id_number, mask_national_number

register = template.Library()


@register.filter
def mask_id(value: str) -> str:
    return mask_id_number(value)


@register.filter
def mask_number(value: str) -> str:
    """A national number as lists show it: G numbers masked like the ID inside them, L
    and J numbers (no ID in them) whole, so two pupils' numbers never look alike."""
    return mask_national_number(value)
