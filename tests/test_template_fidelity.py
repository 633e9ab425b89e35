"""Template homes change nothing a client can see: proven on the real binary, not assumed.

* the whole scenario catalog gives the same verdicts and observed lines on
  template homes and on fresh homes (in ``tests/repro/test_scenarios.py``, which
  shares that module's catalog run on template homes instead of running it again);
* a one-turn thread gives the same ``thread/list``, ``thread/read``, files
  (names, rollout record kinds, sqlite tables and row counts) on both, ids and
  times aside.

The one-turn comparison runs on the binary of ``--codex-bin`` (default: the bundled one), e.g.
``pytest tests/test_template_fidelity.py --codex-bin .../0.171.0/.../codex``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from codex_fixtures import AppServerProcess, CodexBinary, CodexHome, create_mock_responses_server_repeating_assistant

pytestmark = pytest.mark.codex_binary

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}[-:]\d{2}[-:]\d{2}(?:\.\d+)?Z?")
_DATE_DIR = re.compile(r"sessions/\d{4}/\d{2}/\d{2}/")
_TIME_KEY = re.compile(r"(?:At|At[Mm]s|_at|_at_ms|Ms|_ms|timestamp|Cursor)$", re.I)


def _norm_text(text: str, paths: dict[str, str]) -> str:
    for path, name in paths.items():
        text = text.replace(path, name)
    return _DATE_DIR.sub("sessions/<date>/", _STAMP.sub("<ts>", _UUID.sub("<id>", text)))


def _norm(value: Any, paths: dict[str, str]) -> Any:
    """``value`` with ids, times and the home / cwd paths replaced by placeholders."""
    if isinstance(value, dict):
        return {_norm_text(k, paths): ("<t>" if _TIME_KEY.search(k) and v is not None else _norm(v, paths))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_norm(v, paths) for v in value]
    if isinstance(value, str):
        return _norm_text(value, paths)
    return value


def _tables(db: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)  # reads the -wal the binary may leave
    try:
        names = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names if n != "logs"}
    finally:
        con.close()


def _record_kinds(rollout: Path) -> list[str]:
    kinds = []
    for line in rollout.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        payload = record.get("payload") if isinstance(record.get("payload"), dict) else {}
        kinds.append(f"{record.get('type')}/{payload.get('type', '')}")
    return kinds


def _one_turn_thread(binary: CodexBinary, fresh: bool) -> dict[str, Any]:
    with create_mock_responses_server_repeating_assistant("Done") as server, CodexHome(server, fresh=fresh) as home:
        with AppServerProcess(home.path, codex_bin=binary.path, default_timeout=30) as app:
            assert app.from_template is (not fresh)
            app.initialize()
            thread = app.start_thread({"model": "mock-model"})
            assert app.run_turn(thread["id"], "hello")["status"] == "completed"
            listed = app.request("thread/list", {})
            read = app.request("thread/read", {"threadId": thread["id"], "includeTurns": True})
            paths = {str(home.path): "$CODEX_HOME", str(app.cwd): "$CWD"}
        files, kinds, tables = [], {}, {}
        for p in sorted(home.path.rglob("*")):
            rel = p.relative_to(home.path).as_posix()
            if not p.is_file() or rel.endswith(("-wal", "-shm")):  # left or not at exit: a race in the binary
                continue
            files.append(_norm_text(rel, paths))
            if rel.endswith(".jsonl"):
                kinds[_norm_text(rel, paths)] = _record_kinds(p)
            elif rel.endswith(".sqlite"):
                tables[rel] = _tables(p)
        return {"thread/list": _norm(listed, paths), "thread/read": _norm(read, paths), "files": files,
                "rollout record kinds": kinds, "sqlite tables and rows": tables}


def test_a_one_turn_thread_is_the_same_on_a_template_home_and_a_fresh_home(codex_binary):
    fresh, template = _one_turn_thread(codex_binary, True), _one_turn_thread(codex_binary, False)
    assert fresh["files"], "nothing found in the fresh home: the comparison would be empty"
    for aspect in fresh:
        assert template[aspect] == fresh[aspect], f"{aspect} differs on a template home ({codex_binary.describe()})"
