"""Shared test helpers: the fake stdio peer and the real-binary gate."""

from __future__ import annotations

import gc
import os
import signal
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def peer_executable(path: Path, script: Path, *python_flags: str) -> Path:
    """Write ``path``: an executable that runs the Python peer ``script`` (a stand-in for codex)."""
    flags = "".join(f" {f}" for f in python_flags)
    path.write_text(f"#!/bin/sh\nexec {sys.executable}{flags} {script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def fake_peer_bin(tmp_path: Path) -> Path:
    """An executable that runs tests/fake_app_server.py (mode via FAKE_PEER_MODE)."""
    return peer_executable(tmp_path / "fake-codex", HERE / "fake_app_server.py")


@pytest.fixture(scope="session")
def fake_releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of fake releases 1.0.0..1.8.0 wrapping the default binary (tests/fake_release.py)."""
    from codex_fixtures.appserver.binary import codex_binary_info
    from codex_fixtures.errors import CodexFixturesError
    from fake_release import make_fake_releases

    try:
        real = codex_binary_info().path
    except CodexFixturesError as exc:
        pytest.skip(f"no codex binary to wrap: {exc}")
    return make_fake_releases(tmp_path_factory.mktemp("releases"), real)


@pytest.fixture(params=["disk", "pyfakefs"])
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """An empty CODEX_HOME directory, once on the real disk and once under pyfakefs."""
    if request.param == "pyfakefs":
        request.getfixturevalue("fs")
        root = Path("/fake/codex-home")
        root.mkdir(parents=True)
        return root
    return tmp_path


@pytest.fixture
def fake_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


def pytest_report_header(config: pytest.Config) -> str:
    try:
        from codex_fixtures import codex_binary_info

        info = codex_binary_info(config.getoption("--codex-bin") or os.environ.get("CODEX_BIN") or None)
        return f"codex binary: {info.describe()}"
    except Exception as exc:  # noqa: BLE001
        return f"codex binary: unavailable ({exc})"


def _descendants(root: int) -> list[tuple[int, str]]:
    """(pid, cmdline) of every live descendant of ``root``, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat_line = fh.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat_line.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [root]
    while stack:
        for pid in children.get(stack.pop(), []):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    cmd = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            found.append((pid, cmd))
            stack.append(pid)
    return found


def leftover_app_servers(root: int | None = None) -> list[tuple[int, str]]:
    """``codex app-server`` processes still running below ``root`` (default: this process)."""
    return [(p, c) for p, c in _descendants(root or os.getpid()) if " app-server" in c and "codex" in c]


class MadeBySession:
    """Directories the codex binary makes in the real ``/tmp`` whatever TMPDIR says; the suite leaves none it made.

    ``/tmp/codex-daemon-<uid>`` (0700, empty): every sandboxed tool call makes it
    (``codex-rs/uds``: a fixed rendezvous root that "must not depend on HOME, TMPDIR,
    CODEX_HOME"); no config or environment moves it. ``/tmp/.git``, ``.codex``,
    ``.agents``, ``.aws`` (empty): the read-only mount targets of a workspace-write
    command with ``/tmp`` writable, left when it is interrupted; the hermetic config prevents them.
    At the end only those that did not exist at the start, and only while empty,
    are removed: one that was there before, or that a running daemon fills, stays.
    """

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.before = {p for p in paths if os.path.lexists(p)}

    def sweep(self) -> list[Path]:
        """Remove the empty ones made since; return them."""
        removed = []
        for path in self.paths:
            if path in self.before or path.is_symlink() or not path.is_dir():
                continue
            try:
                path.rmdir()  # only when empty
            except OSError:
                continue
            removed.append(path)
        return removed


def slash_tmp_made_by_codex() -> list[Path]:
    """What :class:`MadeBySession` watches."""
    return [Path("/tmp") / f"codex-daemon-{os.geteuid()}", *(Path("/tmp") / n for n in (".git", ".codex", ".agents", ".aws"))]


_MADE_KEY = pytest.StashKey[MadeBySession]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slowest test files first (``tests/slow_first.py``): the two workers of ``make test`` end together."""
    from slow_first import load_table, slowest_files_first

    items[:] = slowest_files_first(items, load_table())


def pytest_sessionstart(session: pytest.Session) -> None:
    """Note what of :func:`slash_tmp_made_by_codex` exists before the run (the controller only, under xdist)."""
    if sys.platform.startswith("linux") and not hasattr(session.config, "workerinput"):
        session.config.stash[_MADE_KEY] = MadeBySession(slash_tmp_made_by_codex())


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove what the binary made in ``/tmp`` during the run; no ``codex app-server`` may survive the suite."""
    if not sys.platform.startswith("linux"):
        return
    made = session.config.stash.get(_MADE_KEY, None)
    for path in made.sweep() if made is not None else []:
        if not path.name.startswith("codex-daemon-"):  # the hermetic config prevents these: some test ran without it
            session.config.get_terminal_writer().line(f"\nremoved {path}, which a codex child made during the run", yellow=True)
    left = leftover_app_servers()
    if left:
        lines = "\n".join(f"  pid {p}: {c[:160]}" for p, c in left)
        session.config.get_terminal_writer().line(f"\nLEAK: {len(left)} codex app-server process(es) survived the suite:\n{lines}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave the interpreter's last garbage collection nothing to walk (``gc.freeze()``): every process of the suite.

    After the last test an xdist worker holds the whole session's objects; the full collection
    at interpreter exit walked them for 1-3 s per worker while ``make test`` waited (issue 26:
    the controller's end 1.35 -> 0.35 s after the workers' last exit handler on a 570-test
    subset). Exit handlers still run; nothing of the session needs a cycle collected by then.
    """
    gc.freeze()


def cached_codex(version: str) -> Path | None:
    """The codex ``version`` already in the fetch cache (never downloads), or None."""
    from codex_fixtures.appserver.fetch import cached_binary, codex_cache_dir

    return cached_binary(codex_cache_dir() / version)


@pytest.fixture(params=["bundled", "0.171.0"])
def real_codex(request: pytest.FixtureRequest) -> Path | None:
    """The bundled binary (None: resolved as usual), then the cached 0.171.0 (skips with the reason when absent)."""
    if request.param == "bundled":
        return None
    path = cached_codex(request.param)
    if path is None:
        pytest.skip(f"codex {request.param} is not in the fetch cache (codex-repro --codex-version {request.param} fetches it)")
    return path


@pytest.fixture(scope="session", autouse=True)
def _built_homes_cache_of_this_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Homes built from a HomeSpec during the suite go to this run's temp dir, not the user's cache."""
    from codex_fixtures.homebuild.cache import CACHE_ENV

    if os.environ.get(CACHE_ENV):
        yield
        return
    os.environ[CACHE_ENV] = str(tmp_path_factory.getbasetemp() / "built-homes")
    try:
        yield
    finally:
        os.environ.pop(CACHE_ENV, None)


#: pytest plugins installed with the test extras that inner sessions do not need: their import is most of an
#: inner session's start-up CPU (measured 2026-12-07: 1.31 s -> 0.56 s of CPU per inner ``pytest --co``)
INNER_PLUGINS_OFF = ("hypothesispytest", "respx", "pytest_httpserver", "fakefs", "anyio")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "inner_plugins(*names): pytester sessions of this test keep these plugins (of INNER_PLUGINS_OFF)")
    # A suite started in the background (`cmd &`, nohup: a non-interactive shell ignores SIGINT for it) would hand
    # SIG_IGN to every child across exec, and the tests that interrupt a child (Ctrl-C of codex-repro and %codex repro,
    # a KeyboardInterrupt mid-test) would wait for an interrupt that never comes. Children get the terminal's default.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> pytest.Pytester:
    """pytest's ``pytester``, whose inner sessions load only the plugins they use.

    No inner session uses hypothesis, respx's ``respx_mock`` or pytest-httpserver; only a
    few use pyfakefs' ``fs`` (also behind ``codex_fake_home``) or anyio (``codex_async_sdk``):
    those say so with ``@pytest.mark.inner_plugins("fakefs", "anyio")``. hypothesis' plugin
    alone imports all of hypothesis, about 1 s of CPU per inner pytest process (and per xdist
    worker of an inner ``-n 2`` run); the others together another 0.75 s (issue 26,
    benchmarks/RESULTS.md).
    """
    marker = request.node.get_closest_marker("inner_plugins")
    keep = set(marker.args) if marker else set()
    unknown = keep - set(INNER_PLUGINS_OFF)
    assert not unknown, f"inner_plugins: {sorted(unknown)} are not among {INNER_PLUGINS_OFF}"
    off = " ".join(f"-p no:{name}" for name in INNER_PLUGINS_OFF if name not in keep)
    addopts = os.environ.get("PYTEST_ADDOPTS", "")
    monkeypatch.setenv("PYTEST_ADDOPTS", f"{addopts} {off}".strip())
    return pytester


_SIGNALS_KEPT = (signal.SIGINT, signal.SIGTERM)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[object]:
    """Give every test the SIGINT / SIGTERM handlers the test before it found, whatever it left.

    A test or library that ignores SIGINT in-process (``ipykernel``'s ``init_signal`` sets ``SIG_IGN``) would otherwise
    leave it ignored for the rest of the worker, and every child a later test starts inherits ``SIG_IGN`` across exec:
    a test that interrupts its child (``test_cli_signals``, the leak test's KeyboardInterrupt) then fails for its
    neighbour. The change is restored, and named in the warnings summary.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:  # ignored before any test ran (an import, a background start)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # children get the terminal's default, not SIG_IGN
    before = {sig: signal.getsignal(sig) for sig in _SIGNALS_KEPT}
    try:
        return (yield)
    finally:
        for sig, handler in before.items():
            if signal.getsignal(sig) is not handler and handler is not None:
                item.warn(pytest.PytestWarning(f"changed the {signal.Signals(sig).name} handler to {signal.getsignal(sig)!r}: "
                                               "restored for the next test"))
                signal.signal(sig, handler)
