"""The layers of README "Architecture" are checked, not hoped for (issue 14).

import-linter holds the import contracts written in pyproject.toml ([tool.importlinter]):
every import statement counts, including those inside functions. What no import shows —
`apps.get_model("registry", "Student")` or a model label string such as "registry.Student" —
is checked here against the same layers, so a string cannot smuggle a dependency past them.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("common", "tenants", "accounts", "shared_apps", "tenant_apps", "platform/config")
# The cross-school flows may name no school app's model; the facade does that for them.
FLOWS = ("shared_apps.bureau", "shared_apps.backups", "shared_apps.transfers")
SCHOOL_APPS = {"registry", "grades", "school_admin"}
# Known leaks while issue 14 is open (may only shrink): module -> why it is still here.
KNOWN_STRING_LEAKS: dict[str, str] = {}


def _contracts() -> list[dict[str, Any]]:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["tool"]["importlinter"]["contracts"]


def _layers() -> list[list[str]]:
    """The layers contract, top first, each layer a list of module prefixes."""
    (layers,) = [c for c in _contracts() if c["id"] == "layers"]
    out = []
    for layer in layers["layers"]:
        out.append([m.strip() for m in str(layer).replace("|", ":").split(":")])
    return out


def _layer_of(module: str, layers: list[list[str]]) -> int | None:
    """Index of the layer holding `module` (0 is the top), by the longest prefix."""
    best: tuple[int, int] | None = None
    for index, members in enumerate(layers):
        for prefix in members:
            inside = module == prefix or module.startswith(prefix + ".")
            if inside and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    return None if best is None else best[0]


def _label_targets(tree: ast.AST) -> list[tuple[int, str, str]]:
    """(line, app label, model name) of every model named by a string in `tree`."""
    found: list[tuple[int, str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "get_model":
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if len(args) == 2 and all(isinstance(a, str) for a in args):
                found.append((node.lineno, str(args[0]), str(args[1])))
                continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            label, dot, name = node.value.partition(".")
            if dot and name.isidentifier() and name[:1].isupper():
                found.append((node.lineno, label, name))
    return [
        (line, label, name)
        for line, label, name in found
        if label in {c.label for c in apps.get_app_configs()} and _is_model(label, name)
    ]


def _is_model(label: str, name: str) -> bool:
    try:
        apps.get_model(label, name)
    except LookupError:
        return False
    return True


def _violations(module: str, source: str, layers: list[list[str]]) -> list[str]:
    here = _layer_of(module, layers)
    out = []
    for line, label, name in _label_targets(ast.parse(source)):
        target_module = apps.get_app_config(label).name
        there = _layer_of(target_module, layers)
        if module.startswith(FLOWS) and label in SCHOOL_APPS:
            out.append(f"{module}:{line} names {label}.{name} (a school's model) past its facade")
        elif here is not None and there is not None and there < here:
            out.append(f"{module}:{line} names {label}.{name} from a lower layer")
    return out


def _product_modules() -> list[tuple[str, Path]]:
    out = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            if parts[0] == "platform":
                parts = parts[1:]
            out.append((".".join(p for p in parts if p != "__init__"), path))
    return out


def test_import_contracts_hold() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")])}
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache", "--no-logo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_known_leaks_list_is_written_down() -> None:
    # The ignore lists hold the test packages, the facade and, while issue 14 is open, the
    # leaks known when the contracts were written; nothing else may be added to them.
    for contract in _contracts():
        for entry in contract.get("ignore_imports", []):
            assert " -> " in entry, entry


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("accounts.audit", 'apps.get_model("registry", "Student")'),
        ("tenants.services", 'FK = "registry.SchoolClass"'),
        ("shared_apps.transfers.move", 'apps.get_model("registry", "StudentEvent")'),
        ("shared_apps.bureau.renumber", 'LABEL = "grades.Course"'),
    ],
)
def test_the_string_check_sees_a_crossing(module: str, source: str) -> None:
    assert _violations(module, source, _layers())


def test_the_string_check_lets_downward_names_pass() -> None:
    assert not _violations("tenants.models", 'FK = "regions.Region"', _layers())
    assert not _violations("tenant_apps.grades.models", 'FK = "registry.Student"', _layers())


def test_model_names_in_strings_follow_the_layers() -> None:
    layers = _layers()
    found: list[str] = []
    for module, path in _product_modules():
        if module in KNOWN_STRING_LEAKS:
            assert _violations(module, path.read_text(encoding="utf-8"), layers), (
                f"{module} no longer leaks: remove it from KNOWN_STRING_LEAKS"
            )
            continue
        found += _violations(module, path.read_text(encoding="utf-8"), layers)
    assert not found, "\n".join(found)
