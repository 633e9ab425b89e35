"""The params check over the binary's WHOLE schema, both ways (issue 25, items 1 and 2).

A generator walks every method's params schema as the binary wrote it (plain JSON
Schema reading: ``properties`` *and* a union both hold, every branch of every
union is taken at least once, ``null`` too) and makes values from it; each must
pass the check. Then, in every declared object of every value (optional unions
included, at every depth), a near-miss key is added; the check must name it. The
generator reads the binary's schema, not the strict one the check derives, so the
two are independent. Runs on the session's binary (``--codex-bin=PATH`` for
0.171.0 / 0.101.0). On today's main the image inputs are refused and typos inside
optional tagged unions pass: both directions fail there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from codex_fixtures.appserver.api_schema import MethodCatalog, ParamsSchemaError, catalog_for
from codex_fixtures.appserver.jsonschema_import import import_jsonschema
from codex_fixtures.appserver.strict_schema import strict_definitions

real = pytest.mark.codex_binary

MAX_DEPTH = 7
"""Below this depth only required keys and the first branch (recursive types end)."""

Example = tuple[Any, list[tuple[str, ...]]]
"""A value and the paths of the declared objects (not maps) in it."""


class Examples:
    """Values for a schema, every union branch at least once (each example varies one choice of a base value)."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self.defs = definitions

    def of(self, schema: Any, depth: int = 0, refs: tuple[str, ...] = ()) -> list[Example]:
        if schema is True or not isinstance(schema, dict) or schema == {}:
            return [("any", [])]
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if refs.count(name) >= 2 or depth > 3 * MAX_DEPTH:
                return []
            return self.of(self.defs[name], depth + 1, (*refs, name))
        unions = [b for key in ("anyOf", "oneOf") for b in schema.get(key, [])]
        parts = [p for p in schema.get("allOf", [])]
        if parts:  # allOf: one example of each part merged (objects) or the single part
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            found = [self.of(p, depth, refs) for p in parts] + ([self.of(rest, depth, refs)] if set(rest) - {"description", "default", "title"} else [])
            if any(not f for f in found):
                return []
            merged = [_merge_examples([f[0] for f in found])]
            for i, f in enumerate(found):
                merged += [_merge_examples([*(g[0] for g in found[:i]), e, *(g[0] for g in found[i + 1:])]) for e in f[1:]]
            return merged
        if unions:
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            shared = self.of(rest, depth, refs) if "properties" in rest else [None]
            out: list[Example] = []
            for branch in unions[: 1 if depth > MAX_DEPTH else None]:
                for example in self.of(branch, depth + 1, refs):
                    if shared == [None]:
                        out.append(example)
                    elif isinstance(example[0], dict):
                        out.append(_merge_examples([shared[0], example]))
            return out
        if "enum" in schema:
            return [(v, []) for v in schema["enum"]]
        if "const" in schema:
            return [(schema["const"], [])]
        kind = schema.get("type")
        if isinstance(kind, list):
            return [e for k in kind for e in self.of({**schema, "type": k}, depth, refs)]
        if kind == "object" or "properties" in schema:
            return self._object(schema, depth, refs)
        if kind == "array":
            items = self.of(schema.get("items", {}), depth + 1, refs)
            return [([], [])] + [([v], [(("0", *p)) for p in paths]) for v, paths in items[: 1 if depth > MAX_DEPTH else None]]
        if kind == "string":
            return [("x" * max(1, schema.get("minLength", 1)), [])]
        if kind in ("integer", "number"):
            return [(max(1, schema.get("minimum", 1)), [])]
        if kind == "boolean":
            return [(True, [])]
        if kind == "null":
            return [(None, [])]
        return [("any", [])]

    def _object(self, schema: dict[str, Any], depth: int, refs: tuple[str, ...]) -> list[Example]:
        props = schema.get("properties") or {}
        required = set(schema.get("required", []))
        if not props:
            extra = schema.get("additionalProperties")
            if extra is False:
                return [({}, [()])]
            values = self.of(extra, depth + 1, refs) if isinstance(extra, dict) else [("any", [])]
            return [({"k": values[0][0]}, [])] if values else [({}, [])]
        per_key: dict[str, list[Example]] = {}
        for key, sub in props.items():
            if depth > MAX_DEPTH and key not in required:
                continue
            found = self.of(sub, depth + 1, refs)
            if not found:
                if key in required:
                    return []
                continue
            per_key[key] = found
        base = {k: v[0] for k, v in per_key.items()}
        out = [_object_example(base)]
        for key, found in per_key.items():
            out += [_object_example({**base, key: e}) for e in found[1:]]
        if len(out) > 1 or required != set(per_key):
            out.append(_object_example({k: v for k, v in base.items() if k in required}))  # only the required keys
        return out


