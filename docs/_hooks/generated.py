"""mkdocs hook: the reference pages that are generated from the code itself, so they cannot drift.

A page writes ``<!-- generated: NAME -->`` where a generated part goes; :func:`on_page_markdown`
replaces it with ``GENERATORS[NAME]()``. The notebooks and ``CHANGELOG.md`` become pages of their
own (:func:`on_files`). ``tests/test_docs_site.py`` imports this module to check the same things
without a build. Nothing here reaches the network.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "fixtures" / "codex_fixtures" / "plugin.py"
NOTEBOOKS = ROOT / "notebooks"
CHANGELOG = ROOT / "CHANGELOG.md"
PLACEHOLDER = re.compile(r"<!-- generated: ([a-z_]+) -->")
log = logging.getLogger("mkdocs.hooks.generated")
ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const|ref):`([^`]+)`")


def _plain(text: str) -> str:
    """Sphinx roles (``:class:`~x.Y```) as inline code, as ``sphinx_roles.py`` does for the API pages."""

    def name(match: re.Match[str]) -> str:
        target = match.group(1)
        return f"``{target.lstrip('~.').rsplit('.', 1)[-1] if target.startswith(('~', '.')) else target}``"

    return ROLE.sub(name, text)


MARKER_KEYS: dict[str, str] = {
    "reply": "A string every model request is answered with (default `\"Done\"`). Not together with `responses`.",
    "responses": "A list of replies served once each, in order: SSE bodies, event lists, plain strings (the assistant's "
                 "text), functions `reply(request)`, or `when(match, reply)` served to the first request that matches.",
    "config": "A dict of `config.toml` options for `codex_home` (`write_config_toml` keywords; `extra=` for any other key).",
    "strict": "`True` (default): requests the script did not expect and unused `responses` fail the test at teardown.",
    "app_server": "A dict of defaults for `codex_app_servers` / `codex_app_server` / `codex_launch`; its keys are listed below.",
    "auth": "`\"chatgpt\"` writes a fake ChatGPT login and routes the ChatGPT backend on the mock; `\"api_key\"` writes an API key login.",
    "approvals": "How server requests are answered: `None` (buffered for the test), `\"accept\"`, `\"decline\"`, `\"cancel\"`, "
                 "or a function `(JSONRPCRequest) -> result dict`.",
    "fresh_home": "`True`: the binary initializes `codex_home` from nothing instead of copying the template home.",
    "tool_check": "`False` turns off only the check that a scripted tool call names a tool the request offered.",
    "check_params": "`False` turns off the check of every request's params against the binary's schema.",
    "home": "A `HomeSpec`: the binary writes its threads into `codex_home` (see `codex_built_home`).",
    "transport": "How the binary reaches the mock model: `\"http\"` (default), `\"websocket\"` or `\"both\"`; also writes the "
                 "provider's `supports_websockets`.",
}
APP_SERVER_KEYS: dict[str, str] = {
    "env": "Environment variables added over the hermetic child environment (they always win).",
    "args": "Extra arguments after `codex app-server`.",
    "client_info": "The `clientInfo` the `initialize` request sends.",
    "capabilities": "The `capabilities` the `initialize` request sends.",
    "cwd": "The app-server's working directory.",
}


def _fence(text: str, lang: str = "text") -> str:
    return f"```{lang}\n{text.rstrip()}\n```"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, tuple[str, argparse.ArgumentParser]]:
    """The subcommands of ``parser``: name -> (one-line help, parser), in the parser's order."""
    for action in parser._actions:  # noqa: SLF001 - argparse has no public walk
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            helps = {a.dest: a.help or "" for a in action._choices_actions}  # noqa: SLF001
            return {name: (helps.get(name, ""), p) for name, p in action.choices.items()}
    return {}


