"""Every example of the documentation runs: the README's and every page's under docs/ (not docs/_incoming/).

A fenced ``python`` block is preceded by ``<!-- docs-test: pytest|python|skip (why) -->``: ``pytest``
blocks are test modules run by pytest in a subprocess (the plugin loaded), ``python`` blocks are
scripts run with their own TMPDIR. In ``sh`` blocks every ``codex-repro ...`` line must be accepted by
the real argument parser and every ``make X`` must be a Makefile target.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^(\s*)(`{3,})\s*([\w-]*)")
MARKER = re.compile(r"^<!-- docs-test: (pytest|python|skip\b[^>]*?) -->$")


@dataclass(frozen=True)
class Block:
    """A fenced code block of a Markdown file."""

    path: Path
    line: int
    lang: str
    code: str
    marker: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def doc_files() -> list[Path]:
    """README.md and every Markdown page of the site (docs/_incoming/ is never built, so never run)."""
    pages = sorted(p for p in DOCS.rglob("*.md") if not {"_incoming", "_hooks"} & set(p.relative_to(DOCS).parts))
    return [ROOT / "README.md", *pages]


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of ``path`` with the marker line right above each (if any)."""
    lines = path.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, ticks, lang = m.groups()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == ticks), None)
        assert end is not None, f"{path.relative_to(ROOT)}:{i + 1}: unclosed code block"
        body = "\n".join(ln[len(indent):] for ln in lines[i + 1:end]) + "\n"
        above = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = MARKER.match(above)
        found.append(Block(path, i + 1, lang, body, marker.group(1) if marker else None))
        i = end + 1
    return found


ALL = [b for path in doc_files() for b in blocks(path)]
PYTEST = [b for b in ALL if b.marker == "pytest"]
SCRIPTS = [b for b in ALL if b.marker == "python"]


def test_examples_are_found():
    assert len(PYTEST) >= 16 and len(SCRIPTS) >= 9
    assert any(b.path.name == "README.md" for b in PYTEST)


def test_every_python_block_says_how_it_runs():
    unmarked = [b.id for b in ALL if b.lang == "python" and b.marker is None]
    assert not unmarked, f"python blocks without <!-- docs-test: pytest|python|skip (why) -->: {unmarked}"
    markers_on_others = [b.id for b in ALL if b.marker and b.lang != "python"]
    assert not markers_on_others, f"docs-test markers above non-python blocks: {markers_on_others}"
    reasonless = [b.id for b in ALL if b.marker and b.marker.startswith("skip") and not re.search(r"skip \(.+\)", b.marker)]
    assert not reasonless, f"a skipped example says why: {reasonless}"


@pytest.mark.parametrize("block", PYTEST, ids=lambda b: b.id)
def test_pytest_example(pytester, block):
    pytester.makepyfile(test_docs_example=block.code)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1 and "failed" not in outcomes and "errors" not in outcomes, result.stdout.str()


@pytest.mark.parametrize("block", SCRIPTS, ids=lambda b: b.id)
def test_python_example(tmp_path, block):
    scratch = tmp_path / "tmp"  # the example's TMPDIR: what it leaves there, it would leave in the user's /tmp
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = subprocess.run([sys.executable, "-c", block.code], capture_output=True, text=True, timeout=90, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    assert sorted(p.name for p in scratch.iterdir()) == [], "the example leaves temp files behind"


def _shell_lines(lang: str) -> list[tuple[str, str]]:
    out = []
    for b in ALL:
        if b.lang == lang:
            out += [(b.id, ln.split(" #")[0].strip()) for ln in b.code.splitlines() if ln.strip()]
    return out


def test_codex_repro_commands_parse():
    """Every ``codex-repro ...`` line of a shell block is accepted by the real argument parser."""
    from codex_fixtures.repro.cli import build_parser

    lines = [(where, ln) for where, ln in _shell_lines("sh") if ln.startswith("codex-repro ")]
    assert len(lines) >= 15
    for where, line in lines:
        try:
            build_parser().parse_args(shlex.split(line)[1:])
        except SystemExit:
            pytest.fail(f"{where}: codex-repro rejects {line!r}")


def test_make_targets_exist():
    targets = set(re.findall(r"^([a-z]+):", (ROOT / "Makefile").read_text(), re.M))
    for path in doc_files():
        mentioned = {t for pair in re.findall(r"`make ([a-z]+)`|^make ([a-z]+)", path.read_text(), re.M) for t in pair if t}
        assert mentioned <= targets, f"{path.relative_to(ROOT)} names make targets the Makefile lacks: {mentioned - targets}"
