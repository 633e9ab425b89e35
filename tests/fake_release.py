"""A fake codex release: the real binary behind a wrapper that reports another version and changes behaviour.

Run as ``fake_release.py REAL_CODEX FAKE_VERSION FLAVOUR [codex args...]``. Flavours:

* ``new``         - behaves like the real binary (only ``--version`` differs);
* ``old``         - ``thread/archive`` is refused with the old error (-32600 "no rollout found for thread
  id <id>"), and its schema lacks ``thread/name/set`` and has an extra ``thread/start`` param
  ``legacyFlag`` (for ``codex-repro diff``);
* ``no-protocol`` - ``app-server`` is an unrecognized subcommand (a release from before the app-server).

``app-server`` runs the real one as a child and relays stdio line by line (the driver kills
the whole process group on close, so the child never outlives the wrapper).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path


def _patch_schema(out: Path) -> None:
    req = out / "ClientRequest.json"
    doc = json.loads(req.read_text())
    doc["oneOf"] = [v for v in doc["oneOf"] if v.get("properties", {}).get("method", {}).get("enum") != ["thread/name/set"]]
    doc["definitions"]["ThreadStartParams"].setdefault("properties", {})["legacyFlag"] = {"type": ["boolean", "null"]}
    req.write_text(json.dumps(doc))


def _relay(real: str, args: list[str]) -> int:
    child = subprocess.Popen([real, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    lock = threading.Lock()

    def out(line: bytes) -> None:
        with lock:
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()

    def pump_out() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            out(line)

    reader = threading.Thread(target=pump_out, daemon=True)
    reader.start()
    assert child.stdin is not None
    for line in sys.stdin.buffer:
        msg = json.loads(line) if line.strip() else {}
        if msg.get("method") == "thread/archive" and "id" in msg:
            tid = msg.get("params", {}).get("threadId")
            out((json.dumps({"id": msg["id"], "error": {"code": -32600,
                                                        "message": f"no rollout found for thread id {tid}"}}) + "\n").encode())
            continue
        child.stdin.write(line)
        child.stdin.flush()
    child.stdin.close()
    code = child.wait()
    reader.join(timeout=5)
    return code


# version -> flavour: archive-just-started differs before 1.5.0; 1.3.1 cannot run the protocol
FAKE_RELEASES = {
    "1.0.0": "old", "1.1.0": "old", "1.2.0": "old", "1.3.0": "old", "1.3.1": "no-protocol", "1.4.0": "old",
    "1.5.0": "new", "1.6.0": "new", "1.7.0": "new", "1.8.0": "new",
    "1.5.0-beta.1": "new",  # a pre-release: never listed
}


def make_fake_releases(root: Path, real: Path, releases: dict[str, str] = FAKE_RELEASES) -> Path:
    """Write ``root/<version>/codex`` wrappers of ``real`` (a local release source) and return ``root``."""
    for version, flavour in releases.items():
        d = root / version
        d.mkdir(parents=True)
        exe = d / "codex"
        exe.write_text(  # the shell answers what needs no Python (the version; a "new" release is the real one)
            "#!/bin/sh\n"
            f'if [ "$1" = --version ]; then echo "codex-cli {version}"; exit 0; fi\n'
            + (f'exec {real} "$@"\n' if flavour == "new" else "")
            + f'exec {sys.executable} -I -S {Path(__file__).resolve()} {real} {version} {flavour} "$@"\n'
        )
        exe.chmod(0o755)
    (root / "not-a-release").mkdir()
    return root


def main() -> int:
    real, version, flavour, *args = sys.argv[1:]
    if args[:1] == ["--version"]:
        print(f"codex-cli {version}")
        return 0
    if args[:1] == ["app-server"] and flavour == "no-protocol":
        sys.stderr.write("error: unrecognized subcommand 'app-server'\n")
        return 2
    if args[:2] == ["app-server", "generate-json-schema"]:
        code = subprocess.call([real, *args])
        if code == 0 and flavour == "old":
            _patch_schema(Path(args[args.index("--out") + 1]))
        return code
    if args[:1] == ["app-server"] and flavour == "old":
        return _relay(real, args)
    os.execv(real, [real, *args])
    return 127  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
