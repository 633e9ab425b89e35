"""Template homes, the file half: keys, offers, turning a home into a template, copies, the store (no binary)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest
from codex_fixtures import CodexHome
from codex_fixtures.home import template as tpl
from codex_fixtures.home.template import TemplateRefused, TemplateStore, finish_template, template_key

CONFIG = 'model = "mock-model"\n[model_providers.mock_provider]\nbase_url = "http://127.0.0.1:{port}/v1"\n'


@pytest.fixture
def binary(tmp_path: Path) -> Path:
    path = tmp_path / "codex"
    path.write_text("#!/bin/sh\n")
    return path


def _home(root: Path, port: int = 4321, config: str = CONFIG) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text(config.format(port=port))
    return root


def _wal_db(path: Path, rows: int = 3) -> None:
    """A sqlite file in WAL mode whose rows are only in the ``-wal`` (as a binary that exited leaves it)."""
    scratch = path.parent / "scratch"
    scratch.mkdir(exist_ok=True)
    con = sqlite3.connect(scratch / path.name)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("CREATE TABLE threads (id TEXT)")
    con.execute("CREATE TABLE t (x INTEGER)")
    con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(rows)])
    con.commit()
    for suffix in ("", "-wal", "-shm"):  # copied while open: the WAL is not folded in
        (path.parent / (path.name + suffix)).write_bytes((scratch / (path.name + suffix)).read_bytes())
    con.close()
    for p in scratch.iterdir():
        p.unlink()
    scratch.rmdir()


def _initialized(root: Path) -> Path:
    """What an app-server leaves in a home after initialize (the shape probed on 0.163.0)."""
    _home(root)
    _wal_db(root / "state_5.sqlite")
    (root / "installation_id").write_text(str(uuid.uuid4()))
    skill = root / "skills" / ".system" / "imagegen"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("# imagegen\n")
    (root / "skills" / ".system" / ".codex-system-skills.marker").write_text("3eadc798bef12c4a")
    arg0 = root / "tmp" / "arg0-linux" / "codex-arg0x"
    arg0.mkdir(parents=True)
    (arg0 / ".lock").write_text("")
    return root


# ----------------------------------------------------------------------------- keys and offers
def test_key_only_for_a_home_holding_just_its_config(tmp_path, binary):
    home = _home(tmp_path / "h")
    key = template_key(home, binary)
    assert key is not None and key.binary == os.path.realpath(binary)
    (home / "auth.json").write_text("{}")
    assert template_key(home, binary) is None
    assert template_key(tmp_path / "missing", binary) is None
    empty = tmp_path / "empty"
    empty.mkdir()
    assert template_key(empty, binary) is None
    assert template_key(_home(tmp_path / "h2"), tmp_path / "no-such-binary") is None


def test_key_ignores_the_mock_port_but_not_the_rest(tmp_path, binary):
    a = template_key(_home(tmp_path / "a", port=1111), binary)
    b = template_key(_home(tmp_path / "b", port=2222), binary)
    assert a == b and "127.0.0.1:9/v1" in a.config and "1111" not in a.config
    other = template_key(_home(tmp_path / "c", config=CONFIG + "[features]\nx = true\n"), binary)
    assert other != a
    assert template_key(tmp_path / "a", binary, args=["-c", "k=v"]) != a
    assert template_key(tmp_path / "a", binary, env={"FLAG": "1"}) != a
    # a per-test HOME / TMPDIR, or the mock's port in an -c override, is not a reason for another template
    assert template_key(tmp_path / "a", binary, env={"HOME": "/x", "TMPDIR": "/y"}) == \
        template_key(tmp_path / "b", binary, env={"HOME": "/z", "TMPDIR": "/w"})
    assert template_key(tmp_path / "a", binary, args=["-c", "u=http://127.0.0.1:1/v1"]) == \
        template_key(tmp_path / "b", binary, args=["-c", "u=http://127.0.0.1:2/v1"])


def test_codex_home_offers_itself_unless_fresh(tmp_path):
    with CodexHome("http://127.0.0.1:5") as home:
        assert tpl.claim(home.path) and not tpl.claim(home.path)  # one claim: only the first start copies
    with CodexHome("http://127.0.0.1:5", fresh=True) as home:
        assert home.fresh and not tpl.claim(home.path)
    home = CodexHome("http://127.0.0.1:5")
    home.cleanup()
    assert not tpl.claim(home.path)  # a removed home is withdrawn


# ----------------------------------------------------------------------------- finishing a template
def test_finish_checkpoints_drops_transients_and_lists_the_copy(tmp_path, binary):
    root = _initialized(tmp_path / "t")
    assert (root / "state_5.sqlite-wal").exists()
    template = finish_template(root, template_key(_home(tmp_path / "k"), binary))
    assert not (root / "tmp").exists() and not (root / "config.toml").exists()
    assert not (root / "state_5.sqlite-wal").exists() and not (root / "state_5.sqlite-shm").exists()
    con = sqlite3.connect(f"file:{root / 'state_5.sqlite'}?mode=ro", uri=True)
    assert con.execute("SELECT count(*) FROM t").fetchone() == (3,)  # the WAL's rows are in the file now
    con.close()
    assert template.copied == ("state_5.sqlite", "skills/.system/.codex-system-skills.marker",
                               "skills/.system/imagegen/SKILL.md", "installation_id")
    assert "skills/.system/imagegen" in template.dirs


@pytest.mark.parametrize("spoil", ["sessions", "thread-writer-locks", "lock", "rollout", "thread-row"])
def test_finish_refuses_a_home_with_a_thread_or_a_lock(tmp_path, binary, spoil):
    root = _initialized(tmp_path / "t")
    if spoil in ("sessions", "thread-writer-locks"):
        (root / spoil).mkdir()
    elif spoil == "lock":
        (root / "skills" / "x.lock").write_text("")
    elif spoil == "rollout":
        (root / "skills" / "rollout-x.jsonl").write_text("{}\n")
    else:
        con = sqlite3.connect(root / "state_5.sqlite")
        con.execute("INSERT INTO threads VALUES ('t')")
        con.commit()
        con.close()
    with pytest.raises(TemplateRefused):
        finish_template(root, template_key(_home(tmp_path / "k"), binary))


def test_finish_refuses_a_corrupt_database(tmp_path, binary):
    root = _home(tmp_path / "t")
    (root / "state_5.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(TemplateRefused, match="state_5.sqlite"):
        finish_template(root, template_key(_home(tmp_path / "k"), binary))


# ----------------------------------------------------------------------------- the store and copies
def _store_template(store: TemplateStore, tmp_path: Path, binary: Path, calls: list[Path] | None = None, key=None):
    key = key or template_key(_home(tmp_path / "keyhome"), binary)

    def build(directory: Path) -> str:
        assert (directory / "config.toml").read_text() == key.config
        if calls is not None:
            calls.append(directory)
        _initialized(directory)
        (directory / "config.toml").write_text(key.config)
        return "codex-test/1.0"

    return key, store.get(key, build)


def test_copies_get_new_installation_ids_own_databases_and_keep_their_config(tmp_path, binary):
    store = TemplateStore()
    try:
        _, template = _store_template(store, tmp_path, binary)
        assert template.user_agent == "codex-test/1.0" and template.path.parent == store.root
        ids = set()
        for n in range(3):
            home = _home(tmp_path / f"copy{n}", port=7000 + n)
            assert store.copy_into(template, home)
            assert (home / "config.toml").read_text() == CONFIG.format(port=7000 + n)  # its own config stays
            text = (home / "installation_id").read_text()
            assert len(text) == 36 and uuid.UUID(text).version == 4
            ids.add(text)
            db, skill = home / "state_5.sqlite", home / "skills/.system/imagegen/SKILL.md"
            assert db.stat().st_ino != (template.path / "state_5.sqlite").stat().st_ino
            assert not db.with_name("state_5.sqlite-wal").exists() and not (home / "tmp").exists()
            assert skill.read_text() == "# imagegen\n"
        ids.add((template.path / "installation_id").read_text())
        assert len(ids) == 4 and template.copies == 3
    finally:
        store.clear()


def test_no_home_changes_another_or_the_template(tmp_path, binary):
    """Every file of a copy is its own (issue 18, 6): skills/ used to be hard-linked, so an edit reached every home."""
    store = TemplateStore()
    try:
        _, template = _store_template(store, tmp_path, binary)
        kept = CodexHome("http://127.0.0.1:5", keep=True)  # outlives the process: must never share a file
        homes = [kept.path, _home(tmp_path / "first"), _home(tmp_path / "second")]
        try:
            for home in homes:
                assert store.copy_into(template, home)
            for home in homes:
                files = [p for p in home.rglob("*") if p.is_file()]
                assert files and all(p.stat().st_nlink == 1 for p in files), [p for p in files if p.stat().st_nlink > 1]
            skill = "skills/.system/imagegen/SKILL.md"
            (homes[1] / skill).write_text("edited by a test\n")
            with open(homes[1] / "state_5.sqlite", "r+b") as fh:
                fh.write(b"X")
            for other in (kept.path, homes[2], template.path):
                assert (other / skill).read_text() == "# imagegen\n", other
                assert (other / "state_5.sqlite").read_bytes()[:1] == b"S", other
            third = _home(tmp_path / "third")
            assert store.copy_into(template, third)  # the template is intact: still used, not remade
            assert (third / skill).read_text() == "# imagegen\n" and template.copies == 4
        finally:
            kept.keep = False
            kept.cleanup()
    finally:
        store.clear()


def test_a_template_that_lost_a_file_is_dropped_and_made_again(tmp_path, binary):
    store = TemplateStore()
    calls: list[Path] = []
    try:
        _, template = _store_template(store, tmp_path, binary, calls)
        assert store.copy_into(template, _home(tmp_path / "first"))
        (template.path / "skills/.system/imagegen/SKILL.md").unlink()  # a temp cleaner, a test
        second = _home(tmp_path / "second")
        assert not store.copy_into(template, second)
        assert sorted(p.name for p in second.iterdir()) == ["config.toml"]  # left untouched: it starts fresh
        assert not template.path.exists()
        _, again = _store_template(store, tmp_path, binary, calls)
        assert again is not template and len(calls) == 2
        third = _home(tmp_path / "third")
        assert store.copy_into(again, third)
        assert (third / "skills/.system/imagegen/SKILL.md").read_text() == "# imagegen\n"
    finally:
        store.clear()


def test_concurrent_first_uses_build_once(tmp_path, binary):
    store = TemplateStore()
    calls: list[Path] = []
    gate = threading.Barrier(4)
    got = []
    key = template_key(_home(tmp_path / "keyhome"), binary)

    def one() -> None:
        gate.wait(timeout=10)
        got.append(_store_template(store, tmp_path, binary, calls, key)[1])

    threads = [threading.Thread(target=one) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert len(calls) == 1 and len(got) == 4 and all(g is got[0] for g in got)
    finally:
        store.clear()


def test_a_failed_build_means_fresh_homes_and_says_why(tmp_path, binary):
    store = TemplateStore()
    key = template_key(_home(tmp_path / "k"), binary)
    calls = []

    def broken(directory: Path) -> str:
        calls.append(directory)
        raise RuntimeError("binary exited with code 3\nmore")

    try:
        assert store.get(key, broken) is None and store.get(key, broken) is None
        assert len(calls) == 1 and not calls[0].exists()
        assert store.refusals() == {key: "binary exited with code 3"}
    finally:
        store.clear()
    assert store.root is None


SCRIPT = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from codex_fixtures.home.template import STORE, template_key
    home = Path(sys.argv[1]); binary = sys.argv[2]
    (home / "config.toml").write_text("x = 1\\n")
    def build(d):
        (d / "installation_id").write_text("0" * 36)
        return "ua"
    t = STORE.get(template_key(home, binary), build)
    print(t.path, flush=True)
    pid = os.fork()
    if pid == 0:
        sys.exit(0)  # a normal exit: the child runs the atexit handlers it inherited
    os.waitpid(pid, 0)
    print("after-child", t.path.exists(), flush=True)
""")


def test_template_dir_removed_at_exit_never_by_a_forked_child(tmp_path, binary):
    (tmp_path / "home").mkdir()
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "home"), str(binary)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    path_line, after = proc.stdout.splitlines()
    assert after == "after-child True"  # the child's exit left the parent's template alone
    assert not Path(path_line).exists() and not Path(path_line).parent.exists()  # the parent's exit removed it
