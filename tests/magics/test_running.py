"""Turn hints on the real binary: an archived or unloaded thread says what to run instead of the raw error."""

from __future__ import annotations

import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError
from magics_helpers import ip_fixture  # noqa: F401 - a fixture

pytestmark = pytest.mark.codex_binary


def error_of(ip, code: str) -> str:
    r = ip.run_cell(code)
    assert isinstance(r.error_in_exec, UsageError), r.error_in_exec
    return str(r.error_in_exec)


def test_turn_on_archived_then_unloaded_thread(ip):
    assert ip.run_cell("%codex sandbox").success
    try:
        tid = ip.run_cell("%codex start").result.id
        assert ip.run_cell("%%codex\nfirst").result.status == "completed"
        assert ip.run_cell("%codex archive").success
        short = tid[:13]
        msg = error_of(ip, "%%codex\nafter archive")
        assert msg == f"thread {short} is archived: run %codex unarchive {short}, then %codex resume {short}, then run the cell again"
        assert ip.run_cell(f"%codex unarchive {short}").success
        msg = error_of(ip, "%%codex\nafter unarchive")
        assert msg.startswith(f"thread {short} is not loaded (") and "thread not found" in msg and f"%codex resume {short}" in msg
        assert ip.run_cell(f"%codex resume {short}").success
        assert ip.run_cell("%%codex\nafter resume").result.status == "completed"
    finally:
        ip.run_cell("%codex stop")
