"""Template homes on the real binary: what the template holds, what a copy gets, when no copy is made.

Calibrated on 0.163.0 (bundled) and, with ``--codex-bin``, 0.171.0 and 0.101.0
(0.101.0 writes no sqlite and no installation_id: its template is its skills).
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest
from codex_fixtures import (
    AppServerProcess,
    CodexHome,
    create_fake_rollout,
    create_mock_responses_server_repeating_assistant,
    write_api_key_auth,
    write_config_toml,
)
from codex_fixtures.home.template import STORE, Template, TemplateKey, template_key

pytestmark = pytest.mark.codex_binary

_UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
PINNED_SECTION_ID = "01984de2-8f74-7c91-a3b2-5c5e937cf318"  # thread_sections' seeded 'Pinned' row: the same everywhere


@pytest.fixture
def server():
    with create_mock_responses_server_repeating_assistant("Done") as srv:
        yield srv


def _template_of(binary_path: Path, key: TemplateKey | None = None) -> Template:
    """The latest template for ``binary_path``; the one for ``key`` when given (earlier tests may have made others)."""
    found = [t for t in STORE.templates() if t.key.binary == os.path.realpath(binary_path) and key in (None, t.key)]
    assert found, f"no template made for {binary_path}: refusals {STORE.refusals()}"
    return found[-1]


def _start(home, binary, **kw) -> AppServerProcess:
    app = AppServerProcess(home, codex_bin=binary.path, default_timeout=30, **kw)
    app.initialize()
    return app


def test_a_codex_home_is_filled_from_the_template_and_gets_its_own_installation_id(server, codex_binary):
    with CodexHome(server) as a, CodexHome(server) as b:
        key = template_key(a.path, codex_binary.path)
        with _start(a.path, codex_binary) as first, _start(b.path, codex_binary) as second:
            assert first.from_template and second.from_template
            thread = second.start_thread()
            assert second.run_turn(thread["id"], "hi")["status"] == "completed"
        template = _template_of(codex_binary.path, key)
        assert template.copies >= 2 and not (template.path / "config.toml").exists()
        if (template.path / "installation_id").exists():  # 0.163+ (0.101.0 writes none)
            ids = {(h / "installation_id").read_text() for h in (a.path, b.path, template.path)}
            assert len(ids) == 3
        else:
            assert not (a.path / "installation_id").exists()
        assert sorted(p.name for p in template.path.iterdir() if p.name.endswith(("-wal", "-shm"))) == []
        assert not (template.path / "tmp").exists()


def test_the_template_holds_no_other_per_installation_id_and_no_thread(server, codex_binary):
    with CodexHome(server) as home, _start(home.path, codex_binary):
        pass
    template = _template_of(codex_binary.path)
    own_id = (template.path / "installation_id").read_bytes() if (template.path / "installation_id").exists() else b""
    found: dict[str, set[str]] = {}
    for path in sorted(template.path.rglob("*")):
        rel = path.relative_to(template.path).as_posix()
        if not path.is_file() or rel.startswith("skills/"):
            continue
        assert not rel.startswith(("sessions/", "archived_sessions/")) and not rel.endswith((".lock", ".jsonl")), rel
        if path.suffix == ".sqlite":
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            tables = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            if "threads" in tables:
                assert con.execute("SELECT count(*) FROM threads").fetchone() == (0,)
            data = repr([con.execute(f'SELECT * FROM "{t}"').fetchall() for t in tables if t != "_sqlx_migrations"])
            con.close()
            blob = data.encode()
        else:
            blob = path.read_bytes()
        ids = {m.decode().lower() for m in _UUID.findall(blob)} - {own_id.decode()}
        if ids:
            found[rel] = ids
    assert all(ids <= {PINNED_SECTION_ID} for ids in found.values()), found


def test_no_copy_for_a_fresh_home_or_a_home_written_before_the_first_start(server, codex_binary, tmp_path):
    with CodexHome(server, fresh=True) as fresh:
        with _start(fresh.path, codex_binary) as app:
            assert not app.from_template
    with CodexHome(server) as authed:
        write_api_key_auth(authed.path, "sk-test")
        with _start(authed.path, codex_binary) as app:
            assert not app.from_template
    with CodexHome(server) as seeded:
        thread_id = create_fake_rollout(seeded.path, preview="seeded")
        with _start(seeded.path, codex_binary) as app:
            assert not app.from_template  # a copy would skip the binary's backfill of this rollout
            listed = app.request("thread/list", {})
            assert [t["id"] for t in listed["data"]] == [thread_id]
    plain = tmp_path / "plain"
    write_config_toml(plain, server)
    with _start(plain, codex_binary) as app:
        assert not app.from_template  # not a CodexHome: never offered


def test_a_restart_on_the_same_home_copies_nothing_again(server, codex_binary):
    with CodexHome(server) as home:
        with _start(home.path, codex_binary) as first:
            assert first.from_template
            thread = first.start_thread()
            first.run_turn(thread["id"], "keep me")
        with _start(home.path, codex_binary) as second:
            assert not second.from_template
            assert second.request("thread/read", {"threadId": thread["id"]})["thread"]["id"] == thread["id"]


def test_per_test_home_dirs_share_one_template_and_stay_empty(server, codex_binary, tmp_path):
    homes = [tmp_path / "HOME-a", tmp_path / "HOME-b"]
    for h in homes:
        h.mkdir()
    with CodexHome(server) as a, CodexHome(server) as b:
        for home, user_home in zip((a, b), homes, strict=True):
            with _start(home.path, codex_binary, env={"HOME": str(user_home), "TEMPLATE_TEST": "1"}) as app:
                assert app.from_template
    made = [t for t in STORE.templates() if ("TEMPLATE_TEST", "1") in t.key.env]
    assert len(made) == 1 and made[0].copies == 2
    assert [list(h.iterdir()) for h in homes] == [[], []]
    assert sorted(p.name for p in made[0].path.parent.iterdir() if p.name.startswith(made[0].path.name + "-")) == []
