"""The binary's OS probe (``lsb_release -a``) answered from a cache: byte for byte what the real program says, or not at all.

The unit tests put a stand-in ``lsb_release`` (a script with awkward output, a run
counter, or an answer that changes) on a temp ``PATH``; the real-binary test wraps
the system's own probe with a counter and shows the binary takes the cached answer
and sends the same user agent as with the cache off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from codex_fixtures import AppServerProcess, CodexHome, MockResponsesServer
from codex_fixtures.appserver import os_probe
from codex_fixtures.appserver.child_env import ChildEnv
from codex_fixtures.appserver.os_probe import OS_PROBE_ENV, cached_probe_path, without_probe_dir
from codex_fixtures.appserver.probe_cache import PROBE_CACHE_ENV
from codex_fixtures.mock.script import repeating_assistant

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the cache is made on Linux only")

AWKWARD = r"""#!/bin/sh
[ -n "$COUNT" ] && echo run >> "$COUNT"
if [ "$*" != "-a" ]; then echo "real got: $*"; exit 0; fi
printf 'Distributor ID:\tDeb'"'"'ian $HOME %%s \\n\n'
printf 'Release:\t12\n\377 no newline at the end'
printf 'No LSB modules are available.\n' >&2
exit 3
"""


def _probe(tmp_path: Path, text: str, name: str = "real") -> Path:
    directory = tmp_path / name
    directory.mkdir()
    script = directory / "lsb_release"
    script.write_text(text)
    script.chmod(0o755)
    return directory


def _env(directory: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": f"{directory}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path), **extra}


def _answer(argv: list[str], env: dict[str, str]) -> tuple[bytes, bytes, int]:
    done = subprocess.run(argv, capture_output=True, env=env, timeout=30, check=False)
    return done.stdout, done.stderr, done.returncode


def test_the_cached_probe_answers_as_the_real_one_byte_for_byte(tmp_path):
    real = _probe(tmp_path, AWKWARD)
    env = _env(real, tmp_path)
    path = cached_probe_path(env)
    cached_dir, _, rest = path.partition(os.pathsep)
    assert rest == env["PATH"] and without_probe_dir(path) == env["PATH"]
    assert sorted(os.listdir(cached_dir)) == ["lsb_release"]
    expected = _answer([str(real / "lsb_release"), "-a"], env)
    assert expected[2] == 3 and b"\377 no newline at the end" in expected[0] and b"$HOME %s \\n" in expected[0]
    assert _answer(["lsb_release", "-a"], {**env, "PATH": path}) == expected  # found first on the child's PATH
    # any other call is the real program's
    assert _answer(["lsb_release", "-i", "-s"], {**env, "PATH": path}) == (b"real got: -i -s\n", b"", 0)


def test_the_real_probe_runs_twice_per_kind_of_child_then_never(tmp_path):
    count = tmp_path / "count"
    real = _probe(tmp_path, AWKWARD)
    paths = set()
    for i in range(5):  # children differ in HOME, TMPDIR, CODEX_HOME only: one answer
        env = _env(real, tmp_path, COUNT=str(count), CODEX_HOME=f"/h{i}", HOME=f"/home{i}")
        paths.add(cached_probe_path(env))
        assert _answer(["lsb_release", "-a"], {**env, "PATH": next(iter(paths))})[2] == 3
    assert len(paths) == 1 and count.read_text().count("run") == 2  # the cache's two runs; the script ran instead
    cached_probe_path(_env(real, tmp_path, COUNT=str(count), LANG="C.UTF-8"))  # another environment: asked again
    assert count.read_text().count("run") == 4


@pytest.mark.parametrize("shared", [True, False], ids=["probe cache shared", "probe cache off"])
def test_a_later_process_of_the_session_takes_the_answer_from_the_probe_cache(tmp_path, monkeypatch, shared):
    count = tmp_path / "count"
    real = _probe(tmp_path, AWKWARD)
    env = _env(real, tmp_path, COUNT=str(count))
    cache = tmp_path / "probe-cache"
    cache.mkdir(mode=0o700)
    monkeypatch.setenv(PROBE_CACHE_ENV, str(cache) if shared else "off")
    expected = _answer([str(real / "lsb_release"), "-a"], env)
    count.unlink()
    cached_probe_path(env)
    assert count.read_text().count("run") == 2
    monkeypatch.setattr(os_probe, "_dirs", {})  # what a new process of the session starts with
    path = cached_probe_path(env)
    assert count.read_text().count("run") == (2 if shared else 4)
    assert path != env["PATH"] and _answer(["lsb_release", "-a"], {**env, "PATH": path}) == expected
    if shared:  # a damaged answer is a miss: the real program runs again (twice) and its answer is used
        for answer in cache.iterdir():
            answer.write_text('{"key": 1, "value": ["x", "y", true]}')
        monkeypatch.setattr(os_probe, "_dirs", {})
        path = cached_probe_path(env)
        assert count.read_text().count("run") == 4
        assert _answer(["lsb_release", "-a"], {**env, "PATH": path}) == expected


@pytest.mark.parametrize("case", ["no probe on PATH", "an answer that changes", "an empty answer", "switched off"])
def test_the_path_stays_as_it_was_when_the_answer_cannot_be_cached(tmp_path, monkeypatch, case):
    texts = {"an answer that changes": "#!/bin/sh\ndate +%N\n", "an empty answer": "#!/bin/sh\nexit 0\n"}
    real = _probe(tmp_path, texts.get(case, AWKWARD))
    env = _env(real, tmp_path)
    if case == "no probe on PATH":
        env["PATH"] = str(tmp_path)
    if case == "switched off":
        monkeypatch.setenv(OS_PROBE_ENV, "off")
    assert cached_probe_path(env) == env["PATH"]


def test_a_child_gets_the_cache_only_when_hermetic_and_its_path_is_not_overridden(tmp_path, monkeypatch):
    real = _probe(tmp_path, AWKWARD)
    monkeypatch.setenv("PATH", f"{real}{os.pathsep}{os.environ['PATH']}")
    with ChildEnv(tmp_path) as child:
        assert child.env["PATH"] != os.environ["PATH"] and without_probe_dir(child.env["PATH"]) == os.environ["PATH"]
    with ChildEnv(tmp_path, overrides={"PATH": os.environ["PATH"]}) as child:
        assert child.env["PATH"] == os.environ["PATH"]
    with ChildEnv(tmp_path, overrides={"LSB_OS_RELEASE": str(tmp_path / "os-release")}) as child:
        assert child.env["PATH"] == os.environ["PATH"]
    assert ChildEnv(tmp_path, hermetic=False).env["PATH"] == os.environ["PATH"]  # %codex connect


def test_a_forked_child_makes_its_own(tmp_path):
    real = _probe(tmp_path, AWKWARD)
    cached_probe_path(_env(real, tmp_path))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the parent's directories are under the parent's temp root: the child forgets them
        os.write(write, b"empty" if not os_probe._dirs else b"kept")
        os._exit(0)
    os.close(write)
    assert os.read(read, 16) == b"empty"
    os.close(read)
    assert os.waitpid(pid, 0)[1] == 0


@pytest.mark.codex_binary
def test_the_binary_takes_the_cached_answer_and_sends_the_same_user_agent(real_codex, tmp_path, monkeypatch):
    system = shutil.which("lsb_release")
    if system is None:
        pytest.skip("no lsb_release on this machine: the binary reads /etc/os-release itself and nothing is cached")
    count = tmp_path / "count"
    wrapper = _probe(tmp_path, f'#!/bin/sh\necho run >> {count}\nexec {system} "$@"\n')
    monkeypatch.setenv("PATH", f"{wrapper}{os.pathsep}{os.environ['PATH']}")

    def user_agent() -> str:
        with MockResponsesServer(repeating_assistant("hi")).start() as mock, CodexHome(mock) as home:
            with AppServerProcess(home.path, codex_bin=real_codex) as app:
                app.initialize(timeout=30)
                thread = app.start_thread(timeout=30)
                assert app.run_turn(thread["id"], "hi", timeout=30)["status"] == "completed"
            return mock.requests[0].header("user-agent")

    cached = user_agent()
    assert count.read_text().count("run") == 2  # the cache's own two runs: the binary ran the script
    monkeypatch.setenv(OS_PROBE_ENV, "off")
    real = user_agent()
    assert count.read_text().count("run") > 2, "with the cache off the binary runs the probe itself"
    assert cached == real and "(" in cached, (cached, real)