def _help(parser: argparse.ArgumentParser) -> str:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "110"  # the same wrapping on every machine
    try:
        return parser.format_help()
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def cli_commands() -> list[tuple[str, str, argparse.ArgumentParser]]:
    """Every ``codex-repro`` command (``"run"``, ``"cache prune"``, ...) with its help line and parser."""
    from codex_fixtures.repro.cli import build_parser

    out = []

    def walk(prefix: str, parser: argparse.ArgumentParser) -> None:
        for name, (line, sub) in _subparsers(parser).items():
            out.append((f"{prefix}{name}", line, sub))
            walk(f"{prefix}{name} ", sub)

    walk("", build_parser())
    return out


def gen_cli() -> str:
    """The ``codex-repro`` reference: the top-level help, then each subcommand's own ``--help``."""
    from codex_fixtures.repro.cli import build_parser

    parts = ["## codex-repro", "", _fence(_help(build_parser())), ""]
    rows = ["| command | what it does |", "|---|---|"]
    for name, line, _ in cli_commands():
        rows.append(f"| [`codex-repro {name}`](#codex-repro-{name.replace(' ', '-')}) | {line} |")
    parts += rows + [""]
    for name, _, parser in cli_commands():
        parts += [f"## codex-repro {name}", "", _fence(_help(parser)), ""]
    return "\n".join(parts)


def fixtures() -> list[dict[str, str]]:
    """The public fixtures of the pytest plugin, read from its source: name, scope, yields, docstring."""
    tree = ast.parse(PLUGIN.read_text())
    found = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name.startswith("_"):
            continue
        deco = next((d for d in node.decorator_list if "fixture" in ast.unparse(d)), None)
        if deco is None:
            continue
        scope, autouse = "function", False
        if isinstance(deco, ast.Call):
            for kw in deco.keywords:
                if kw.arg == "scope":
                    scope = ast.literal_eval(kw.value)
                if kw.arg == "autouse":
                    autouse = bool(ast.literal_eval(kw.value))
        returns = ast.unparse(node.returns) if node.returns else "?"
        inner = re.fullmatch(r"(?:Async)?Iterator\[(.*)\]", returns)
        found.append({"name": node.name, "scope": scope, "autouse": str(autouse), "yields": inner.group(1) if inner else returns,
                      "doc": ast.get_docstring(node) or "", "args": ", ".join(a.arg for a in node.args.args)})
    return found


def gen_fixtures() -> str:
    """A table of the fixtures, then each one's docstring."""
    rows = ["| fixture | scope | yields | needs |", "|---|---|---|---|"]
    parts = []
    for f in fixtures():
        needs = ", ".join(f"`{a}`" for a in f["args"].split(", ") if a and a != "request")
        yields = " or ".join(f"`{part.strip()}`" for part in f["yields"].split("|"))  # a | would split the table's cell
        rows.append(f"| [`{f['name']}`](#{f['name']}) | {f['scope']} | {yields} | {needs or '-'} |")
        if not f["doc"]:
            log.warning("fixture %s has no docstring", f["name"])
        parts += [f"## {f['name']}", "", f"*scope:* `{f['scope']}` · *yields:* `{f['yields']}`", "", _plain(f["doc"]), ""]
    return "\n".join(rows + [""] + parts)


