"""``%codex call``'s view of the connected binary's API: :mod:`codex_fixtures.appserver.api_schema`, raising usage errors.

The catalog (methods, params, one-line validation) is the driver's own
(:class:`~codex_fixtures.appserver.api_schema.MethodCatalog`); here it raises
:class:`~codex_magics.errors.CodexUsageError` so a bad option is one line in the notebook.
No IPython here.
"""

from __future__ import annotations

from typing import Any

from codex_fixtures.appserver.api_schema import API_PREFIXES, MethodCatalog, Param, catalog_for, describe, loads_json
from codex_fixtures.errors import BinaryProbeError

from .errors import CodexUsageError

__all__ = ["API_PREFIXES", "MethodCatalog", "Param", "catalog_of", "describe", "loads_json"]


def catalog_of(binary: Any) -> MethodCatalog:
    """The :class:`MethodCatalog` of a :class:`~codex_fixtures.CodexBinary` (generated once per binary file)."""
    try:
        return catalog_for(binary, error=CodexUsageError)
    except BinaryProbeError as exc:
        raise CodexUsageError(f"cannot read the API schema of {binary.path}: {exc}") from None
