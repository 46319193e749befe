"""The package's shape: data flows one way through its layers, with no cycle and no hidden import.

Each module's imports of campwatch are read from its source (module level and inside
functions alike) and checked against the layers below, in the order data flows.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import campwatch

SRC = Path(campwatch.__file__).resolve().parent

#: The layers, bottom first: a module imports from its own layer and those below it only.
LAYERS: list[tuple[str, ...]] = [
    ("campwatch._version", "campwatch.errors", "campwatch.progress", "campwatch.document.",
     "campwatch.grid"),
    ("campwatch.classes", "campwatch.sections", "campwatch.config"),
    ("campwatch.io.", "campwatch.data."),
    ("campwatch.detection.",),  # the stages and what they find (results); analysis and blocks run them, below
    ("campwatch.detection.analysis", "campwatch.detection.blocks."),
    ("campwatch.publish.",),
    ("campwatch.report",),
    ("campwatch.run",),
    ("campwatch.monitor.", "campwatch.evaluate", "campwatch.inventory", "campwatch.teach", "campwatch.frames"),
    ("campwatch.cli.",),
]


def _name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(SRC.rglob("*.py"))}


def layer(module: str) -> int:
    """The layer of a module: the most specific entry that names it."""
    best, rank = -1, -1
    for i, entries in enumerate(LAYERS):
        for entry in entries:
            hit = (module.startswith(entry) or module == entry[:-1]) if entry.endswith(".") else module == entry
            if hit and len(entry) > best:
                best, rank = len(entry), i
    if rank < 0:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return rank


def _imports(path: Path) -> list[tuple[str, int, bool, list[str]]]:
    """(module imported, line, at module level, names imported) for every import of campwatch."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    type_checking = {id(n) for node in tree.body if isinstance(node, ast.If)
                     and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("campwatch"):
            names = [a.name for a in node.names]
            sub = [f"{node.module}.{n}" for n in names if f"{node.module}.{n}" in MODULES]
            for target in sub or [node.module]:
                out.append((target, node.lineno, id(node) in top or id(node) in type_checking, names))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("campwatch"):
                    out.append((a.name, node.lineno, id(node) in top, []))
    return out


GRAPH = {name: {t for t, *_ in _imports(path) if t in MODULES and t != name} for name, path in MODULES.items()}


def test_every_module_is_in_a_layer():
    assert MODULES, "no module found"
    for name in MODULES:
        if name != "campwatch":
            layer(name)


@pytest.mark.parametrize("name", [n for n in MODULES if n != "campwatch"])
def test_imports_point_down_only(name):
    for target, line, _, _ in _imports(MODULES[name]):
        if target == "campwatch":
            raise AssertionError(f"{name}:{line} imports the package root; import the module that holds the name")
        assert layer(target) <= layer(name), (
            f"{name}:{line} imports {target}, a layer above it ({LAYERS[layer(target)]} over {LAYERS[layer(name)]})")


@pytest.mark.parametrize("name", list(MODULES))
def test_no_import_is_hidden_in_a_function_or_behind_type_checking(name):
    hidden = [(t, line) for t, line, top, _ in _imports(MODULES[name]) if not top]
    assert not hidden, f"{name} imports campwatch modules inside functions: {hidden}"
    if name != "campwatch":  # the root names its lazy exports for type checkers
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        guarded = [n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
                   and any(isinstance(s, ast.ImportFrom) and (s.module or "").startswith("campwatch")
                           for s in ast.walk(n))]
        assert not guarded, f"{name} imports campwatch modules behind TYPE_CHECKING"


@pytest.mark.parametrize("name", list(MODULES))
def test_no_private_name_crosses_a_module_border(name):
    for target, line, _, names in _imports(MODULES[name]):
        private = [n for n in names if n.startswith("_") and n != "__version__"]
        assert not private, f"{name}:{line} imports private {private} from {target}"


def test_the_import_graph_has_no_cycle():
    graph = {n: GRAPH[n] - {"campwatch"} for n in GRAPH if n != "campwatch"}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(m):] + [m]))
            if m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)


def test_the_package_root_names_what_it_exports():
    assert sorted(campwatch.__all__) == sorted(["__version__", *campwatch._PUBLIC])
    for name in campwatch.__all__:
        assert getattr(campwatch, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        campwatch.nothing  # noqa: B018


#: Run in a fresh interpreter: the libraries campwatch builds on are imported once, then each
#: campwatch module is imported alone in a child forked from it (no campwatch module loaded yet),
#: which is what a fresh interpreter per module checks, at a tenth of its cost.
_IMPORT_EACH = """
import importlib, os, sys
libraries, names = sys.argv[1].split(","), sys.argv[2:]
for lib in libraries:
    try:
        importlib.import_module(lib)
    except ImportError:
        pass
assert not [m for m in sys.modules if m.split(".")[0] == "campwatch"], "campwatch imported by a library"
failed = []
for name in names:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException as exc:
            sys.stderr.write(f"{name}: {type(exc).__name__}: {exc}\\n")
            os._exit(1)
        os._exit(0)
    if os.waitpid(pid, 0)[1]:
        failed.append(name)
sys.exit(f"not importable alone: {', '.join(failed)}" if failed else 0)
"""


def _libraries() -> list[str]:
    """Every module of another package that campwatch's sources import (loaded before the forks:
    each fork then pays only for campwatch's own modules)."""
    found: set[str] = set()
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
    return sorted(n for n in found if n.split(".")[0] not in ("campwatch", "__future__"))


def test_each_module_imports_on_its_own():
    """Every module imports alone, with no other campwatch module loaded first: nothing relies on an
    import made elsewhere first."""
    proc = subprocess.run([sys.executable, "-c", _IMPORT_EACH, ",".join(_libraries()), *MODULES],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
