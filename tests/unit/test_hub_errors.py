"""The hub's exception tree lives in one module: coordinator/errors.py."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import coordinator.errors as errors
from coordinator.errors import CoordinatorError, StoreError, store_error

COORDINATOR = Path(__file__).resolve().parents[2] / "coordinator"
EXCEPTION_BASES = {"Exception", "SamspilError", "CoordinatorError"} | {
    name for name, obj in vars(errors).items() if isinstance(obj, type)
}


def _modules() -> list[Path]:
    return sorted(p for p in COORDINATOR.rglob("*.py") if p.name != "errors.py")


def test_no_exception_class_outside_errors_py() -> None:
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                bases |= {b.attr for b in node.bases if isinstance(b, ast.Attribute)}
                if bases & EXCEPTION_BASES:
                    found.append(f"{path.name}:{node.lineno} {node.name}")
    assert found == [], "hub errors belong in coordinator/errors.py"


def test_no_copy_of_the_store_error_helper() -> None:
    copies = [
        f"{path.name}:{node.lineno}"
        for path in _modules()
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.lstrip("_") == "store_error"
    ]
    assert copies == [], "use coordinator.errors.store_error"


def test_every_hub_error_is_in_the_docstring_tree() -> None:
    tree = errors.__doc__ or ""
    for name, obj in vars(errors).items():
        if inspect.isclass(obj) and issubclass(obj, CoordinatorError):
            assert f" {name} " in tree, name


def test_store_error_names_only_the_type() -> None:
    exc = RuntimeError("INSERT ... cpr='0101101234'")
    translated = store_error(exc, "the index")
    assert isinstance(translated, StoreError)
    assert (translated.status, translated.code) == (503, "database-unavailable")
    assert str(translated) == "the index is unavailable (RuntimeError); try again"
    assert "0101101234" not in str(translated)
