"""The house's walls: tools and tests never rewrite tracked files, the core never
names the areas above it, every entry point loads."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted((ROOT / "admin" / "translations").glob("*/LC_MESSAGES/messages.po"))


def test_catalogue_update_works_on_copies_and_never_churns(tmp_path):
    assert [p.parent.parent.name for p in CATALOGUES] == ["en", "vi"]
    tracked = {p: p.read_bytes() for p in CATALOGUES}
    target = tmp_path / "translations"
    tool = [sys.executable, str(ROOT / "scripts" / "admin_catalogues.py"), "--into", str(target)]
    subprocess.run(tool, check=True, timeout=120)
    copies = {p.relative_to(target): p.read_bytes() for p in target.glob("*/LC_MESSAGES/messages.po")}
    assert set(copies) == {p.relative_to(ROOT / "admin" / "translations") for p in CATALOGUES}
    assert all(b'msgid "Dashboard"' in text for text in copies.values())
    # A second run with nothing new rewrites nothing, not even the POT-Creation-Date.
    for path in target.glob("*/LC_MESSAGES/messages.po"):
        text = re.sub(rb'"POT-Creation-Date: [^"]*"',
                      lambda _: b'"POT-Creation-Date: 2000-01-01 00:00+0000\\n"', path.read_bytes())
        path.write_bytes(text)
    subprocess.run(tool, check=True, timeout=120)
    for path in target.glob("*/LC_MESSAGES/messages.po"):
        assert b"POT-Creation-Date: 2000-01-01 00:00+0000" in path.read_bytes()
    assert {p: p.read_bytes() for p in CATALOGUES} == tracked


# ---- the core never names the areas built on it -------------------------------------

AREAS = ("admin", "central")
MODULE_PATH = re.compile(r"^(admin|central)(\.[A-Za-z_]\w*)+(:[A-Za-z_]\w*)?$|^(admin|central):\w+$")


def names_of_areas(source: str) -> list[str]:
    """Imports of admin/central and strings that are their module paths."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in AREAS]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] in AREAS:
            found.append(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and MODULE_PATH.match(node.value.strip()):
            found.append(node.value)
    return found


def test_the_detector_sees_every_way_of_naming_an_area():
    sample = ("import admin.web\nfrom central import db\nx = 'admin.cli:admin_group'\n"
              "def f():\n    from admin.app import create_app\n"
              "importlib.import_module('central.demo')\nrole = 'admin'\n")
    assert sorted(names_of_areas(sample)) == sorted(
        ["admin.web", "central", "admin.cli:admin_group", "central.demo", "admin.app"])


def test_kiosk_never_names_admin_or_central():
    offenders = {}
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        names = names_of_areas(path.read_text(encoding="utf-8"))
        if names:
            offenders[str(path.relative_to(ROOT))] = names
    assert offenders == {}, "the core names areas above it; use an entry point (pyproject.toml)"


def test_every_entry_point_loads_and_is_what_its_group_promises():
    import click
    from sqlite_utils.migrations import Migrations

    from kiosk.entrypoints import GROUPS, declared, loaded
    from kiosk.player.plugins import PlayerPlugin

    with open(ROOT / "pyproject.toml", "rb") as f:
        promised = tomllib.load(f)["project"]["entry-points"]
    assert sorted(promised) == sorted(GROUPS)
    for group in GROUPS:  # the installed metadata is this checkout's pyproject.toml
        assert {n: ep.value for n, ep in declared(group).items()} == promised[group], \
            f"{group}: reinstall (pip install -e .)"
    assert all(isinstance(m, Migrations) for m in loaded("gatecast.migrations").values())
    assert all(isinstance(c, click.Command) for c in loaded("gatecast.commands").values())
    assert all(issubclass(p, PlayerPlugin) for p in loaded("gatecast.player_plugins").values())
    assert set(declared("gatecast.resolvers")) >= {"video", "image", "text"}
    assert all(callable(f) for f in loaded("gatecast.resolvers").values())
    assert all(callable(f) for f in loaded("gatecast.demo_services").values())
    assert all(callable(f) for f in loaded("gatecast.words").values())


# ---- no import circles between the project's modules ---------------------------------

PACKAGES = ("kiosk", "admin", "central")


def project_modules(root: Path, packages=PACKAGES) -> dict[str, Path]:
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def import_graph(root: Path, packages=PACKAGES) -> dict[str, set[str]]:
    """module -> the project modules it imports, wherever the import statement
    is (module level, inside a function, under TYPE_CHECKING). A parent package
    is not counted as imported by its submodules' imports (Python imports it
    first, but only to find the submodule)."""
    modules = project_modules(root, packages)

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = module if is_package else module.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{base}" if base else package
                # `from a import b` imports the module a.b when there is one.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            for target in targets:
                found = known(target)
                if found and found != module:
                    graph[module].add(found)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each as
    one circle through it, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []

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
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(groups)


def test_the_circle_finder_finds_deferred_and_relative_circles(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .. import c\n")  # deferred, relative
    (pkg / "c.py").write_text("import pkg.a\n")
    (pkg / "d.py").write_text("from pkg import a\n")  # imports into the circle, not part of it
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.sub.b"] == {"pkg.c"}
    assert circles(graph) == [["pkg.a", "pkg.c", "pkg.sub.b"]]
    (pkg / "c.py").write_text("")
    assert circles(import_graph(tmp_path, ("pkg",))) == []


def test_no_import_circles_between_the_projects_modules():
    assert circles(import_graph(ROOT)) == []


# ---- the README's map of the folders and its table of dependencies ------------------

README = ROOT / "README.md"


def _tracked_folders(depth: int = 2) -> set[str]:
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    folders = set()
    for name in filter(None, names):
        parts = name.split("/")[:-1]
        if parts and not parts[0].startswith(".") and (ROOT / name).exists():
            folders |= {"/".join(parts[:i]) + "/" for i in range(1, min(len(parts), depth) + 1)}
    return folders


def test_readme_folder_map_matches_the_tree():
    text = README.read_text(encoding="utf-8")
    block = re.search(r"### Folders\n.*?```text\n(.*?)```", text, re.S)
    assert block, "README.md has no folder map (### Folders with a ```text block)"
    mapped = [line.split()[0] for line in block.group(1).splitlines() if line.strip()]
    assert len(mapped) == len(set(mapped)), "a folder is mapped twice"
    tree = _tracked_folders()
    assert sorted(set(tree) - set(mapped)) == [], "folders missing from README.md's map"
    assert sorted(set(mapped) - set(tree)) == [], "README.md maps folders that do not exist"


def test_readme_says_why_each_python_dependency_is_there():
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values()
                                              for r in extra]
    names = {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in requirements}
    table = re.search(r"## Dependencies and why\n(.*?)\n## ", README.read_text(encoding="utf-8"), re.S)
    first_column = " ".join(line.split("|")[1] for line in table.group(1).splitlines()
                            if line.startswith("|")).lower()
    missing = sorted(n for n in names if not re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])",
                                                       first_column))
    assert missing == [], "say in README.md's dependency table why these are there"
