"""Code tables (domain.md §4) as data: loaded once from data/codes.json and shared by
forms, template drop-downs, validation and exports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "codes.json"


@dataclass(frozen=True)
class CodeTable:
    name: str
    label: str
    codes: tuple[tuple[str, str], ...]  # (code, label) in display order
    aliases: dict[str, str]  # extra accepted texts (old names, short forms) -> code

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.codes)

    def lookup(self, value: str) -> str | None:
        """The code for a code, a label or an alias; None when unknown."""
        for code, label in self.codes:
            if value in (code, label):
                return code
        return self.aliases.get(value)

    def choices(self) -> list[tuple[str, str]]:
        return list(self.codes)


@lru_cache(maxsize=1)
def code_tables() -> dict[str, CodeTable]:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return {
        name: CodeTable(
            name=name,
            label=spec["label"],
            codes=tuple((c, label) for c, label in spec["codes"]),
            aliases=dict(spec.get("aliases", {})),
        )
        for name, spec in raw.items()
        if not name.startswith("_")
    }


def table(name: str) -> CodeTable:
    return code_tables()[name]