def _object_example(fields: dict[str, Example]) -> Example:
    paths: list[tuple[str, ...]] = [()]
    for key, (_, inner) in fields.items():
        paths += [(key, *p) for p in inner]
    return {k: v for k, (v, _) in fields.items()}, paths


def _merge_examples(examples: list[Example]) -> Example:
    if not all(isinstance(v, dict) for v, _ in examples):
        return examples[-1]
    value: dict[str, Any] = {}
    paths: list[tuple[str, ...]] = []
    for v, p in examples:
        value.update(v)
        paths += p
    return value, list(dict.fromkeys(paths))


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value


def _cases(catalog: MethodCatalog) -> Iterator[tuple[str, Example]]:
    gen = Examples(catalog.definitions)
    for method in catalog.methods:
        if catalog.params_ref.get(method):
            for example in gen.of(catalog.params_schema(method)):
                yield method, example


@pytest.fixture
def catalog(codex_binary: Any) -> MethodCatalog:
    return catalog_for(codex_binary, experimental=True)


@real
def test_every_branch_of_every_method_passes(catalog):
    started = time.monotonic()
    cases = list(_cases(catalog))
    assert len(cases) > 3 * len(catalog.methods)  # the generator reached into the unions
    refused = []
    for method, (value, _) in cases:
        try:
            catalog.validate(method, value)
        except ParamsSchemaError as exc:
            refused.append(str(exc))
    assert not refused, f"{len(refused)} of {len(cases)} valid values refused, e.g. {refused[:3]}"
    assert time.monotonic() - started < 60


@real
def test_a_typo_at_every_depth_is_caught(catalog):
    misses, checked = [], 0
    for method, (value, paths) in _cases(catalog):
        for path in paths:
            target = _at(value, path)
            if not isinstance(target, dict):
                continue
            typo = f"{next(iter(target), 'key')}X"
            target[typo] = target.get(typo[:-1], 1)
            checked += 1
            where = ".".join([*path, typo])
            try:
                catalog.validate(method, value)
                misses.append(f"{method}: {where} passed")
            except ParamsSchemaError as exc:
                if f"unknown param {where!r}" not in str(exc):
                    misses.append(f"{method}: {where}: {exc}")
            finally:
                del target[typo]
    assert checked > 3 * len(catalog.methods)
    assert not misses, f"{len(misses)} of {checked} typos missed or misnamed, e.g. {misses[:5]}"


@real
@pytest.mark.parametrize("params", [
    {"threadId": "t", "input": [{"type": "image", "url": "https://example.com/a.png"}]},
    {"threadId": "t", "input": [{"type": "image", "fileId": "file-1", "detail": None}]},
])
def test_image_inputs_pass(catalog, params):
    if "fileId" in params["input"][0] and "fileId" not in json.dumps(catalog.definitions.get("UserInput")):
        with pytest.raises(ParamsSchemaError, match=r"unknown param 'input.0.fileId' \(input.0, an ImageUserInput, takes: type, url\)"):
            catalog.validate("turn/start", params)  # 0.101.0 has no fileId image input: refused, naming the branch
        return
    catalog.validate("turn/start", params)  # main: "unknown param 'input.0.type' (input.0 takes: url)"


