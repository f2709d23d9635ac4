"""The package's shape: no import cycles (imports inside functions counted), and a map
(ARCHITECTURE.md) whose every path and name exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "glassnet"


def _modules(package: Path) -> dict:
    """{dotted module name: (syntax tree, is a package __init__, path)} for every .py file."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        is_pkg = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_pkg else parts)
        out[name] = (ast.parse(path.read_text(encoding="utf-8"), str(path)), is_pkg, path)
    return out


def import_graph(package: Path) -> dict:
    """{module: {imported module of the package: 'file:line' of the first such import}}, from
    every import statement, at the top of a file or inside a function; ``from . import x``
    counts as importing the module ``x`` where there is one, else the package."""
    mods = _modules(package)
    graph = {m: {} for m in mods}
    for name, (tree, is_pkg, path) in mods.items():
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here[:len(here) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in mods else base)
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for t in targets:
                if t in mods and t != name:
                    graph[name].setdefault(t, f"{path.relative_to(package.parent)}:{node.lineno}")
    return graph


def cycles(graph: dict) -> list:
    """The import cycles of ``graph``: one list of modules per strongly connected group of
    more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    counter = 0
    for start, imported in graph.items():
        if start in index:
            continue
        work = [(start, iter(imported))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(graph[w])))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    group = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        group.append(w)
                        if w == v:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return groups


def _describe(graph: dict, group: list) -> str:
    inside = set(group)
    return "; ".join(f"{a} -> {b} ({graph[a][b]})" for a in group for b in sorted(graph[a])
                     if b in inside)


def test_the_package_has_no_import_cycles():
    graph = import_graph(PACKAGE)
    assert len(graph) > 100  # the whole package was read
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(_describe(graph, g) for g in found)


def test_the_cycle_check_finds_a_cycle_through_a_function(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from . import a\n")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import g\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    graph = import_graph(pkg)
    assert graph["pkg.sub.b"] == {"pkg.a": "pkg/sub/b.py:2"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b"]]
    (pkg / "sub" / "b.py").write_text("def f():\n    import pkg\n")
    assert cycles(import_graph(pkg)) == [["pkg", "pkg.a", "pkg.sub.b"]]


def _defined(path: Path) -> set:
    """Names a file defines at its top level (functions, classes, assignments, imports) and
    ``Class.method`` for the methods of its classes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                names |= {f"{node.name}.{m.name}" for m in node.body
                          if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def map_entries(text: str) -> list:
    """(line number, path, [names]) for each path in backquotes in ``text`` and the backquoted
    names that follow it on its line (up to the next path)."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        for token in re.findall(r"`([^`]+)`", line):
            if re.fullmatch(r"(glassnet|tests|docs|benchmarks|examples)/[\w/.-]*", token):
                entries.append((number, token, []))
            elif entries and entries[-1][0] == number and re.fullmatch(r"[A-Za-z_]\w*(\.\w+)?", token):
                entries[-1][2].append(token)
    return entries


def test_the_architecture_map_names_files_and_names_that_exist():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    entries = map_entries(text)
    assert len(entries) > 60
    missing = []
    for number, path, names in entries:
        target = ROOT / path
        if not target.exists():
            missing.append(f"line {number}: {path} does not exist")
        elif target.suffix == ".py":
            defined = _defined(target)
            missing += [f"line {number}: {path} defines no {n}" for n in names if n not in defined]
    assert not missing, "\n".join(missing)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "ARCHITECTURE.md" in readme.split("## Layout", 1)[1]  # linked from the layout section


def test_the_map_check_reads_paths_and_names():
    line = "| x | `glassnet/ops/pool.py` | `MaxPool2dFunction`, `pool_out_size` (a = b) `z = w·x` |"
    assert map_entries(line) == [(1, "glassnet/ops/pool.py", ["MaxPool2dFunction", "pool_out_size"])]
    assert "Tensor.backward" in _defined(PACKAGE / "tensor.py")
