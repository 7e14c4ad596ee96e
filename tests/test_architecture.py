"""The house: packages by layer, imports pointing down only, no import circles (docs/ARCHITECTURE.md).

Every ``import`` and ``from ... import`` in dtaosim's source is read with :mod:`ast` (module level, inside
functions and under ``TYPE_CHECKING`` alike: a dependency is a dependency), resolved to the module it names
(``from dtaosim.engine import blocks`` is an import of ``dtaosim.engine.blocks``), and checked against the
layer table below.  A module may import its own layer and the layers beneath it; a circle among modules
fails even within one layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "dtaosim"

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("dtaosim.errors", "dtaosim.plugins", "dtaosim.version")),
    ("rules", ("dtaosim.protocol",)),
    ("network", ("dtaosim.network",)),
    ("engine", ("dtaosim.engine",)),
    ("market", ("dtaosim.market",)),
    ("agents", ("dtaosim.agents",)),
    ("config", ("dtaosim.config",)),
    ("model", ("dtaosim.model", "dtaosim.recorder")),
    ("runs", ("dtaosim.runs",)),
    ("analysis", ("dtaosim.analysis", "dtaosim.studies")),
    ("app", ("dtaosim.explore",)),
    ("interface", ("dtaosim.cli", "dtaosim.__main__", "dtaosim")),
]
"""Bottom to top; a module's layer is that of the longest prefix naming it (``dtaosim`` itself, the package's
``__init__``, is the public API on top)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def layer_of(module: str) -> int:
    best, level = -1, -1
    for k, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, level = len(prefix), k
    if level < 0:
        raise AssertionError(f"{module}: in no layer of tests/test_architecture.py; add it to LAYERS")
    return level


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The dtaosim modules ``module`` imports (anywhere in the file)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            # ``from pkg import name``: the submodule pkg.name if there is one, else pkg itself
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # ``import dtaosim.engine.blocks.x`` -> the module
                target = target.rpartition(".")[0]
            if target.startswith("dtaosim") and target != module:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_every_module_has_a_layer():
    for name in all_modules():
        layer_of(name)


def test_imports_point_down_only():
    upward = [f"{src} ({LAYERS[layer_of(src)][0]}) imports {dst} ({LAYERS[layer_of(dst)][0]})"
              for src, targets in import_graph().items() for dst in sorted(targets) if layer_of(dst) > layer_of(src)]
    assert not upward, "imports that run up a layer:\n" + "\n".join(upward)


def test_no_import_circles():
    graph = import_graph()
    # Tarjan's strongly connected components: a component of more than one module is a circle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not circles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_the_rules_never_import_the_engine_and_results_never_import_plots():
    graph = import_graph()
    for src, targets in graph.items():
        if src.startswith("dtaosim.protocol"):
            assert not [t for t in targets if not t.startswith(("dtaosim.protocol", "dtaosim.errors"))], src
        if src.startswith("dtaosim.runs"):
            assert not [t for t in targets if t.startswith("dtaosim.analysis")], src


def test_only_the_command_line_imports_the_explorer():
    """The explorer is an app on top (its extra may be missing): the public API and every floor below never
    import it; ``cli.py`` does, inside its command."""
    importers = {src for src, targets in import_graph().items() if not src.startswith("dtaosim.explore")
                 and any(t.startswith("dtaosim.explore") for t in targets)}
    assert importers == {"dtaosim.cli"}


def test_the_config_imports_no_agent_module():
    assert not [t for t in import_graph()["dtaosim.config"] if t.startswith("dtaosim.agents")]


@pytest.mark.parametrize(("question", "path"), [
    ("how a swap works", "protocol/amm.py"),
    ("how emission is shared", "protocol/emission.py"),
    ("how Yuma consensus works", "protocol/yuma.py"),
    ("how a block's coinbase runs over the network", "network/coinbase.py"),
    ("how a tick settles", "market/settlement.py"),
    ("how a tick runs", "model.py"),
    ("how a sweep stores results", "runs/sweep.py"),
    ("which engine runs a kernel", "engine/select.py"),
    ("how the interactive explorer works", "explore/__init__.py"),
])
def test_a_newcomer_finds_the_file(question, path):
    assert (ROOT / path).is_file(), question
