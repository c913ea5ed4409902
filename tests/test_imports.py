"""The package's layout: no module imports itself back, by any path.

Every import of every module counts (at module level, inside functions, under ``TYPE_CHECKING``):
relative imports are resolved, ``from PACKAGE import NAME`` counts as importing the submodule
``NAME`` where there is one (else the package's ``__init__``, which defines ``NAME``), and importing
a module from outside its package counts as importing the package too (Python runs the package's
``__init__`` first).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "twitchsense"


def module_files(root: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (``__init__`` as the package)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    files = module_files(root)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                # a submodule by name, else a name the module (or package __init__) defines
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in files else module
                           for a in node.names]
            else:
                continue
            for t in targets:
                if t not in files:
                    continue
                deps.add(t)
                parts = t.split(".")
                for i in range(1, len(parts)):
                    parent = ".".join(parts[:i])
                    if parent in files and not (name == parent or name.startswith(parent + ".")):
                        deps.add(parent)
        deps.discard(name)
        graph[name] = deps
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of modules larger than one, as a cycle through its members
    (Tarjan's algorithm; iterative, so deep packages cannot overflow the stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return [cycle_through(graph, g) for g in groups]


def cycle_through(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """One import path from the group's first module back to itself, inside the group."""
    members = set(group)
    start = group[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    return paths[node] + [start]
                if child not in paths:
                    paths[child] = paths[node] + [child]
                    nxt.append(child)
        frontier = nxt
    return group  # not reached: a strongly connected group always has such a path


def test_the_package_has_no_import_cycle():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_walk_sees_every_kind_of_import(tmp_path):
    """A cycle hidden in a function, under TYPE_CHECKING or through a package's __init__ is found;
    a package whose modules import each other one way only is not a cycle."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "def f():\n    from .b import g\n",
        "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n",
        "c.py": "from .sub.d import x\n",
        "sub/__init__.py": "from .f import y\n",
        "sub/d.py": "x = 1\n",
        "sub/f.py": "from ..c import z\n",
        "e.py": "import pkg.a\nfrom pkg.sub.d import x\nfrom .sub import d\n",
        "sub/g.py": "from . import d, y\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    graph = import_graph(pkg)
    assert graph["pkg.e"] == {"pkg.a", "pkg.sub.d", "pkg.sub"}
    assert graph["pkg.sub.g"] == {"pkg.sub.d", "pkg.sub"}  # y is the package's: its __init__ is needed
    cycles = sorted(sorted(set(c)) for c in find_cycles(graph))
    assert cycles == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.sub", "pkg.sub.f"]]
