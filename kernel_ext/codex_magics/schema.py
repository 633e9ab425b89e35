"""The connected binary's own API: its client methods and their params schemas, read from the binary.

``codex app-server generate-json-schema --out DIR`` writes ``ClientRequest.json``:
one ``oneOf`` variant per client request, whose ``method`` enum names the method
and whose ``params`` is a ``$ref`` into the file's ``definitions``. A
:class:`MethodCatalog` holds that, once per binary file, so ``%codex call``
offers exactly the methods the binary has (a new release brings its new
methods with no code change), builds options and ``--help`` from each method's
params, and validates params with :mod:`jsonschema` before they are sent: a bad
one is one line naming the field and what the schema wants. No IPython here.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from codex_fixtures.appserver.probe import SCHEMA_TIMEOUT_S, ProbeResult, run_probe
from codex_fixtures.errors import BinaryProbeError

from .errors import CodexUsageError

__all__ = ["API_PREFIXES", "FORMATS", "INTEGER_FORMATS", "MethodCatalog", "Param", "catalog_of", "describe", "loads_json"]

API_PREFIXES = ("thread/", "turn/")
"""The methods ``%codex call`` offers: the thread and turn API."""

INTEGER_FORMATS: dict[str, tuple[int, int]] = {
    **{f"uint{n}": (0, 2**n - 1) for n in (8, 16, 32, 64)},
    **{f"int{n}": (-(2 ** (n - 1)), 2 ** (n - 1) - 1) for n in (8, 16, 32, 64)},
    "uint": (0, 2**64 - 1),  # Rust's usize / isize on the 64-bit targets codex ships for
    "int": (-(2**63), 2**63 - 1),
}
"""The integer ``format``s the binary's schema (schemars) writes, with the range each one holds."""

FORMATS = jsonschema.FormatChecker(formats=())
"""Checks the :data:`INTEGER_FORMATS` (jsonschema checks no ``format`` unless given a checker)."""


def _format_check(fmt: str, low: int, high: int) -> None:
    @FORMATS.checks(fmt)
    def _in_range(value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return True  # a format constrains only numbers; the type is checked by "type"
        return low <= value <= high


for _fmt, (_low, _high) in INTEGER_FORMATS.items():
    _format_check(_fmt, _low, _high)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value (JSON has no NaN or Infinity)")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is too large for a JSON number (it would be sent as Infinity)")
    return value


def loads_json(text: str) -> Any:
    """``json.loads`` that refuses NaN, Infinity and numbers too large for a float (the app-server drops such a line).

    Raises:
        json.JSONDecodeError: not JSON; ValueError: a non-finite number.
    """
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite)


@dataclass(frozen=True)
class Param:
    """One property of a method's params: name, JSON schema, required or not, what it takes."""

    name: str
    schema: dict[str, Any]
    required: bool
    kind: str  # string | integer | number | boolean | choice | json
    choices: tuple[str, ...] = ()
    what: str = ""
    help: str = ""

    @property
    def option(self) -> str:
        """The command-line option: ``--threadId`` (the schema's own spelling)."""
        return f"--{self.name}"

    def coerce(self, text: str, method: str) -> Any:
        """``text`` typed after the option, as the JSON value the schema wants."""
        if self.kind == "string" or self.kind == "choice":
            return None if text == "null" and "null" in self.what else text
        try:
            value = loads_json(text)
        except json.JSONDecodeError:
            if self.kind == "json" and not text.lstrip().startswith(("{", "[")):
                return text  # a bare word for a string-or-anything field
            raise CodexUsageError(f"{method}: {self.option} must be {self.what}, got {text!r}") from None
        except ValueError as exc:
            raise CodexUsageError(f"{method}: {self.option} must be {self.what}, got {text!r} ({exc})") from None
        return value