def marker_keys() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The keys ``@pytest.mark.codex`` accepts, and those of its ``app_server={...}``, as the plugin checks them."""
    from codex_fixtures import _plugin_support as support

    return tuple(support._KNOWN), tuple(support._APP_SERVER_KEYS)  # noqa: SLF001 - the plugin's own lists


def gen_markers() -> str:
    """A table of every marker key (the plugin's list), with its meaning."""
    known, app = marker_keys()
    rows = ["| key | meaning |", "|---|---|"]
    for key in known:
        if key not in MARKER_KEYS:
            log.warning("marker key %s is not described in docs/_hooks/generated.py MARKER_KEYS", key)
        rows.append(f"| `{key}` | {MARKER_KEYS.get(key, '')} |")
    rows += ["", "`app_server={...}` takes these keys:", "", "| key | meaning |", "|---|---|"]
    for key in app:
        if key not in APP_SERVER_KEYS:
            log.warning("app_server key %s is not described in docs/_hooks/generated.py APP_SERVER_KEYS", key)
        rows.append(f"| `{key}` | {APP_SERVER_KEYS.get(key, '')} |")
    return "\n".join(rows)


def _text(node: ast.expr) -> str:
    """A help string of the plugin's source: a literal, or an f-string whose names the plugin module defines."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        import codex_fixtures.plugin as plugin

        return eval(compile(ast.Expression(node), str(PLUGIN), "eval"), vars(plugin))  # noqa: S307 - our own source


def gen_pytest_options() -> str:
    """The plugin's command-line options, from its ``pytest_addoption``."""
    tree = ast.parse(PLUGIN.read_text())
    rows = ["| option | meaning |", "|---|---|"]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("addoption"):
            name = ast.literal_eval(node.args[0])
            helptext = next((_text(k.value) for k in node.keywords if k.arg == "help"), "")
            rows.append(f"| `{name}` | {helptext} |")
    return "\n".join(rows)


def gen_magics() -> str:
    """Every ``%codex`` subcommand's help, as ``%codex SUBCOMMAND --help`` prints it, and the settings."""
    from codex_magics import parsing

    parts = ["## %codex", "", _fence(_help(parsing._ROOT)), "", "## %%codex (a cell)", "", _fence(_help(parsing._CELL)), ""]  # noqa: SLF001
    for name in parsing.SUBCOMMANDS:
        parts += [f"## %codex {name}", "", _fence(_help(parsing._SUB[name])), ""]  # noqa: SLF001
    parts += ["## Settings (`%config CodexMagics`)", "", "| setting | default | meaning |", "|---|---|---|"]
    for name, default, helptext in magics_settings():
        parts.append(f"| `CodexMagics.{name}` | `{default!r}` | {helptext.replace('%%', '%')} |")
    return "\n".join(parts)


def magics_settings() -> list[tuple[str, Any, str]]:
    """The configurable traits of ``CodexMagics``: name, default, help."""
    from codex_magics.magics import CodexMagics

    traits = CodexMagics.class_traits(config=True)
    return [(name, t.default_value, t.help) for name, t in sorted(traits.items())]


GENERATORS: dict[str, Callable[[], str]] = {
    "cli": gen_cli, "fixtures": gen_fixtures, "markers": gen_markers, "pytest_options": gen_pytest_options, "magics": gen_magics,
}


def notebook_markdown(path: Path) -> str:
    """A notebook as a page: its Markdown cells as they are, its code cells as code blocks."""
    nb = json.loads(path.read_text())
    parts = [f"!!! note \"`notebooks/{path.name}`\"\n    This page is the notebook's source. `make test` executes it on a real "
             "kernel against the real binary (`tests/test_notebooks.py`), and its cells assert what they show.", ""]
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            parts += [source, ""]
        elif cell["cell_type"] == "code":
            parts += [_fence(source, "python"), ""]
    return "\n".join(parts)


def changelog_markdown() -> str:
    """``CHANGELOG.md`` with its links into ``docs/`` made relative to the site."""
    return CHANGELOG.read_text().replace("](docs/", "](")


def on_files(files: Any, config: Any) -> Any:
    """Add the notebook pages and the changelog (generated, never written into docs/)."""
    from mkdocs.structure.files import File

    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        files.append(File.generated(config, f"notebooks/{path.stem}.md", content=notebook_markdown(path)))
    files.append(File.generated(config, "changelog.md", content=changelog_markdown()))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace each ``<!-- generated: NAME -->`` with what its generator writes (an unknown NAME is a warning)."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            log.warning("%s: unknown generated part %r (known: %s)", page.file.src_uri, name, ", ".join(GENERATORS))
            return match.group(0)
        return GENERATORS[name]()

    return PLACEHOLDER.sub(fill, markdown)
