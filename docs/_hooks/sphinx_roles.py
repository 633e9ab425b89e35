"""griffe extension: the Sphinx roles of the docstrings (``:class:`~x.Y```) shown as code in Markdown.

The docstrings use Sphinx roles for readers of the source and of ``help()``; mkdocstrings renders
Markdown, where ``:class:`X``` would show its colons. Each role becomes inline code of its name
(``~x.Y`` and ``.x.Y``: the last part, as Sphinx shows it).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const|ref):`([^`]+)`")


def plain(text: str) -> str:
    """``text`` with every Sphinx role replaced by inline code of the name it shows."""

    def name(match: re.Match[str]) -> str:
        target = match.group(1)
        if target.startswith(("~", ".")):
            target = target.lstrip("~.").rsplit(".", 1)[-1]
        return f"``{target}``"

    return ROLE.sub(name, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the roles of every docstring griffe loads."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        """Called for every object griffe loads."""
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
