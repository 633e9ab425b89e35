"""codex_magics: ``%codex`` / ``%%codex`` IPython magics over the Codex thread APIs.

``%load_ext codex_magics`` registers the magics (see :mod:`codex_magics.magics`).
Importing this package does not import IPython: the magics module is loaded
only when the extension is loaded.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["load_ipython_extension", "unload_ipython_extension"]

_LIFECYCLE = threading.RLock()
"""Held for a whole load or unload: an unload from another thread (stopping a session mid-turn) and a
load right after it never interleave, so the registry and the registered ``%codex`` always agree."""


def load_ipython_extension(ip: Any) -> None:
    """Register ``%codex`` / ``%%codex`` on ``ip`` (a second load is a no-op).

    Args:
        ip: the IPython ``InteractiveShell`` (``%load_ext codex_magics`` passes it).
    """
    from .magics import load

    with _LIFECYCLE:
        load(ip)


def unload_ipython_extension(ip: Any) -> None:
    """Stop everything the extension started and unregister its magics, completer and config.

    Args:
        ip: the IPython ``InteractiveShell`` (``%unload_ext codex_magics`` passes it).
    """
    from .magics import unload

    with _LIFECYCLE:
        unload(ip)
