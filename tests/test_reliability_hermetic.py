"""Reliability: the hermetic set-up, proven with strace rather than assumed (every entry point, last test).

A full scenario (start, turn, archive, unarchive) runs the real app-server
under ``strace -ff --seccomp-bpf -yy -e trace=network,file``, through a wrapper script passed
as ``codex_bin`` (``--seccomp-bpf``: only the traced calls stop the process, the same record at a fraction
of the cost). Every traced process (the binary and anything it spawns) must

* connect / send only to 127.0.0.0/8 or ::1 (AF_UNIX and AF_NETLINK are local
  and ignored), and
* write nothing outside the test's temp directory: no successful open for
  writing/creating, mkdir, rename, unlink, link, truncate, chmod or utimensat
  elsewhere, except ``/dev/null``, ``/proc/self`` and the anonymous
  ``/var/tmp`` ``O_TMPFILE`` that 0.169.0 opens (it leaves no file; see the
  reference, section 5.2).

``HOME`` points at an empty directory that must still be empty afterwards.
The parser is tested on its own first, so a green run cannot be vacuous.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from codex_fixtures import AppServerProcess, CodexHome, MockResponsesServer, find_thread_path_by_id_str
from codex_fixtures.appserver.binary import resolve_codex_bin
from codex_fixtures.appserver.probe_cache import PROBE_CACHE_ENV
from codex_fixtures.mock.script import repeating_assistant

_LINE = re.compile(r"^(?P<call>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>-?\d+|\?)")
_STR = re.compile(r'"((?:[^"\\]|\\.)*)"')
_DIRFD = re.compile(r"^\s*(?:AT_FDCWD|-?\d+)(?:<(?P<path>[^>]*)>)?\s*,\s*")
_FD_PATH = re.compile(r"^\s*-?\d+<(?P<path>[^>]*)>")
_IPV4 = re.compile(r'inet_addr\("(?P<a>[^"]+)"\)')
_IPV6 = re.compile(r'inet_pton\(AF_INET6,\s*"(?P<a>[^"]+)"')
_ENDPOINT4 = re.compile(r"(?:TCP|UDP):\[(?P<a>[\d.]+):\d+->(?P<b>[\d.]+):\d+\]")
_ENDPOINT6 = re.compile(r"(?:TCPv6|UDPv6):\[\[(?P<a>[0-9a-fA-F:.]+)\]:\d+->\[(?P<b>[0-9a-fA-F:.]+)\]:\d+\]")

_OPEN_CALLS = {"open", "openat", "openat2", "creat"}
_WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_TMPFILE")
_PATH_CALLS = {  # syscall -> indexes of path arguments among the quoted strings
    "mkdir": (0,), "mkdirat": (0,), "rmdir": (0,), "unlink": (0,), "unlinkat": (0,),
    "rename": (0, 1), "renameat": (0, 1), "renameat2": (0, 1), "link": (1,), "linkat": (1,),
    "symlink": (1,), "symlinkat": (1,), "truncate": (0,), "chmod": (0,), "fchmodat": (0,),
    "chown": (0,), "lchown": (0,), "fchownat": (0,), "mknod": (0,), "mknodat": (0,),
    "utimensat": (0,), "utime": (0,), "utimes": (0,), "setxattr": (0,), "lsetxattr": (0,),
}
_NET_CALLS = {"connect", "sendto", "sendmsg", "sendmmsg"}
_ALWAYS_ALLOWED = ("/dev/null", "/proc/self", "/dev/tty")


@dataclass(frozen=True)
class Event:
    call: str
    detail: str
    line: str


def _resolve(path: str, base: str | None) -> str:
    if path.startswith("/") or base is None:
        return path
    return str(Path(base) / path)


def written_paths(line: str, cwd: str) -> list[str]:
    """Paths a successful strace line wrote to (created, modified, removed); [] otherwise."""
    m = _LINE.match(line.split(" ", 1)[1] if line[:1].isdigit() else line)
    if not m or m["ret"] == "?" or int(m["ret"]) < 0:
        return []
    call, args = m["call"], m["args"]
    dirfd = _DIRFD.match(args)
    base = (dirfd["path"] if dirfd and dirfd["path"] else cwd) if call.endswith("at") or call.endswith("at2") else cwd
    strings = _STR.findall(args)
    if call in _OPEN_CALLS:
        if call != "creat" and not any(flag in args for flag in _WRITE_FLAGS):
            return []
        if "O_TMPFILE" in args and strings and strings[0] == "/var/tmp":
            return []  # anonymous temp file, never linked into the tree
        return [_resolve(strings[0], base)] if strings else []
    if call in _PATH_CALLS:
        if call == "utimensat" and not strings:  # utimensat(fd<path>, NULL, ...)
            fd = _FD_PATH.match(args)
            return [fd["path"]] if fd else []
        return [_resolve(strings[i], base) for i in _PATH_CALLS[call] if i < len(strings)]
    return []


def remote_addresses(line: str) -> list[str]:
    """Non-loopback IP addresses a connect/send line talks to."""
    m = _LINE.match(line.split(" ", 1)[1] if line[:1].isdigit() else line)
    if not m or m["call"] not in _NET_CALLS:
        return []
    args = m["args"]
    if "AF_UNIX" in args or "AF_NETLINK" in args or "UNIX:[" in args or "NETLINK:[" in args:
        return []
    found = [a["a"] for a in _IPV4.finditer(args)] + [a["a"] for a in _IPV6.finditer(args)]
    for pattern in (_ENDPOINT4, _ENDPOINT6):  # -yy decorates connected sockets with both ends
        for ep in pattern.finditer(args):
            found += [ep["a"], ep["b"]]
    bad = []
    for addr in found:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            bad.append(addr)
            continue
        mapped = getattr(ip, "ipv4_mapped", None)
        if not (ip.is_loopback or (mapped is not None and mapped.is_loopback)):
            bad.append(addr)
    return bad


def _inside(path: str, roots: list[str]) -> bool:
    norm = str(Path(path))
    return any(norm == r or norm.startswith(r.rstrip("/") + "/") for r in roots)


# ------------------------------------------------------- the parser itself
def test_parser_flags_writes_and_remote_traffic():
    cwd = "/t/cwd"
    assert written_paths('openat(AT_FDCWD</t/cwd>, "/etc/x", O_WRONLY|O_CREAT|O_CLOEXEC, 0666) = 3</etc/x>', cwd) == ["/etc/x"]
    assert written_paths('123 openat(5</home/u>, "f", O_RDWR) = 7</home/u/f>', cwd) == ["/home/u/f"]
    assert written_paths('openat(AT_FDCWD, "rel", O_CREAT|O_WRONLY, 0600) = 3', cwd) == ["/t/cwd/rel"]
    assert written_paths('openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3', cwd) == []
    assert written_paths('openat(AT_FDCWD, "/x", O_WRONLY|O_CREAT, 0666) = -1 EACCES (Permission denied)', cwd) == []
    assert written_paths('open("/var/tmp", O_RDWR|O_EXCL|O_TMPFILE, 0600) = 3', cwd) == []
    assert written_paths('rename("/a/x", "/b/y") = 0', cwd) == ["/a/x", "/b/y"]
    assert written_paths('renameat2(AT_FDCWD</c>, "/a", AT_FDCWD</c>, "/b", RENAME_NOREPLACE) = 0', cwd) == ["/a", "/b"]
    assert written_paths('mkdir("/home/u/.pyenv", 0777) = 0', cwd) == ["/home/u/.pyenv"]
    assert written_paths('unlinkat(3</d>, "f", 0) = 0', cwd) == ["/d/f"]
    assert written_paths('utimensat(43</h/f.jsonl>, NULL, [UTIME_OMIT, {tv_sec=1}], 0) = 0', cwd) == ["/h/f.jsonl"]
    assert written_paths('stat("/etc", {st_mode=S_IFDIR}) = 0', cwd) == []
    assert remote_addresses('connect(9<TCP:[1]>, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = 0') == ["10.255.255.53"]
    assert remote_addresses('connect(9, {sa_family=AF_INET, sin_port=htons(4), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (x)') == []
    assert remote_addresses('sendto(5<UDP:[10.0.0.2:40000->10.255.255.53:53]>, "x", 30, MSG_NOSIGNAL, NULL, 0) = 30') != []
    assert remote_addresses('connect(3, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=0, inet_pton(AF_INET6, "2606:4700::1", &sin6_addr), sin6_scope_id=0}, 28) = 0') == ["2606:4700::1"]
    assert remote_addresses('connect(3, {sa_family=AF_INET6, sin6_port=htons(1), inet_pton(AF_INET6, "::1", &sin6_addr)}, 28) = 0') == []
    assert remote_addresses('connect(45<TCP:[27745]>, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("127.0.0.1")}, 16) = 0') == []
    assert remote_addresses('sendmsg(7<TCPv6:[[::1]:5->[2001:db8::5]:443]>, {msg_name=NULL}, 0) = 9') == ["2001:db8::5"]
    assert remote_addresses('connect(4<UNIX:[1]>, {sa_family=AF_UNIX, sun_path="/run/x"}, 110) = 0') == []
    assert _inside("/t/cwd/a", ["/t/cwd"]) and not _inside("/t/cwdx", ["/t/cwd"])


# ------------------------------------------------------ the real binary
def _strace_usable() -> str | None:
    strace = shutil.which("strace")
    if strace is None:
        return "strace is not installed (apt-get install strace); hermeticity not proven here"
    probe = subprocess.run([strace, "-f", "-o", "/dev/null", "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"strace cannot trace here: {probe.stderr.strip()[:200]}"
    return None


@pytest.mark.codex_binary
def test_full_scenario_under_strace_stays_on_loopback_and_inside_its_temp_dirs(tmp_path):
    reason = _strace_usable()
    if reason:
        pytest.skip(reason)
    root = tmp_path.resolve()
    codex_home, cwd, home, logs = root / "codex_home", root / "cwd", root / "HOME", root / "strace"
    for d in (cwd, home, logs):
        d.mkdir()
    wrapper = root / "codex-under-strace"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'exec {shutil.which("strace")} -ff --seccomp-bpf -qq -yy -e trace=network,file -o {logs}/trace '
        f'-- {resolve_codex_bin()} "$@"\n'
    )
    wrapper.chmod(0o755)

    with MockResponsesServer(repeating_assistant("Done")) as server:
        CodexHome(server, path=codex_home, fresh=True)  # the binary's own first start, traced (no template build)
        with AppServerProcess(codex_home, codex_bin=wrapper, cwd=cwd, env={"HOME": str(home)}, default_timeout=60) as app:
            app.initialize()
            thread_id = app.start_thread()["id"]
            assert app.run_turn(thread_id, "hello")["status"] == "completed"
            app.request("thread/archive", {"threadId": thread_id})
            app.request("thread/unarchive", {"threadId": thread_id})
            assert find_thread_path_by_id_str(codex_home, thread_id) is not None
        assert len(server.requests) == 1
        port = server.port

    traces = sorted(logs.glob("trace.*"))
    assert traces, "strace wrote no trace files"
    lines = [line for t in traces for line in t.read_text(errors="replace").splitlines()]
    # the trace really covers the scenario: the binary's connect to the mock is in it
    assert any(line.startswith("connect(") and f"htons({port})" in line for line in lines), "no connect to the mock traced"
    assert any(str(codex_home) in line and "rollout-" in line for line in lines), "no rollout write traced"

    remote = [(addrs, line) for line in lines if (addrs := remote_addresses(line))]
    assert remote == [], "traffic outside 127.0.0.0/8:\n" + "\n".join(line for _, line in remote[:20])

    allowed = [str(codex_home), str(cwd), str(logs)]
    outside, inside = [], 0
    for line in lines:
        for path in written_paths(line, str(cwd)):
            inside += _inside(path, [str(codex_home)])
            if _inside(path, [str(home)]) or not (_inside(path, allowed) or _inside(path, list(_ALWAYS_ALLOWED))):
                outside.append(line)
    assert inside > 20, f"only {inside} writes into CODEX_HOME recognised: is the parser blind?"
    assert outside == [], "writes outside the temp dirs:\n" + "\n".join(outside[:20])
    assert list(home.iterdir()) == [], "something was created in the empty HOME"


# ------------------------------------------- every other child the toolkit starts
EVERY_ENTRY_POINT = r"""
import json, os, subprocess, sys
from codex_fixtures import codex_binary_info
from IPython.core.history import HistoryManager
from IPython.core.interactiveshell import InteractiveShell