@real
@pytest.mark.parametrize(("params", "message"), [
    ({"type": "workspaceWrite", "writableRoot": []}, "unknown param 'sandboxPolicy.writableRoot' (sandboxPolicy, a WorkspaceWriteSandboxPolicy, takes: "),
    ({"type": "workspaceWrite", "networkAcess": True}, "unknown param 'sandboxPolicy.networkAcess' (sandboxPolicy, a WorkspaceWriteSandboxPolicy, takes: "),
    ({"type": "readOnlyy"}, "sandboxPolicy.type must be one of dangerFullAccess, readOnly, "),
    ({"typ": "readOnly"}, "missing required param 'sandboxPolicy.type' (one of dangerFullAccess, readOnly, "),
])
def test_typos_inside_optional_tagged_unions_are_named(catalog, params, message):
    with pytest.raises(ParamsSchemaError) as info:  # main: all three passed, and the binary ran the default sandbox
        catalog.validate("turn/start", {"threadId": "t", "input": [], "sandboxPolicy": params})
    assert message in str(info.value) and "\n" not in str(info.value)


@real
def test_the_strict_schema_is_still_the_binarys_where_the_value_is_valid(catalog):
    defs = strict_definitions(catalog.definitions)
    assert set(defs) == set(catalog.definitions)
    jsonschema = import_jsonschema()  # not at module level: every collecting process would import it
    for method, (value, _) in list(_cases(catalog))[:500]:
        jsonschema.Draft7Validator({**catalog.params_schema(method)}).validate(value)  # the generator's values are the binary's


TOY = {  # the shapes of issue 25 in a few lines: flatten (properties + anyOf), an optional union of tagged objects
    "oneOf": [{"properties": {"method": {"enum": ["x/do"]}, "params": {"$ref": "#/definitions/DoParams"}}},
              {"properties": {"method": {"enum": ["x/login"]}, "params": {"$ref": "#/definitions/Policy"}}}],
    "definitions": {
        "DoParams": {"type": "object", "properties": {
            "input": {"type": "array", "items": {"$ref": "#/definitions/Input"}},
            "policy": {"anyOf": [{"$ref": "#/definitions/Policy"}, {"type": "null"}]},
        }},
        "Input": {"oneOf": [
            {"type": "object", "title": "Text", "properties": {"type": {"enum": ["text"]}, "text": {"type": "string"}}, "required": ["type", "text"]},
            {"type": "object", "title": "Image", "properties": {"type": {"enum": ["image"]}}, "required": ["type"],
             "anyOf": [{"properties": {"url": {"type": "string"}}, "required": ["url"]},
                       {"properties": {"fileId": {"type": "string"}}, "required": ["fileId"]}]},
        ]},
        "Policy": {"oneOf": [
            {"type": "object", "title": "ReadOnly", "properties": {"type": {"enum": ["readOnly"]}}, "required": ["type"]},
            {"type": "object", "title": "Write", "properties": {"type": {"enum": ["write"]}, "roots": {"type": "array"}}, "required": ["type"]},
        ]},
    },
}


@pytest.mark.parametrize(("params", "error"), [
    ({"input": [{"type": "image", "url": "u"}, {"type": "image", "fileId": "f"}, {"type": "text", "text": "t"}]}, None),
    ({"policy": None}, None),
    ({"policy": {"type": "write", "roots": []}}, None),
    ({"policy": {"type": "write", "root": []}}, "x/do: unknown param 'policy.root' (policy, a Write, takes: roots, type)"),
    ({"input": [{"type": "image", "url": "u", "detial": 1}]}, "x/do: unknown param 'input.0.detial' (input.0, an Image, takes: type, url)"),
    ({"input": [{"type": "image"}]}, "x/do: missing required param 'input.0.url' (a string)"),
    ({"policy": {"type": "writ"}}, 'x/do: policy.type must be one of readOnly, write, got "writ"'),
    ({"polcy": None}, "x/do: unknown param 'polcy' (params: input, policy)"),
    ({"type": "write", "rots": []}, "x/login: unknown param 'rots' (params, a Write, takes: roots, type)"),  # params that are a union
    ({"roots": []}, "x/login: missing required param 'type' (one of readOnly, write)"),
])
def test_the_strict_check_on_a_toy_schema(params, error):
    catalog = MethodCatalog("toy", TOY)
    method = "x/login" if error is not None and error.startswith("x/login") else "x/do"
    if error is None:
        catalog.validate(method, params)
        return
    with pytest.raises(ParamsSchemaError) as info:
        catalog.validate(method, params)
    assert str(info.value) == error
