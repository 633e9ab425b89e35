"""The documentation site: it builds strictly, its generated reference covers the code, nothing of the old README is lost.

``test_strict_build`` runs ``mkdocs build --strict`` (as ``make docs`` does) into a temp dir; the other
tests check the generators and the pages without a build.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SOURCES = [*(ROOT / "fixtures").rglob("*.py"), *(ROOT / "kernel_ext").rglob("*.py")]

griffe = pytest.importorskip("griffe")


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _load("docs_generated_hooks", DOCS / "_hooks" / "generated.py")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    return out


def test_strict_build(site):
    assert (site / "index.html").exists() and (site / "tutorial" / "index.html").exists()
    assert not (site / "_incoming").exists() and not (site / "_hooks").exists()
    fetched = [p for p in site.rglob("*.html") if "fonts.googleapis.com" in p.read_text()]
    assert not fetched, f"pages that load web fonts: {fetched[:3]}"
    roles = [p for p in site.rglob("*.html") if re.search(r":(class|func|meth|mod):<code>", p.read_text())]
    assert not roles, f"Sphinx roles shown raw: {roles[:3]}"


def test_api_reference_shows_every_public_name(site):
    import codex_fixtures
    import codex_magics

    html = (site / "reference" / "api" / "index.html").read_text()
    ids = set(re.findall(r'id="((?:codex_fixtures|codex_magics)[\w.]*)"', html))
    shown = {i.rsplit(".", 1)[-1] for i in ids}
    missing = [n for n in [*codex_fixtures.__all__, *codex_magics.__all__] if n not in shown and n != "__version__"]
    assert not missing, f"public names missing from reference/api: {missing}"


def test_generated_references_are_in_the_site(site):
    cli = (site / "reference" / "cli" / "index.html").read_text()
    for name, _, _ in hooks.cli_commands():
        assert f"codex-repro {name}" in cli
    fixtures = (site / "reference" / "fixtures" / "index.html").read_text()
    for fixture in hooks.fixtures():
        assert f'id="{fixture["name"]}"' in fixtures
    markers = (site / "reference" / "markers" / "index.html").read_text()
    known, app = hooks.marker_keys()
    assert all(f"<code>{key}</code>" in markers for key in (*known, *app))
    magics = (site / "reference" / "magics" / "index.html").read_text()
    from codex_magics.parsing import SUBCOMMANDS

    assert all(f"%codex {name}" in magics for name in SUBCOMMANDS)
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert (site / "notebooks" / nb.stem / "index.html").exists()


def test_cli_reference_is_the_parser():
    """The page is the parser's own help: a new subcommand or flag shows up without a docs change."""
    names = [name for name, _, _ in hooks.cli_commands()]
    assert {"list", "run", "check", "replay", "bisect", "history", "diff", "cache", "cache list", "cache prune"} <= set(names)
    text = hooks.gen_cli()
    for _, _, parser in hooks.cli_commands():
        for action in parser._actions:
            for flag in action.option_strings:
                assert flag in text


def test_every_marker_key_is_described():
    known, app = hooks.marker_keys()
    assert set(hooks.MARKER_KEYS) == set(known), "describe each @pytest.mark.codex key in docs/_hooks/generated.py"
    assert set(hooks.APP_SERVER_KEYS) == set(app)


def test_every_fixture_has_scope_yield_and_docstring():
    found = {f["name"]: f for f in hooks.fixtures()}
    assert {"codex_responses", "codex_home", "codex_app_server", "codex_app_servers", "codex_launch", "codex_shared",
            "codex_built_home", "codex_fake_home", "codex_respx", "codex_sdk", "codex_async_sdk", "codex_binary"} <= set(found)
    assert found["codex_shared"]["scope"] == "session" and found["codex_home"]["yields"] == "Path"
    assert all(f["doc"] for f in found.values())


def test_every_magic_has_help():
    text = hooks.gen_magics()
    from codex_magics.parsing import SUBCOMMANDS

    assert len(SUBCOMMANDS) >= 20 and all(f"## %codex {name}\n" in text for name in SUBCOMMANDS)
    assert "CodexMagics.timeout" in text


def test_environment_variables_the_code_reads_are_documented():
    page = (DOCS / "reference" / "environment.md").read_text()
    read = set()
    for path in SOURCES:
        text = path.read_text()
        read |= set(re.findall(r"(?:environ\.get|getenv)\(\s*\"([A-Z][A-Z0-9_]*)\"", text))
        read |= set(re.findall(r"environ\[\s*\"([A-Z][A-Z0-9_]*)\"\s*\]", text))
        read |= set(re.findall(r"^[A-Z_]*ENV\s*=\s*\"([A-Z][A-Z0-9_]*)\"", text, re.M))
    assert {"CODEX_BIN", "CODEX_THREADKIT_HOME_CACHE", "XDG_CACHE_HOME"} <= read
    assert not [v for v in read if f"`{v}`" not in page], sorted(v for v in read if f"`{v}`" not in page)