info = codex_binary_info()  # --version and the schema, in a fresh process (nothing cached)
repro = subprocess.run([os.path.join(os.path.dirname(sys.executable), "codex-repro"), "run", "start-is-lazy", "--quiet"],
                       capture_output=True, text=True, timeout=120)
HistoryManager.enabled = False
ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "codex_magics")
status = ip.run_line_magic("codex", "sandbox")
thread = ip.run_line_magic("codex", "start")
turn = ip.run_cell_magic("codex", "", "hello")
ip.run_line_magic("codex", "stop")
print(json.dumps({"version": info.version, "repro": repro.returncode, "repro_err": repro.stderr[-500:],
                  "sandbox": status["mode"], "turn": turn.status}))
"""


@pytest.mark.codex_binary
def test_probes_codex_repro_and_the_codex_sandbox_create_nothing_in_an_empty_home(tmp_path):
    pytest.importorskip("IPython")
    home, tmp = tmp_path / "HOME", tmp_path / "tmp"  # HOME is outside the toolkit's temp root (which is in tmp)
    home.mkdir()
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CODEX_HOME", "CODEX_BIN", PROBE_CACHE_ENV)}  # probes run here
    env.update(HOME=str(home), TMPDIR=str(tmp), IPYTHONDIR=str(tmp_path / "ipython"))
    proc = subprocess.run([sys.executable, "-c", EVERY_ENTRY_POINT], capture_output=True, text=True, timeout=300, env=env,
                          cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["repro"] == 0 and result["sandbox"] == "sandbox" and result["turn"] == "completed", result
    created = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert created == [], f"created in HOME: {created[:20]}"
    left = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))
    assert left == [], f"left in TMPDIR after exit: {left[:20]}"


# ------------------------------------- the entry points added since: releases, websocket, SDK, schema, templates
NEWER_ENTRY_POINTS = r"""
import json, os, shutil, subprocess, sys, tempfile
from pathlib import Path
from codex_fixtures import AppServerProcess, CodexHome, codex_binary_info
from codex_fixtures.appserver.launch import CodexLaunch, open_codex
from codex_magics.schema import catalog_of

