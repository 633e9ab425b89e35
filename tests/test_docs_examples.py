"""Every example of the documentation runs: the README's and every page's under docs/ (not docs/_incoming/).

A fenced ``python`` block is preceded by ``<!-- docs-test: pytest|python|skip (why) -->``: ``pytest``
blocks are test modules, all run by ONE inner pytest process (the plugin loaded; each block its own
file, as the test files of one user's suite; a failure names the page and line of each failing
block), ``python`` blocks are scripts run with their own TMPDIR. In ``sh`` blocks every ``codex-repro ...`` line must be accepted by
the real argument parser and every ``make X`` must be a Makefile target.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
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


def module_name(block: Block) -> str:
    """The inner test module of ``block``: ``test_<page path>_<line>`` (unique per block, a valid module name)."""
    return "test_" + re.sub(r"\W", "_", f"{block.path.relative_to(ROOT).with_suffix('')}_{block.line}")


@dataclass
class InnerRun:
    """What the one inner pytest session of every ``pytest`` block reported."""

    output: str = field(repr=False)
    leftovers: list[str]
    cases: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # module -> (test, outcome, detail)


def _parse_junit(xml: Path) -> dict[str, list[tuple[str, str, str]]]:
    cases: dict[str, list[tuple[str, str, str]]] = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        # a test: classname "test_mod" (or "test_mod.Class"); a collection error: classname "", name "test_mod"
        module = (case.get("classname") or case.get("name", "")).split(".")[0]
        outcome, detail = "passed", ""
        for tag in ("failure", "error", "skipped"):
            el = case.find(tag)
            if el is not None:
                outcome, detail = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag], el.get("message", "") + "\n" + (el.text or "")
                break
        cases.setdefault(module, []).append((case.get("name", ""), outcome, detail))
    return cases


@pytest.fixture(scope="module")
def pytest_blocks_run(tmp_path_factory: pytest.TempPathFactory) -> InnerRun:
    """Run every ``pytest`` block in one inner pytest process, each block its own test file.

    One session instead of one per block: the inner start-up (about 1.3 s of CPU) and the
    plugin's session work (template home, warm pool) are paid once, as in a user's suite.
    The environment is pytester's (own HOME, no outer PYTEST_ADDOPTS, no colours); the inner
    TMPDIR is a scratch dir that must be empty afterwards.
    """
    root = tmp_path_factory.mktemp("docs-pytest")
    project, scratch = root / "project", root / "tmp"
    project.mkdir()
    scratch.mkdir()
    for block in PYTEST:
        (project / f"{module_name(block)}.py").write_text(block.code)
    xml = root / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TOX_ENV_DIR"))}
    env.update(HOME=str(root), USERPROFILE=str(root), PY_COLORS="0", TMPDIR=str(scratch),
               PYTEST_ADDOPTS="-p no:hypothesispytest")
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly",
           f"--basetemp={root / 'basetemp'}", f"--junitxml={xml}",
           "--timeout=120", "--continue-on-collection-errors", "-rfE", str(project)]
    proc = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert xml.exists(), f"the inner pytest session of the docs' pytest blocks wrote no report:\n{output}"
    return InnerRun(output, sorted(p.name for p in scratch.iterdir()), _parse_junit(xml))


@pytest.mark.timeout(900)  # the inner session of all blocks (about 40 s of wall on a loaded 2-core machine)
def test_pytest_examples(pytest_blocks_run):
    """Every ``pytest`` block passes; a failure names each failing block (page:line) with its report.

    One outer test, not one per block: under xdist each worker would run the inner session
    itself (``--dist loadgroup`` cannot keep them on one worker: pytest 9.2 dropped the node
    id suffix it relies on, pytest-xdist issue 1386).
    """
    problems = []
    for block in PYTEST:
        cases = pytest_blocks_run.cases.get(module_name(block), [])
        bad = [f"  {name}: {outcome}\n{detail}" for name, outcome, detail in cases if outcome in ("failed", "error")]
        if not cases:
            problems.append(f"{block.id}: the inner session ran no test of this block")
        elif bad:
            problems.append(f"{block.id} fails:\n" + "\n".join(bad))
        elif not any(outcome == "passed" for _, outcome, _ in cases):
            problems.append(f"{block.id}: no test passed: {cases}")
    assert not problems, "\n\n".join(problems) + f"\n\ninner session output:\n{pytest_blocks_run.output[-6000:]}"
    assert pytest_blocks_run.leftovers == [], f"the docs' pytest blocks leave temp files behind: {pytest_blocks_run.leftovers}"


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
