"""Password policy beyond Django's validators (settings.AUTH_PASSWORD_VALIDATORS)."""

from __future__ import annotations

from django.contrib.auth.password_validation import MinimumLengthValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

MSG_CHARACTER_CLASSES = gettext_noop("密码须至少包含大写字母、小写字母、数字、符号中的%(n)s类。")
MSG_TOO_SHORT = gettext_noop("密码太短，至少需要%(n)s个字符。")


def character_classes(password: str) -> int:
    """How many of upper case, lower case, digits and symbols `password` uses.

    Anything that is not an upper- or lower-case letter or a digit (punctuation, spaces,
    Chinese characters) counts as a symbol."""
    upper = lower = digit = symbol = False
    for char in password:
        if char.isupper():
            upper = True
        elif char.islower():
            lower = True
        elif char.isdigit():
            digit = True
        else:
            symbol = True
    return upper + lower + digit + symbol


class CharacterClassesValidator:
    """At least `min_classes` (default 3) of the four character classes."""

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user: object = None) -> None:
        if character_classes(password) < self.min_classes:
            raise ValidationError(
                _(MSG_CHARACTER_CLASSES),
                code="password_too_simple",
                params={"n": self.min_classes},
            )

    def get_help_text(self) -> str:
        return _(MSG_CHARACTER_CLASSES) % {"n": self.min_classes}


class MinimumLengthChineseValidator(MinimumLengthValidator):
    """Django's length rule with a message of our own: Django's zh-hans catalog lacks its
    plural form, so the stock message reached users in English."""

    def validate(self, password: str, user: object = None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(
                _(MSG_TOO_SHORT), code="password_too_short", params={"n": self.min_length}
            )

    def get_help_text(self) -> str:
        return _(MSG_TOO_SHORT) % {"n": self.min_length}
