"""Every "domain.md §x.y" citation in the project points at a heading of docs/domain.md.

Code comments, templates and docs cite the domain reference by section number; a
citation of a section the reference does not have leaves the reader with nothing. The
scan covers every .py, .html and .md file of the project except docs/ itself and the
hidden directories (.venv, .git, the embedded servers' data); a citation may be broken
over a line (a docstring or a comment that wraps after "domain.md").
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ROOT / "docs" / "domain.md"
SUFFIXES = {".py", ".html", ".md"}
SKIP_DIRS = {"node_modules", "staticfiles", "__pycache__"}

NUMBER = r"\d+(?:\.\d+){0,2}"
# "domain.md", then only blanks and comment or quote marks (a wrapped line), then §N
# or a range §N–M (both ends must exist).
CITATION = re.compile(rf"domain\.md[\s#\"'*]*§({NUMBER})(?:\s*[–-]\s*({NUMBER}))?")
HEADING = re.compile(rf"^#{{2,4}} ({NUMBER})\.?\s", re.MULTILINE)


def headings() -> set[str]:
    return set(HEADING.findall(DOMAIN.read_text(encoding="utf-8")))


def project_files() -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(ROOT):
        here = Path(folder)
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".") and d not in SKIP_DIRS and not (here == ROOT and d == "docs")
        ]
        found += [here / f for f in files if Path(f).suffix in SUFFIXES]
    return sorted(found)


def citations() -> list[tuple[str, int, str]]:
    """(file relative to the root, line, cited number) for every citation found."""
    out = []
    for path in project_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in CITATION.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            for number in match.groups():
                if number:
                    out.append((str(path.relative_to(ROOT)), line, number))
    return out


def test_the_domain_reference_has_the_sections_of_its_outline() -> None:
    have = headings()
    top = {str(n) for n in range(8)}  # §0 … §7
    assert top <= have, f"missing top-level sections: {sorted(top - have)}"


def test_every_domain_citation_names_an_existing_section() -> None:
    have = headings()
    found = citations()
    assert len(found) > 20, "the scan found almost no citations: is the pattern still right?"
    broken = [f"{file}:{line}: §{number}" for file, line, number in found if number not in have]
    assert not broken, "citations of sections docs/domain.md does not have:\n" + "\n".join(broken)
