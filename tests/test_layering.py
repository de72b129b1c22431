"""Imports point one way (docs/architecture.md, "Layers"): a module may import its own layer and the layers below,
never one above, and no two top-level packages may import each other, however indirectly.

Every ``import`` statement of every module counts, the ones inside functions too (lazy imports are still
dependencies). The table below is the rule; a module that matches no entry fails the test, so a new package has to
be given its place.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Where each installed package comes from (pyproject.toml [tool.setuptools.package-dir]; the rest is tsp3d/...).
PACKAGE_DIRS = {"tsp3d.export": "export", "tsp3d.calibration": "calibration", "tsp3d.bench": "bench"}

# Lowest first. Names are module prefixes; the longest matching prefix decides.
LAYERS = [
    ("core", ["tsp3d", "tsp3d.errors", "tsp3d.utils"]),
    ("kernels", ["tsp3d.kernels"]),  # ctypes bindings of the compiled kernels' C ABI
    ("sparse", ["tsp3d.sparse"]),
    ("inputs", ["tsp3d.data", "tsp3d.text"]),
    ("model", ["tsp3d.model", "tsp3d.checkpoint", "tsp3d.pretrained", "tsp3d.convert_official", "tsp3d.evaluation",
               "tsp3d.train"]),
    ("export", ["tsp3d.export"]),
    ("runtime", ["tsp3d.runtime", "tsp3d.calibration"]),
    ("engine", ["tsp3d.engine"]),
    ("app", ["tsp3d.bundle", "tsp3d.validate", "tsp3d.validate_report", "tsp3d.parity", "tsp3d.ground",
             "tsp3d.tiling", "tsp3d.render", "tsp3d.quickstart", "tsp3d.doctor", "tsp3d.commands", "tsp3d.cli"]),
    ("bench", ["tsp3d.bench"]),
]


def layer_of(module: str) -> int:
    best, rank = "", -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > len(best):
                best, rank = p, i
    if rank < 0 or (best == "tsp3d" and module != "tsp3d"):
        raise KeyError(f"{module} has no layer in tests/test_layering.py LAYERS")
    return rank


def top_package(module: str) -> str:
    """The unit the cycle check works on: ``tsp3d.x`` for anything under ``tsp3d.x``."""
    return ".".join(module.split(".")[:2])


def module_files() -> dict[str, Path]:
    out = {}
    roots = {"tsp3d": ROOT / "tsp3d", **{pkg: ROOT / d for pkg, d in PACKAGE_DIRS.items()}}
    for pkg, folder in roots.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("").parts
            name = ".".join((pkg,) + rel).removesuffix(".__init__")
            if pkg == "tsp3d" and rel[0] in {p.split(".")[1] for p in PACKAGE_DIRS}:
                continue
            out[name] = path
    return out


def imports_of(module: str, source: str, is_package: bool) -> set[str]:
    """Every tsp3d module ``source`` imports (absolute, relative, top-level or inside functions)."""
    out = set()
    base = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                target = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            out |= {f"{target}.{a.name}" for a in node.names}  # `from pkg import submodule`
    return {m for m in out if m == "tsp3d" or m.startswith("tsp3d.")}


def violations(files: dict[str, Path], sources: dict[str, str] | None = None) -> list[str]:
    known = set(files)
    bad = []
    for module, path in sorted(files.items()):
        source = (sources or {}).get(module) or path.read_text()
        mine = layer_of(module)
        for target in sorted(imports_of(module, source, path.name == "__init__.py")):
            if target not in known and target.rpartition(".")[0] in known:
                target = target.rpartition(".")[0]  # `from module import name`: the module is the dependency
            if target not in known:
                continue
            if layer_of(target) > mine:
                bad.append(f"{module} ({LAYERS[mine][0]}) imports {target} ({LAYERS[layer_of(target)][0]})")
    return bad


def package_cycles(files: dict[str, Path]) -> list[list[str]]:
    """Strongly connected groups of more than one top-level package (Tarjan)."""
    edges: dict[str, set[str]] = {}
    for module, path in files.items():
        for target in imports_of(module, path.read_text(), path.name == "__init__.py"):
            a, b = top_package(module), top_package(target)
            if a != b and b in {top_package(m) for m in files}:
                edges.setdefault(a, set()).add(b)
    index, low, stack, on, groups, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return groups


def test_every_module_has_a_layer():
    missing = []
    for module in module_files():
        try:
            layer_of(module)
        except KeyError as e:
            missing.append(str(e))
    assert not missing, missing


def test_no_module_imports_a_higher_layer():
    bad = violations(module_files())
    assert not bad, "\n".join(bad)


def test_no_two_packages_import_each_other():
    assert package_cycles(module_files()) == []


def test_the_check_catches_an_upward_import():
    files = module_files()
    planted = {"tsp3d.sparse.ops": files["tsp3d.sparse.ops"].read_text() + "\n\ndef f():\n    from tsp3d.bench "
                                                                           "import suite\n"}
    assert any("tsp3d.sparse.ops (sparse) imports tsp3d.bench" in v for v in violations(files, planted))
    relative = {"tsp3d.model.head": "from ..runtime import base\n"}
    assert any("tsp3d.model.head (model) imports tsp3d.runtime.base" in v for v in violations(files, relative))


def test_pyproject_lists_every_package_folder():
    text = (ROOT / "pyproject.toml").read_text()
    listed = set(re.findall(r'"(tsp3d(?:\.[a-z_]+)*)"', text.split("[tool.setuptools]")[1].split("\n[")[0]))
    folders = {m for m, p in module_files().items() if p.name == "__init__.py"}
    assert listed == folders, (sorted(folders - listed), sorted(listed - folders))


@pytest.mark.parametrize("name", ["export", "calibration", "bench"])
def test_root_folders_install_under_the_tsp3d_namespace(name):
    module = __import__(f"tsp3d.{name}", fromlist=["_"])
    assert Path(module.__file__).resolve().parent == ROOT / name