def _public_objects():
    import codex_fixtures
    import codex_magics

    for package, module, path in (("codex_fixtures", codex_fixtures, "fixtures"), ("codex_magics", codex_magics, "kernel_ext")):
        loaded = griffe.load(package, search_paths=[str(ROOT / path)])
        for name in module.__all__:
            if name == "__version__":
                continue
            obj = loaded.members.get(name) or loaded["mock.respx_mount"].members.get(name)  # the two lazy names
            yield name, obj.final_target if obj.is_alias else obj


def test_every_public_name_has_a_docstring():
    missing = [name for name, obj in _public_objects() if not (obj.docstring and obj.docstring.value.strip())]
    assert not missing, f"public names without a docstring: {missing}"


def test_every_class_and_function_a_module_exports_has_a_docstring():
    """Beyond the package's names: each wing's and each module's ``__all__`` (constants aside)."""
    missing = []

    def walk(module) -> None:
        for sub in module.modules.values():
            walk(sub)
        for name in module.exports or ():
            name = name if isinstance(name, str) else name.name
            try:
                obj = module[name]
                obj = obj.final_target if obj.is_alias else obj
            except (KeyError, griffe.AliasResolutionError):
                continue  # lazy names (``__getattr__``) are checked by test_every_public_name_has_a_docstring
            if (obj.is_class or obj.is_function) and not (obj.docstring and obj.docstring.value.strip()):
                missing.append(f"{module.path}.{name}")

    walk(griffe.load("codex_fixtures", search_paths=[str(ROOT / "fixtures")]))
    walk(griffe.load("codex_magics", search_paths=[str(ROOT / "kernel_ext")]))
    assert not missing, f"exported classes and functions without a docstring: {missing}"


# Public callables whose docstrings do not yet describe every argument. Empty since 2026-12-07 (every public
# name documents its arguments: Google style ``Args:``, or ``Attributes:`` / attribute docstrings for a class's
# fields). Kept as the mechanism: it may only stay empty, so a new public name documents its arguments too.
ARGS_NOT_YET_DOCUMENTED: set[str] = set()


def _undocumented_args(obj) -> list[str]:
    target = obj.members.get("__init__") if obj.is_class else obj
    if target is None or not (obj.is_function or obj.is_class):
        return []
    skipped_kinds = ("variadic positional", "variadic keyword")
    params = [p.name for p in target.parameters if p.name not in ("self", "cls") and not p.name.startswith("_") and p.kind.value not in skipped_kinds]
    if not params or obj.docstring is None:
        return params
    sections = obj.docstring.parse("google")
    documented = {p.name for s in sections if s.kind.value in ("parameters", "attributes") for p in s.value}
    if obj.is_class:  # a dataclass field documented by its own attribute docstring counts
        documented |= {name for name, m in obj.all_members.items() if not m.is_alias and m.docstring and m.docstring.value.strip()}
    return [p for p in params if p not in documented]


def test_public_arguments_are_documented():
    bad = {name: args for name, obj in _public_objects() if (args := _undocumented_args(obj))}
    new = {name: args for name, args in bad.items() if name not in ARGS_NOT_YET_DOCUMENTED}
    assert not new, f"public callables whose Args: section misses arguments: {new}"
    fixed = ARGS_NOT_YET_DOCUMENTED - set(bad)
    assert not fixed, f"documented now: take these off ARGS_NOT_YET_DOCUMENTED: {sorted(fixed)}"


# Public methods (of the public classes, inherited ones included) whose docstrings do not yet describe every
# argument (2026-12-07). The list may only shrink. What is left waits for its module to be split: driver.py is
# being changed on other branches, spec.py and script.py are at the 500-line limit.
METHOD_ARGS_NOT_YET_DOCUMENTED = {
    "AppServerProcess.close", "AppServerProcess.format_transcript", "AppServerProcess.stderr_tail",
    "AppServerProcess.write_raw_line",
    "HomeSpec.declare_rollout_threads", "HomeSpec.fork", "HomeSpec.from_home", "HomeSpec.from_rollouts",
    "HomeSpec.last_time", "HomeSpec.owns", "HomeSpec.ref", "HomeSpec.thread_of",
    "MockResponsesServer.enqueue", "MockResponsesServer.route", "MockResponsesServer.wait_for_requests",
    "RespxMount.enqueue", "RespxMount.route", "RespxMount.wait_for_requests",
    "ResponsesScript.enqueue", "ResponsesScript.handle", "ResponsesScript.record_problem",
    "ResponsesScript.record_request", "ResponsesScript.route", "ResponsesScript.set_repeat",
    "ResponsesScript.wait_for_requests",
}