info = codex_binary_info()
mirror = Path(tempfile.mkdtemp(prefix="mirror-"))  # a one-release offline mirror for the release runner
(mirror / info.version).mkdir()
(mirror / info.version / "codex").symlink_to(info.path)
repro = os.path.join(os.path.dirname(sys.executable), "codex-repro")

def cli(*argv):
    return subprocess.run([repro, *argv, "--quiet"], capture_output=True, text=True, timeout=240).returncode

out = {"diff": cli("diff", str(info.path), str(info.path), "--no-scenarios"),  # repro.surface: schema, tools, rollout kinds
       "history": cli("history", "start-is-lazy", "--from", info.version, "--to", info.version, "--releases", str(mirror))}
shutil.rmtree(mirror)
with CodexHome() as home:
    with AppServerProcess(home, transport="websocket") as app:  # first start here: the template home is built too
        app.initialize()
        app.new_connection().initialize()
        out["connections"] = len(app.connections)
    if "sdk" in sys.argv:
        with CodexLaunch(home) as launch, open_codex(launch) as codex:  # the official SDK's own child
            out["sdk"] = type(codex).__name__
out["schema"] = catalog_of(info).has("thread/start")  # the schema behind %codex call, a probe of its own
print(json.dumps(out))
"""


@pytest.mark.codex_binary
def test_release_commands_websocket_sdk_schema_and_template_homes_never_touch_an_empty_home(tmp_path):
    pytest.importorskip("IPython")
    try:
        import openai_codex  # noqa: F401
        sdk = ["sdk"]
    except ImportError:
        sdk = []
    home, tmp = tmp_path / "HOME", tmp_path / "tmp"  # HOME is outside the toolkit's temp root (which is in tmp)
    home.mkdir()
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CODEX_HOME", "CODEX_BIN", PROBE_CACHE_ENV)}  # probes run here
    env.update(HOME=str(home), TMPDIR=str(tmp), IPYTHONDIR=str(tmp_path / "ipython"))
    strace = shutil.which("strace")
    trace = tmp_path / "trace"
    prefix = [strace, "-f", "--seccomp-bpf", "-qq", "-e", "trace=file", "-o", str(trace)] if strace else []
    proc = subprocess.run([*prefix, sys.executable, "-c", NEWER_ENTRY_POINTS, *sdk], capture_output=True, text=True,
                          timeout=400, env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["diff"] == 0 and result["history"] == 0 and result["connections"] == 1 and result["schema"], result
    assert not sdk or result["sdk"] == "Codex", result
    if strace:  # not even a look: the binary, the SDK's child and the probes get a temp HOME
        touched = [line for line in trace.read_text(errors="replace").splitlines() if f'"{home}' in line]
        assert touched == [], "HOME was looked at:\n" + "\n".join(touched[:20])
    created = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert created == [], f"created in HOME: {created[:20]}"
    left = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))
    assert left == [], f"left in TMPDIR after exit: {left[:20]}"
