"""The English catalog (locale/en/LC_MESSAGES/django.po) is complete and in use.

Checked, without touching the database:

- every entry of the catalog has a non-empty msgstr and none is marked fuzzy, and the
  header declares Language: en and UTF-8;
- each msgstr keeps exactly the %(name)s placeholders of its msgid;
- the committed django.mo matches the .po (compilemessages was run after the last edit);
- every {% trans "..." %} literal and every simple {% blocktrans %} body in
  templates/**/*.html, and every side-menu label in platform/config/menu.py, has an
  entry, so a new string cannot be forgotten (run makemessages -l en, then translate);
- gettext() answers in English under override("en") and in Chinese under
  override("zh-hans").

The .po is read by the small parser below; polib is deliberately not a dependency.
"""

from __future__ import annotations

import ast
import gettext as stdlib_gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

ROOT = Path(settings.BASE_DIR)
PO_PATH = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")
TEMPLATES = ROOT / "templates"
MENU_SOURCE = ROOT / "platform" / "config" / "menu.py"

TRANS_RE = re.compile(r"""\{%\s*trans(?:late)?\s+(?:"([^"]*)"|'([^']*)')""")
BLOCKTRANS_RE = re.compile(
    r"\{%\s*blocktrans(?:late)?\b(?P<options>[^%]*)%\}(?P<body>.*?)"
    r"\{%\s*endblocktrans(?:late)?\s*%\}",
    re.DOTALL,
)
VARIABLE_RE = re.compile(r"\{\{\s*(\w+)\s*\}\}")
PLACEHOLDER_RE = re.compile(r"%\((\w+)\)[sd]")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstrs: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0


