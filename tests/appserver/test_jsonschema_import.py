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
CHECK = (
    "fc = jsonschema.FormatChecker()\n"
    f"print(json.dumps([[fc.conforms(v, f) for f in ('iri', 'iri-reference')] for v in {IRIS!r}]))\n"
)


def _run(code: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", "import json, sys\n" + code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_the_grammar_waits_for_the_first_iri_check_and_the_answers_are_jsonschemas_own():
    deferred = _run(
        "from codex_fixtures.appserver.jsonschema_import import import_jsonschema\n"
        "jsonschema = import_jsonschema()\n"
        "print('rfc3987_syntax' in sys.modules, 'lark' in sys.modules)\n"
        "print(sorted(jsonschema.FormatChecker.checkers).count('iri'))\n" + CHECK +
        "print(type(sys.modules['rfc3987_syntax']).__name__, hasattr(sys.modules['rfc3987_syntax'], '__file__'))\n"
    )
    plain = _run("import jsonschema\n" + CHECK)
    assert deferred[0] == "False False"  # imported, and neither the package nor its parser library loaded yet
    assert deferred[1] == "1"  # the iri format is registered all the same
    assert deferred[2] == plain[0]  # the same answers as jsonschema imported the plain way
    assert json.loads(plain[0])[1] == [False, False] and json.loads(plain[0])[0] == [True, True]
    assert deferred[3] == "module True"  # the first check imported the real package


def test_a_later_import_of_the_package_gets_the_real_one():
    out = _run(
        "from codex_fixtures.appserver.jsonschema_import import import_jsonschema\n"
        "import_jsonschema()\n"
        "import rfc3987_syntax, rfc3987_syntax.syntax_helpers\n"
        "print(hasattr(rfc3987_syntax, '__file__'), rfc3987_syntax.is_valid_syntax('iri', 'http://x'))\n"
    )
    assert out == ["True True"]


def test_nothing_is_deferred_where_jsonschema_or_the_package_is_already_loaded():
    out = _run(
        "import jsonschema\n"
        "from codex_fixtures.appserver.jsonschema_import import import_jsonschema\n"
        "print(import_jsonschema() is jsonschema, 'rfc3987_syntax' in sys.modules)\n"
    )
    assert out == ["True True"]
    out = _run(
        "sys.modules['rfc3987_syntax'] = None  # as if not installed\n"
        "from codex_fixtures.appserver.jsonschema_import import import_jsonschema\n"
        "js = import_jsonschema()\n"
        "print('iri' in js.FormatChecker.checkers, sys.modules['rfc3987_syntax'])\n"
    )
    assert out == ["False None"]
