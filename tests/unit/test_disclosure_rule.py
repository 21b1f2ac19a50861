"""No disclosure without a committed access-log entry: the routes reach a child's data only
through :mod:`coordinator.index.disclosure`, never through the stores' raw reads."""

from __future__ import annotations

import ast
from pathlib import Path

import coordinator.index.access_log as access_log
import coordinator.index.children as children
import coordinator.index.disclosure as disclosure
import coordinator.index.events as events
import coordinator.index.notifications as notifications
import coordinator.index.store as index_store

COORDINATOR = Path(__file__).resolve().parents[2] / "coordinator"
RAW_READS = {
    index_store: ("_overview", "_consents_of"),
    access_log: ("_access_log", "_access_notifications"),
    notifications: ("_owner_notifications",),
    children: ("_my_children",),
    events: ("_partner_events",),
}


def _routes() -> list[Path]:
    found = sorted(COORDINATOR.rglob("routes*.py"))  # each room's routes.py, routes_*.py
    assert found, "no routes modules found"
    return found


def _private_reaches(path: Path) -> list[str]:
    """Where ``path`` imports a private name of a coordinator module that is not a routes
    module, or reads one as an attribute of a coordinator module it imported."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[str] = []
    modules: set[str] = set()  # local names bound to coordinator modules
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("coordinator"):
            module = node.module or ""
            for alias in node.names:
                if module == "coordinator":
                    modules.add(alias.asname or alias.name)
                elif alias.name.startswith("_") and not module.rsplit(".", 1)[-1].startswith(
                    "routes"
                ):
                    found.append(f"{path.name}:{node.lineno} {module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("coordinator.") and alias.asname:
                    modules.add(alias.asname)
                elif alias.name.startswith("coordinator"):
                    modules.add("coordinator")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name | ast.Attribute)
            and ast.unparse(node.value).split(".")[0] in modules
        ):
            found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
    return found


def test_routes_import_no_private_read_of_a_store() -> None:
    found = [hit for path in _routes() for hit in _private_reaches(path)]
    assert found == [], "routes disclose through coordinator.index.disclosure only"


def test_routes_do_not_touch_the_access_log_themselves() -> None:
    for path in _routes():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "coordinator.index.access_log", path.name
                assert not (
                    node.module in ("coordinator", "coordinator.index")
                    and any(a.name == "access_log" for a in node.names)
                ), path.name
            if isinstance(node, ast.Import):
                assert all(a.name != "coordinator.index.access_log" for a in node.names), path.name


def test_the_raw_reads_are_private_and_used_by_disclosure() -> None:
    source = Path(disclosure.__file__).read_text()
    for module, names in RAW_READS.items():
        for name in names:
            assert callable(getattr(module, name)), f"{module.__name__}.{name}"
            assert not hasattr(module, name.lstrip("_")), f"{module.__name__} exports a raw read"
            assert name in source, f"coordinator.index.disclosure does not read {name}"


def test_the_guard_sees_a_private_import(tmp_path: Path) -> None:
    bad = tmp_path / "routes_bad.py"
    bad.write_text(
        "from coordinator.index.store import _overview\n"
        "from coordinator import index_store\n"
        "index_store._consents_of\n"
    )
    assert len(_private_reaches(bad)) == 2
