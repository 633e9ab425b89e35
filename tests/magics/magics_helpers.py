"""Helpers shared by the %codex tests of this folder (import them after ``pytest.importorskip("IPython")``).

Not a ``conftest.py``: a second module named ``conftest`` would replace
``tests/conftest.py`` in ``sys.modules`` and break its ``from conftest import ...``
users. A test module imports the fixtures it uses (``from magics_helpers import ip_fixture``),
which pytest then finds in that module under their ``name`` (``ip``, ``sandbox``); the
Python names differ so that a test's ``ip`` argument does not shadow the import.
"""

from __future__ import annotations

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.error import UsageError
from IPython.core.history import HistoryManager
from IPython.core.interactiveshell import InteractiveShell


@pytest.fixture(scope="module", name="ip")
def ip_fixture():
    """The in-process IPython shell with ``codex_magics`` loaded (unloaded after the module)."""
    HistoryManager.enabled = False
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "codex_magics")
    yield shell
    shell.run_line_magic("unload_ext", "codex_magics")


@pytest.fixture(name="sandbox")
def sandbox_fixture(ip):
    """A ``%codex sandbox`` session (its status), stopped after the test."""
    status = ok(ip, "%codex sandbox")
    yield status
    ip.run_cell("%codex stop")


def ok(ip, code: str):
    """Run the cell ``code`` and return its value; AssertionError when it fails."""
    r = ip.run_cell(code)
    if not r.success:
        raise AssertionError(f"cell failed: {code!r}: {r.error_in_exec or r.error_before_exec!r}")
    return r.result


def usage_error(ip, code: str) -> str:
    """Run ``code``, assert it raised a one-line UsageError, and return its message."""
    r = ip.run_cell(code)
    assert isinstance(r.error_in_exec, UsageError), f"{code!r} gave {r.error_in_exec!r}"
    msg = str(r.error_in_exec)
    assert "\n" not in msg and len(msg) < 400, msg
    return msg


def complete(ip, line: str) -> list[str]:
    """The completions IPython offers at the end of ``line``."""
    with provisionalcompleter():
        return [c.text for c in ip.Completer.completions(line, len(line))]


def pid_running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (Linux ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