def _public_methods():
    for class_name, cls in _public_objects():
        if not cls.is_class:
            continue
        for name, member in cls.all_members.items():
            if name.startswith("_"):
                continue
            target = member.final_target if member.is_alias else member
            if target.is_function and target.package.name in ("codex_fixtures", "codex_magics"):
                yield f"{class_name}.{name}", target


def test_public_methods_document_their_arguments():
    """Each method of a public class documents its arguments (fails on the main of 2026-12-07, where about 150 did not)."""
    bad = {name: args for name, method in _public_methods() if (args := _undocumented_args(method))}
    new = {name: args for name, args in bad.items() if name not in METHOD_ARGS_NOT_YET_DOCUMENTED}
    assert not new, f"public methods whose Args: section misses arguments: {new}"
    fixed = METHOD_ARGS_NOT_YET_DOCUMENTED - set(bad)
    assert not fixed, f"documented now: take these off METHOD_ARGS_NOT_YET_DOCUMENTED: {sorted(fixed)}"


# Public callables that raise (a ``raise`` in their own body, or their ``__init__``'s) but whose docstring has
# no ``Raises:`` section (2026-12-07; driver.py is being changed on another branch). May only shrink.
RAISES_NOT_YET_DOCUMENTED = {"AppServerProcess"}


def _raises_directly(obj) -> bool:
    target = obj.members.get("__init__") if obj.is_class else obj
    if target is None or not target.is_function:
        return False
    tree = ast.parse(textwrap.dedent(target.source))
    return any(isinstance(node, ast.Raise) for node in ast.walk(tree))


def test_public_callables_that_raise_document_their_errors():
    """Fails on the main of 2026-12-07 (eleven names raised without a ``Raises:`` section)."""
    bad = set()
    for name, obj in _public_objects():
        if (obj.is_function or obj.is_class) and _raises_directly(obj):
            sections = obj.docstring.parse("google") if obj.docstring else []
            if not any(section.kind.value == "raises" for section in sections):
                bad.add(name)
    assert not bad - RAISES_NOT_YET_DOCUMENTED, f"public callables that raise without a Raises: section: {sorted(bad - RAISES_NOT_YET_DOCUMENTED)}"
    fixed = RAISES_NOT_YET_DOCUMENTED - bad
    assert not fixed, f"documented now: take these off RAISES_NOT_YET_DOCUMENTED: {sorted(fixed)}"


# The section headings of the README before the site (2026-12-07): each has a page that holds it.
OLD_README_HEADINGS = [
    "Two commands", "In pytest", "Several app-servers, started late or again", "Routes beyond the Responses API, logins",
    "Tool calls and approvals", "Replies by content, checked params, a model that fails", "Template homes: a faster first start",
    "Homes the binary wrote: `HomeSpec` and `build_home`", "In-process clients and CODEX_HOME readers",
    "Fake rollouts in the binary's own format", "The official SDK and WebSocket clients", "The official SDK, approvals-free",
    "Several clients over a WebSocket", "Testing a client library that starts its own app-server",
    "Sharing a server across a module or the session", "codex-repro",
    "When did a behaviour change? `bisect`, `history`, `diff`, `cache`", "A user's rollout, replayed", "Bounds and bad input",
    "In Jupyter", "Sandbox, temp dirs and crashes", "What of your machine reaches a hermetic child", "Layout", "Changelog",
]


def test_every_old_readme_section_has_a_home():
    headings = {}
    for path in [*DOCS.rglob("*.md"), ROOT / "CHANGELOG.md"]:
        if "_incoming" in path.parts:
            continue
        for line in path.read_text().splitlines():
            if m := re.match(r"^#{1,6} (.+)$", line):
                headings.setdefault(m.group(1).strip(), path)
    homeless = [h for h in OLD_README_HEADINGS if h not in headings]
    assert not homeless, f"sections of the old README with no page: {homeless}"


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = [p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if not {"_incoming", "_hooks"} & set(p.parts)]
    assert not [p for p in pages if p not in nav]


def test_notebook_pages_are_executed_notebooks():
    executed = (ROOT / "tests" / "test_notebooks.py").read_text()
    assert all(f'"{nb.name}"' in executed for nb in (ROOT / "notebooks").glob("*.ipynb"))


def test_architecture_picture_follows_the_import_rules():
    architecture = _load("architecture_rules", ROOT / "tests" / "test_architecture.py")
    page = (DOCS / "explanation" / "architecture.md").read_text()
    edges = re.findall(r"^\s*(\w+)(?:\[[^\]]*\])?\s*-->\s*(\w+)", page, re.M)
    wings = set(architecture.ALLOWED)
    drawn = [(a, b) for a, b in edges if a in wings and b in wings | {"errors"}]
    assert len(drawn) >= 8
    assert not [(a, b) for a, b in drawn if b not in architecture.ALLOWED[a]]