class MethodCatalog:
    """The client requests one codex binary offers, with their params schemas."""

    def __init__(self, version: str, doc: dict[str, Any]) -> None:
        self.version = version
        self.definitions: dict[str, Any] = doc.get("definitions", {})
        self.params_ref: dict[str, str | None] = {}
        self.descriptions: dict[str, str] = {}
        for variant in doc.get("oneOf", []):
            props = variant.get("properties", {})
            for method in props.get("method", {}).get("enum", []):
                ref = (props.get("params") or {}).get("$ref", "")
                self.params_ref[method] = ref.rsplit("/", 1)[-1] if ref else None
                self.descriptions[method] = (variant.get("description") or "").strip()

    @property
    def methods(self) -> list[str]:
        """Every client request method, in the binary's order."""
        return list(self.params_ref)

    @property
    def api_methods(self) -> list[str]:
        """The ``thread/*`` and ``turn/*`` methods, sorted."""
        return sorted(m for m in self.params_ref if m.startswith(API_PREFIXES))

    def has(self, method: str) -> bool:
        """Whether the binary offers ``method``."""
        return method in self.params_ref

    def params_schema(self, method: str) -> dict[str, Any]:
        """The params schema of ``method`` as a standalone JSON schema (its ``$ref``s resolve)."""
        name = self.params_ref.get(method)
        if not name:
            return {"type": "null"}
        return {**self.definitions.get(name, {}), "definitions": self.definitions}

    def _resolve(self, schema: Any) -> dict[str, Any]:
        if not isinstance(schema, dict):
            return {}
        while "$ref" in schema:
            schema = self.definitions.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return schema

    def params(self, method: str) -> list[Param]:
        """The properties of ``method``'s params, required ones first."""
        root = self._resolve(self.params_schema(method))
        required = set(root.get("required", []))
        out = []
        for name, sub in root.get("properties", {}).items():
            sub = sub if isinstance(sub, dict) else {}  # `true`: anything
            kind, choices = self._kind(sub)
            desc = (sub.get("description") or "").strip().split("\n")[0].replace("`", "")
            what = describe(sub, self.definitions)
            out.append(Param(name, sub, name in required, kind, choices, what, desc))
        return sorted(out, key=lambda p: (not p.required, p.name))

    def _kind(self, schema: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
        choices = _enum_values(schema, self.definitions)
        if choices:
            return "choice", tuple(choices)
        types = {t for t in _types(schema, self.definitions) if t != "null"}
        if len(types) == 1 and next(iter(types)) in ("string", "integer", "number", "boolean"):
            return next(iter(types)), ()
        return "json", ()

    def validate(self, method: str, params: dict[str, Any]) -> None:
        """Check ``params`` against ``method``'s schema; raise one line naming the field and what it wants."""
        known = {p.name: p for p in self.params(method)}
        for name in params:
            if known and name not in known:
                raise CodexUsageError(f"{method}: unknown param {name!r} (params: {', '.join(known)})")
        schema = self.params_schema(method)
        errors = list(jsonschema.Draft7Validator(schema, format_checker=FORMATS).iter_errors(params))
        if not errors:
            return
        err = self._deepest(jsonschema.exceptions.best_match(errors))
        path = [str(x) for x in err.absolute_path]
        if err.validator == "required":
            missing = next((r for r in err.validator_value if r not in (err.instance or {})), "?")
            sub = self._resolve(err.schema).get("properties", {}).get(missing, {})
            field = ".".join([*path, missing])
            raise CodexUsageError(f"{method}: missing required param {field!r} ({describe(sub, self.definitions)})")
        top = known.get(path[0]) if len(path) == 1 else None
        want = top.what if top is not None else describe(err.schema, self.definitions)
        got = json.dumps(err.instance)
        got = got if len(got) <= 60 else got[:59] + "…"
        raise CodexUsageError(f"{method}: {'.'.join(path) or 'params'} must be {want}, got {got}")


    def _deepest(self, err: Any) -> Any:
        """Into a ``oneOf``/``anyOf`` of tagged objects: the error of the branch whose ``type`` the value names."""
        while err.validator in ("oneOf", "anyOf") and err.context and isinstance(err.instance, dict) and "type" in err.instance:
            branches = [
                i for i, b in enumerate(err.validator_value)
                if err.instance["type"] in (self._resolve(b).get("properties", {}).get("type", {}).get("enum") or [])
            ]
            inner = [e for e in err.context if e.relative_schema_path and e.relative_schema_path[0] in branches]
            if not inner:
                break
            err = jsonschema.exceptions.best_match(inner)
        return err


def _types(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> list[str]:
    if depth > 8 or not isinstance(schema, dict):
        return ["any"]
    if "$ref" in schema:
        return _types(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), defs, depth + 1)
    if "enum" in schema:
        return ["string"]
    t = schema.get("type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return list(t)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return [x for s in schema[key] for x in _types(s, defs, depth + 1)]
    return ["any"]


def _enum_values(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> list[str]:
    """The string values of an enum (also one written as ``oneOf`` of one-value enums, or ``anyOf`` with null)."""
    if depth > 8 or not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        return _enum_values(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), defs, depth + 1)
    if "enum" in schema:
        return [str(v) for v in schema["enum"] if v is not None]
    for key in ("anyOf", "oneOf"):
        parts = [s for s in schema.get(key, []) if not isinstance(s, dict) or s.get("type") != "null"]
        if parts:
            values = [_enum_values(s, defs, depth + 1) for s in parts]
            return [v for vs in values for v in vs] if all(values) else []
    return []


def describe(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    """What a schema takes, in a few words: ``a string``, ``an integer or null``, ``one of a, b``, ``a UserInput list``."""
    nullable = "null" in _types(schema, defs)
    choices = _enum_values(schema, defs)
    if choices:
        text = "one of " + ", ".join(choices)
    else:
        named = _ref_name(schema)
        kinds = [t for t in dict.fromkeys(_types(schema, defs)) if t != "null"]
        if named and kinds != ["string"]:
            text = f"a {named} (JSON object)" if kinds == ["object"] else f"a {named} (JSON)"
        elif kinds == ["array"]:
            items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
            text = f"a JSON list of {_ref_name(items) or '/'.join(_types(items, defs))}"
        elif len(kinds) == 1 and kinds[0] != "any":
            fmt = schema.get("format")
            text = {"integer": "an integer", "object": "a JSON object"}.get(kinds[0], f"a {kinds[0]}") + (f" ({fmt})" if fmt else "")
        else:
            text = "any JSON value"
    return text + (" or null" if nullable else "")


def _ref_name(schema: Any) -> str | None:
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    for s in schema.get("anyOf", []) + schema.get("oneOf", []):
        if isinstance(s, dict) and "$ref" in s:
            return s["$ref"].rsplit("/", 1)[-1]
    return None


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, version: str) -> MethodCatalog:
    """Run the binary's schema generator as a hermetic probe (temp CODEX_HOME/HOME, own process group)."""

    def read(result: ProbeResult, out: Path) -> Any:
        doc_path = out / "ClientRequest.json"
        if result.returncode != 0 or not doc_path.exists():
            tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit code {result.returncode}"]
            raise CodexUsageError(f"codex {version} cannot write its API schema (generate-json-schema: {tail[0][:160]})")
        try:
            return json.loads(doc_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CodexUsageError(f"codex {version} wrote an API schema that is not JSON ({exc})") from None

    try:
        _, doc = run_probe([path, "app-server", "generate-json-schema"], timeout=SCHEMA_TIMEOUT_S,
                           prepare=lambda out: ["--out", str(out)], read=read)
    except BinaryProbeError as exc:
        raise CodexUsageError(f"cannot read the API schema of {path}: {exc}") from None
    return MethodCatalog(version, doc)


def catalog_of(binary: Any) -> MethodCatalog:
    """The :class:`MethodCatalog` of a :class:`~codex_fixtures.CodexBinary` (generated once per binary file)."""
    path = Path(binary.path)
    return _load(str(path), path.stat().st_mtime_ns, binary.version)
