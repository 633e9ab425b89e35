"""The package's shape: four wings, imports pointing one way, no cycle, no module over 500 lines.

Every ``import`` / ``from ... import`` of every module under ``codex_fixtures`` is read
with :mod:`ast` (also those under ``TYPE_CHECKING`` and inside functions), resolved to a
module of the package, and checked against the rule of DESIGN.md:

* ``mock`` imports nothing of the package but ``errors``;
* ``home`` imports ``errors`` and itself; ``appserver`` imports ``errors``, itself and ``home``;
* ``homebuild`` (homes the binary wrote) imports ``appserver``, ``home``, ``mock`` and ``errors``;
  nothing below it (``mock``, ``home``, ``appserver``) imports it;
* ``repro`` may import ``appserver``, ``home``, ``mock`` and ``homebuild``;
* ``plugin`` / ``_plugin_support`` / ``__init__`` sit on top; nothing imports the plugin;
* ``codex_magics`` imports ``codex_fixtures``, never the other way;
* no committed symlink points outside the tree (``git ls-files -s`` mode 120000, resolved).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "fixtures" / "codex_fixtures"
MAGICS = ROOT / "kernel_ext" / "codex_magics"
WINGS = ("mock", "appserver", "home", "homebuild", "repro")
ALLOWED = {  # wing -> wings (and top-level modules) it may import
    "errors": set(),
    "mock": {"errors"},
    "home": {"errors"},
    "appserver": {"errors", "home"},
    "homebuild": {"errors", "mock", "appserver", "home"},
    "repro": {"errors", "mock", "appserver", "home", "homebuild"},
    "_plugin_support": {"errors", "mock", "appserver", "home"},
    "_plugin_pool": {"errors", "mock", "appserver", "home", "_plugin_support"},
    "_plugin_shared": {"errors", "repro"},
    "plugin": {"errors", "mock", "appserver", "home", "homebuild", "repro", "_plugin_support", "_plugin_pool", "_plugin_shared"},
    "__init__": {"errors", "mock", "appserver", "home", "homebuild", "repro"},
}


def module_name(path: Path, root: Path, top: str) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = [top, *rel.parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The package modules ``path`` imports (``from .x import y`` resolves to ``x.y`` when that is a module)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if is_package(path) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:  # a submodule when it is one, else a name of the module ``base``
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m in known and m != name}


def package_files() -> dict[str, Path]:
    files = {module_name(p, PKG, "codex_fixtures"): p for p in PKG.rglob("*.py")}
    files.update({module_name(p, MAGICS, "codex_magics"): p for p in MAGICS.rglob("*.py")})
    return files


class _Graph(dict[str, set[str]]):
    """module -> the package modules it imports, each module parsed when first looked up.

    Collection needs only the names (the parametrize below); parsing all 130 modules at import cost every
    collecting xdist worker about 0.6 s of CPU, whichever worker then ran these tests.
    """

    def __init__(self, files: dict[str, Path]) -> None:
        super().__init__()
        self._files = files

    def __missing__(self, module: str) -> set[str]:
        self[module] = found = imports_of(self._files[module], module, set(self._files))
        return found

    def __iter__(self):  # every module, parsed or not
        return iter(self._files)

    def __contains__(self, module: object) -> bool:
        return module in self._files


GRAPH = _Graph(package_files())


def wing_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "codex_magics":
        return "codex_magics"
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def test_every_module_sits_in_a_wing_or_is_a_known_top_module() -> None:
    for module in GRAPH:
        wing = wing_of(module)
        assert wing in ALLOWED or wing == "codex_magics", f"{module} is outside the four wings and the known top modules"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m.startswith("codex_fixtures")))
def test_imports_point_one_way(module: str) -> None:
    wing = wing_of(module)
    for target in GRAPH[module]:
        assert not target.startswith("codex_magics"), f"{module} imports {target}: codex_fixtures never imports codex_magics"
        target_wing = wing_of(target)
        if target_wing == wing or target == "codex_fixtures":
            assert target != "codex_fixtures" or wing == "__init__", f"{module} imports the package root; import the module instead"
            continue
        assert target_wing in ALLOWED[wing], f"{module} imports {target}: {wing} may import only {sorted(ALLOWED[wing])}"


def test_no_import_cycle() -> None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(GRAPH):
        if node not in state:
            visit(node)


def test_the_cycle_check_can_fail() -> None:
    """The walker sees a relative import (the graph is not empty and resolves ``from .x``)."""
    assert "codex_fixtures.mock.sse" in GRAPH["codex_fixtures.mock.replies"]
    assert "codex_fixtures.repro.context" in GRAPH["codex_fixtures.repro.report"]


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in [*PKG.rglob("*.py"), *MAGICS.rglob("*.py")]))
def test_no_module_over_500_lines(path: str) -> None:
    lines = (ROOT / path).read_text().count("\n")
    assert lines <= 500, f"{path} has {lines} lines: split it along one reason to change"


def test_only_the_plugin_imports_pytest() -> None:
    for path in PKG.rglob("*.py"):
        if path.name == "plugin.py":
            continue
        tree = ast.parse(path.read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level}
        assert not names & {"pytest", "_pytest"}, f"{path.relative_to(ROOT)} imports pytest"


def links_leaving_the_tree(root: Path) -> list[str]:
    """``path -> target`` of every committed symlink (git mode 120000) that resolves outside ``root``.

    The target is read from git (what a fresh clone gets), resolved against the
    link's own directory; absolute targets and ``..`` chains that climb out count.
    """
    import subprocess

    listing = subprocess.run(["git", "-C", str(root), "ls-files", "-s", "-z"], capture_output=True, check=True,
                             timeout=60).stdout
    bad = []
    top = root.resolve()
    for entry in filter(None, listing.split(b"\0")):
        meta, _, name = entry.partition(b"\t")
        mode, sha, _stage = meta.split()
        if mode != b"120000":
            continue
        target = subprocess.run(["git", "-C", str(root), "cat-file", "blob", sha.decode()], capture_output=True,
                                check=True, timeout=60).stdout.decode("utf-8", "replace")
        path = name.decode("utf-8", "replace")
        resolved = Path(os.path.normpath(top / Path(path).parent / target))
        if not resolved.is_relative_to(top):
            bad.append(f"{path} -> {target}")
    return bad


def _git_checkout(root: Path) -> bool:
    import shutil
    import subprocess

    return shutil.which("git") is not None and subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True, check=False,
        timeout=60).returncode == 0


def test_no_committed_symlink_points_outside_the_tree() -> None:
    if not _git_checkout(ROOT):
        pytest.skip("not a git checkout (the committed links are read with git ls-files)")
    assert links_leaving_the_tree(ROOT) == [], "a committed symlink points outside the repository: git rm it"


def test_the_symlink_check_can_fail(tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=60)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "file").write_text("x")
    os.symlink("/tmp/elsewhere/codex", tmp_path / "codex")  # absolute: outside
    os.symlink("../../up", tmp_path / "sub" / "climbs")  # relative, climbs out
    os.symlink("file", tmp_path / "sub" / "inside")  # relative, stays inside
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True, timeout=60)
    assert links_leaving_the_tree(tmp_path) == ["codex -> /tmp/elsewhere/codex", "sub/climbs -> ../../up"]


def test_homebuild_sits_above_appserver_home_and_mock() -> None:
    """The home builder drives the binary (appserver, mock, home); nothing below it knows it exists."""
    drive = GRAPH["codex_fixtures.homebuild.drive"]
    assert {"codex_fixtures.appserver.driver", "codex_fixtures.mock.loopback"} <= drive
    below = [m for m in GRAPH if wing_of(m) in ("mock", "home", "appserver", "errors")]
    for module in below:
        assert not any(wing_of(t) == "homebuild" for t in GRAPH[module]), f"{module} imports the home builder"
