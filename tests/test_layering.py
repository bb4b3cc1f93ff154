"""The import directions, walked with ast over every module (issue 10: one face).

- ``engine/`` imports none of its edges (nor Flask).
- The edges (web app, sensors, integrations, CLI, simulation) import ``engine`` and ``engine.exceptions`` only, and
  from ``engine`` only the names of its face (``engine.__all__``): no ``engine.models``, no ``from engine import
  people``. What they need is a verb or read on ``Engine`` or a service object it hands out.
"""
from __future__ import annotations

import ast
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parent.parent
EDGES = ("webui", "sensors", "integrations", "jingzhi", "simulation")
#: What engine/ must not import: the edges, and Flask (the engine knows no request).
NOT_IN_ENGINE = (*EDGES, "flask")
#: The modules of engine/ an edge may import by name.
FACE_MODULES = {"engine", "engine.exceptions"}
#: The one submodule the face exports as a name: the clock, which the edges read and tests and the demo set.
EXPORTED_MODULES = {"clock"}


def _imports(path: Path):
    """(line, module, names) of every absolute import in ``path``; ``names`` is None for ``import x``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, [alias.name for alias in node.names]


def _modules_of(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts or package != "engine")


def _engine_submodules() -> set[str]:
    folder = ROOT / "engine"
    return {p.stem for p in folder.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def face_violations(path: Path, root: Path = ROOT) -> list[str]:
    """What ``path`` imports from the engine besides its face."""
    found = []
    for line, module, names in _imports(path):
        if module != "engine" and not module.startswith("engine."):
            continue
        where = f"{path.relative_to(root)}:{line}"
        if module not in FACE_MODULES:
            found.append(f"{where} imports {module}")
            continue
        if module == "engine" and names is not None:
            outside = [n for n in names if n not in engine.__all__ and n != "exceptions"]
            found.extend(f"{where} imports {n} from engine, which is not in engine.__all__" for n in outside)
    return found


def test_engine_imports_none_of_its_edges():
    offenders = {}
    for path in _modules_of("engine"):
        reached = {module.split(".")[0] for _, module, _ in _imports(path)} & set(NOT_IN_ENGINE)
        if reached:
            offenders[str(path.relative_to(ROOT))] = sorted(reached)
    assert offenders == {}


def test_the_edges_import_only_the_engine_face():
    walked = [path for package in EDGES for path in _modules_of(package)]
    assert len(walked) > 50, "the walk found the edge packages"
    assert [v for path in walked for v in face_violations(path)] == []


def test_the_face_exports_names_not_engine_modules():
    """``engine.__all__`` holds classes, constants and functions; a submodule there would reopen the side door."""
    exported_modules = set(engine.__all__) & _engine_submodules()
    assert exported_modules <= EXPORTED_MODULES
    assert all(hasattr(engine, name) for name in engine.__all__)


def test_the_walk_catches_a_side_door(tmp_path):
    """The check itself: each way of reaching past the face is reported, the face is not."""
    edge = tmp_path / "edge.py"
    edge.write_text("import engine\nimport engine.models\nfrom engine.devices import import_devices\n"
                    "from engine import people, Engine, clock\nfrom engine.exceptions import NotFound\n"
                    "from engine import exceptions\n", encoding="utf-8")
    assert face_violations(edge, tmp_path) == ["edge.py:2 imports engine.models", "edge.py:3 imports engine.devices",
                     "edge.py:4 imports people from engine, which is not in engine.__all__"]


def test_engine_has_no_generic_read_runner():
    """Reads are named verbs or service methods; the old ``Engine.query(fn, ...)`` escape hatch is gone."""
    assert not hasattr(engine.Engine, "query")


#: What the deploy pipeline may never reach, directly or through another engine module: the database.
NOT_IN_DEPLOY = ("engine.store", "engine.models", "sqlalchemy")


def _engine_module_path(module: str) -> Path | None:
    """The file of an ``engine.*`` module, or None for anything outside engine/ and for the face itself
    (``engine/__init__.py``, which Python runs first whatever is imported, and which is not a dependency)."""
    if not module.startswith("engine."):
        return None
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _absolute(path: Path, node: ast.ImportFrom) -> list[str]:
    """The absolute modules an ``ImportFrom`` names, relative ones resolved against ``path``'s package."""
    if node.level == 0:
        base = node.module or ""
    else:
        package = list(path.relative_to(ROOT).with_suffix("").parts)
        package = package[:-1] if package[-1] != "__init__" else package[:-1]
        package = package[:len(package) - node.level + 1]
        base = ".".join(package + ([node.module] if node.module else []))
    # ``from engine.deploy import sizes`` imports a module; ``from .models import Case`` a name from one
    named = [f"{base}.{alias.name}" for alias in node.names]
    return [base] + [name for name in named if _engine_module_path(name) is not None]


def reached_from(path: Path) -> set[str]:
    """Every module ``path`` imports, followed through engine/ modules (relative imports included)."""
    seen: set[str] = set()
    todo = [path]
    visited: set[Path] = set()
    while todo:
        current = todo.pop()
        if current in visited:
            continue
        visited.add(current)
        for node in ast.walk(ast.parse(current.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = _absolute(current, node)
            else:
                continue
            for module in modules:
                seen.add(module)
                found = _engine_module_path(module)
                if found is not None:
                    todo.append(found)
    return seen


def _reaches(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


def test_the_deploy_pipeline_reads_no_table():
    """engine/deploy is files in, a parsed set or a refusal out: no store, no tables, no SQLAlchemy, even through
    another engine module (its roster check, the sandbox's source check)."""
    modules = sorted((ROOT / "engine" / "deploy").glob("*.py"))
    assert len(modules) >= 8, "the walk found the deploy package"
    offenders = {str(p.relative_to(ROOT)): _reaches(reached_from(p), NOT_IN_DEPLOY) for p in modules}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_reach_walk_follows_relative_imports(tmp_path):
    """The check itself: validation reaches the sandbox through expressions; the tables are reached from models."""
    assert "engine.sandbox" in reached_from(ROOT / "engine" / "deploy" / "validation.py")
    assert "sqlalchemy" in reached_from(ROOT / "engine" / "catalogue.py")


#: Above the face: the face itself (``Engine`` and the service objects it hands out), the alarm layer, and the
#: periodic and background work that calls ``Engine``'s verbs. Everything else in engine/ is under the face.
ABOVE_THE_FACE = {"engine/__init__.py", "engine/api.py", "engine/services.py", "engine/read_services.py",
                  "engine/jobs.py", "engine/ticker.py"}


def test_nothing_under_the_face_imports_the_alarm_layer():
    """The alarm layer (alerts -> alarms -> cases) calls the engine's verbs; the runtime, persistence, projection,
    store, tables, reads and deploy pipeline below the face never reach it, not even through another module."""
    under = [p for p in _modules_of("engine") if "alarms" not in p.relative_to(ROOT).parts
             and str(p.relative_to(ROOT)) not in ABOVE_THE_FACE]
    assert len(under) > 40, "the walk found the modules under the face"
    offenders = {str(p.relative_to(ROOT)): _reaches(reached_from(p), ("engine.alarms",)) for p in under}
    assert {name: found for name, found in offenders.items() if found} == {}
    assert "engine.alarms.lifecycle" in reached_from(ROOT / "engine" / "ticker.py"), "the walk sees the layer"
