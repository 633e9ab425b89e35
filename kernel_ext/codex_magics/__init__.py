"""codex_magics: ``%codex`` / ``%%codex`` IPython magics over the Codex thread APIs.

``%load_ext codex_magics`` registers the magics (see :mod:`codex_magics.magics`).
Importing this package does not import IPython: the magics module is loaded
only when the extension is loaded.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ip: Any) -> None:
    """Register ``%codex`` / ``%%codex`` on ``ip`` (a second load is a no-op)."""
    from .magics import load

    load(ip)


def unload_ipython_extension(ip: Any) -> None:
    """Stop everything the extension started and unregister its magics, completer and config."""
    from .magics import unload

    unload(ip)
