"""Comparing what a builder writes with what the binary wrote: field names and types, values less the times."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


def shape(value: Any) -> Any:
    """Keys and value types, recursively (the field names, not the values)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def without(value: Any, keys: Collection[str]) -> Any:
    """``value`` with every dict key in ``keys`` left out, at any depth (times that differ run to run)."""
    if isinstance(value, dict):
        return {k: without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [without(v, keys) for v in value]
    return value
