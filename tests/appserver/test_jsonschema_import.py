"""import_jsonschema: jsonschema without building the IRI grammar at import, and with the same format answers."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

# find_spec, not importorskip: importing the package here would build its grammar in every collecting process
pytestmark = pytest.mark.skipif(importlib.util.find_spec("rfc3987_syntax") is None,
                                reason="rfc3987-syntax is not installed: nothing is deferred")

IRIS = ["http://example.com/ä", "not an iri", "urn:x:y", "//relative/ref", "http://[::1]:80/p?q#f", ""]


def _run(code: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", "import json, sys\n" + code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_the_grammar_waits_for_the_first_iri_check_and_the_answers_are_the_packages_own():
    # one process (the grammar costs ~2 s of CPU to build): what jsonschema answers through the stand-in is compared
    # with the real package's own function, which is what a plain `import jsonschema` registers
    out = _run(
        "from codex_fixtures.appserver.jsonschema_import import import_jsonschema\n"
        "jsonschema = import_jsonschema()\n"
        "print('rfc3987_syntax' in sys.modules, 'lark' in sys.modules, 'iri' in jsonschema.FormatChecker.checkers)\n"
        "fc = jsonschema.FormatChecker()\n"
        f"got = [[fc.conforms(v, f) for f in ('iri', 'iri-reference')] for v in {IRIS!r}]\n"
        "import rfc3987_syntax\n"  # a later importer: the real package, not the stand-in
        f"want = [[rfc3987_syntax.is_valid_syntax(r, v) for r in ('iri', 'iri_reference')] for v in {IRIS!r}]\n"
        "print(json.dumps(got)); print(json.dumps(want)); print(hasattr(rfc3987_syntax, '__file__'))\n"
    )
    assert out[0] == "False False True"  # imported with the iri formats registered, the package not loaded yet
    got, want, real = out[1:]
    assert got == want and json.loads(got)[0] == [True, True] and json.loads(got)[1] == [False, False], out
    assert real == "True"


def test_nothing_is_deferred_where_jsonschema_or_the_package_is_already_loaded():
    out = _run(
        "sys.modules['rfc3987_syntax'] = None  # as if not installed: no iri formats, and no stand-in left behind\n"
        "from codex_fixtures.appserver.jsonschema_import import import_jsonschema\n"
        "js = import_jsonschema()\n"
        "print('iri' in js.FormatChecker.checkers, sys.modules['rfc3987_syntax'], import_jsonschema() is js)\n"
    )
    assert out == ["False None True"]  # and the second call returns the module already imported
