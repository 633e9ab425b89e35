"""The README fits on a screen or two and points at the site; its examples run in tests/test_docs_examples.py."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def test_readme_is_short_and_has_both_commands():
    text = README.read_text()
    assert len(text.splitlines()) <= 170
    assert "make demo" in text and "make test" in text


def test_readme_has_one_example_of_each_kind():
    text = README.read_text()
    assert "<!-- docs-test: pytest -->" in text and "%load_ext codex_magics" in text
    assert re.search(r"^codex-repro ", text, re.M)


def test_readme_links_every_section_of_the_site():
    links = set(re.findall(r"\]\((docs/[^)#]+)", README.read_text()))
    for section in ("docs/tutorial.md", "docs/how-to/index.md", "docs/reference/index.md", "docs/explanation/index.md"):
        assert section in links
    assert all((ROOT / link).exists() for link in links), [link for link in links if not (ROOT / link).exists()]
    how_to = {p.relative_to(ROOT).as_posix() for p in (ROOT / "docs" / "how-to").glob("*.md")} - {"docs/how-to/index.md"}
    assert not how_to - links, f"how-to guides the README does not link: {how_to - links}"


def test_changelog_is_its_own_file():
    assert "## Changelog" not in README.read_text()
    assert (ROOT / "CHANGELOG.md").read_text().startswith("# Changelog")