def _unquote(token: str) -> str:
    """The content of one "..." line of a .po file, with C escapes resolved."""
    token = token.strip()
    if len(token) < 2 or not (token.startswith('"') and token.endswith('"')):
        raise ValueError(f"not a quoted string: {token}")
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), token[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """Entries of a .po file, header included (msgid ""); obsolete #~ entries skipped."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] = ("msgid", 0)  # the field that continuation lines extend
    flags: set[str] = set()

    def finish() -> None:
        nonlocal current
        if current is not None:
            entries.append(current)
        current = None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if current is not None and current.msgstrs and not line.startswith(('"', "msgstr")):
            finish()  # anything but a continuation after msgstr starts the next entry
        if not line:
            flags = set()
        elif line.startswith("#,"):
            flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert current is not None, f"{path}:{number}: string outside an entry"
            name, index = target
            if name == "msgstr":
                current.msgstrs[index] += _unquote(line)
            else:
                setattr(current, name, (getattr(current, name) or "") + _unquote(line))
        else:
            keyword, _, rest = line.partition(" ")
            if current is None:
                current, flags = Entry(line=number, flags=flags), set()
            plural = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if keyword == "msgstr" or plural:
                target = ("msgstr", int(plural.group(1)) if plural else 0)
                current.msgstrs[target[1]] = _unquote(rest)
            elif keyword in {"msgid", "msgid_plural", "msgctxt"}:
                target = (keyword, 0)
                setattr(current, keyword, _unquote(rest))
            else:
                raise AssertionError(f"{path}:{number}: unexpected line {raw!r}")
    finish()
    return entries


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    assert PO_PATH.is_file(), f"{PO_PATH} is missing; run makemessages -l en"
    return parse_po(PO_PATH)


@pytest.fixture(scope="module")
def catalog(entries: list[Entry]) -> dict[str, Entry]:
    return {e.msgid: e for e in entries if e.msgid and e.msgctxt is None}


def template_msgids() -> dict[str, list[str]]:
    """msgid -> the templates using it, for {% trans %} literals and simple blocktrans."""
    found: dict[str, list[str]] = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        where = str(path.relative_to(ROOT))
        for match in TRANS_RE.finditer(source):
            found.setdefault(match.group(1) or match.group(2) or "", []).append(where)
        for match in BLOCKTRANS_RE.finditer(source):
            body, options = match.group("body"), match.group("options")
            if "{% plural %}" in body or "context" in options.split():
                continue  # plural and contextual forms are not used; makemessages owns them
            if "trimmed" in options.split():
                body = " ".join(ln.strip() for ln in body.strip().splitlines() if ln.strip())
            msgid = VARIABLE_RE.sub(r"%(\1)s", body.replace("%", "%%"))
            found.setdefault(msgid, []).append(where)
    found.pop("", None)
    return found


def menu_labels() -> set[str]:
    """The literals wrapped in gettext_noop() in the side-menu definition."""
    tree = ast.parse(MENU_SOURCE.read_text(encoding="utf-8"))
    return {
        node.args[0].value  # type: ignore[misc]
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "gettext_noop"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def test_header_declares_english_utf8(entries: list[Entry]) -> None:
    header = next((e for e in entries if e.msgid == ""), None)
    assert header is not None, "the catalog has no header entry"
    text = header.msgstrs[0]
    assert "Language: en\n" in text
    assert "charset=UTF-8" in text
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in text
    assert "fuzzy" not in header.flags


def test_catalog_has_no_empty_or_fuzzy_entries(entries: list[Entry]) -> None:
    messages = [e for e in entries if e.msgid]
    assert len(messages) > 100, "the catalog looks truncated"
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    empty = [e.msgid for e in messages if not e.msgstrs or not all(e.msgstrs.values())]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not empty, f"untranslated entries: {empty}"


def test_translations_keep_placeholders(entries: list[Entry]) -> None:
    wrong = {
        e.msgid: s
        for e in entries
        if e.msgid
        for s in e.msgstrs.values()
        if sorted(PLACEHOLDER_RE.findall(s)) != sorted(PLACEHOLDER_RE.findall(e.msgid))
    }
    assert not wrong, f"placeholders differ from the msgid: {wrong}"


def test_compiled_catalog_matches_po(entries: list[Entry]) -> None:
    assert MO_PATH.is_file(), f"{MO_PATH} is missing; run compilemessages -l en"
    with MO_PATH.open("rb") as handle:
        compiled = stdlib_gettext.GNUTranslations(handle)
    stale = {
        e.msgid: e.msgstrs[0]
        for e in entries
        if e.msgid and e.msgid_plural is None and compiled.gettext(e.msgid) != e.msgstrs[0]
    }
    assert not stale, f"django.mo is older than django.po; run compilemessages: {stale}"


def test_every_template_string_is_in_the_catalog(catalog: dict[str, Entry]) -> None:
    used = template_msgids()
    assert "学生名册" in used, "the template scan found nothing; is the regex broken?"
    missing = {msgid: where for msgid, where in used.items() if msgid not in catalog}
    assert not missing, f"run makemessages -l en and translate: {missing}"


def test_every_menu_label_is_in_the_catalog(catalog: dict[str, Entry]) -> None:
    labels = menu_labels()
    assert "学生名册" in labels, "menu labels must be wrapped in gettext_noop()"
    missing = sorted(label for label in labels if label not in catalog)
    assert not missing, f"run makemessages -l en and translate: {missing}"


def test_gettext_follows_the_active_language() -> None:
    with translation.override("en"):
        english = translation.gettext("学生名册")
    with translation.override("zh-hans"):
        chinese = translation.gettext("学生名册")
    assert english != "学生名册"
    assert english.isascii()
    assert english.strip()
    assert chinese == "学生名册"


# Passwords that break each configured validator once (for a user named A002 李建国).
WEAK_PASSWORDS = ["Ab1!", "A002a", "Password123", "1234567890123", "abcdefghijkl"]


def _validator_messages(language: str) -> tuple[set[str], int]:
    from django.contrib.auth.password_validation import (
        get_default_password_validators,
        password_validators_help_texts,
    )
    from django.core.exceptions import ValidationError

    from accounts.models import User

    user = User(username="A002", full_name="李建国")
    found: set[str] = set()
    refusing = 0
    with translation.override(language):
        for validator in get_default_password_validators():
            refused = False
            for password in WEAK_PASSWORDS:
                try:
                    validator.validate(password, user)
                except ValidationError as exc:
                    found.update(exc.messages)
                    refused = True
            refusing += refused
        found.update(password_validators_help_texts())
    return found, refusing


def test_password_validator_messages_are_chinese_by_default() -> None:
    """Every refusal and help text of the configured password validators, as a user
    meets them: in Chinese (the default language) and in English under "en"."""
    from django.contrib.auth.password_validation import get_default_password_validators

    chinese, refusing = _validator_messages("zh-hans")
    # each validator refused at least one of the weak passwords
    assert refusing == len(get_default_password_validators())
    han = re.compile(r"[\u4e00-\u9fff]")
    assert all(han.search(m) for m in chinese), [m for m in chinese if not han.search(m)]
    english, _refusing = _validator_messages("en")
    assert all(not han.search(m) for m in english), [m for m in english if han.search(m)]
