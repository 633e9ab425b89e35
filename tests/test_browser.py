"""notebooks/quickstart.ipynb in JupyterLab, run from the UI in a real browser (Debian's chromium via playwright).

JupyterLab listens on 127.0.0.1 with a token, in temp dirs (settings, workspaces,
runtime); chromium resolves no host but 127.0.0.1. The test clicks Run > Run
All Cells, records the streamed turn's output area with a MutationObserver
while it runs, and checks: the turn was updated in place (one output at a
time, growing text) and ends with the mock's exact reply (``<`` and tags
shown, not rendered), no cell shows an error, and a rollout path is shown
whole. On failure the screenshots are kept and listed in the message. The
server is shut down through its API (it shuts its kernels down, and they
their app-servers), then its process group is ended. The module's two notebooks share
one JupyterLab and one chromium (each test its own browser context): a JupyterLab start
costs about 8 s of CPU.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from codex_fixtures.appserver.jsonschema_import import import_jsonschema
from conftest import leftover_app_servers

# Whether they are installed, not imported here: importing jupyterlab in every collecting process costs about 2 s of
# CPU (it imports jsonschema with rfc3987-syntax's grammars); the JupyterLab server is a child process anyway.
_MISSING = [name for name in ("jupyterlab", "playwright") if importlib.util.find_spec(name) is None]
pytestmark = [pytest.mark.kernel, pytest.mark.codex_binary, pytest.mark.timeout(150),
              pytest.mark.skipif(bool(_MISSING), reason=f"not installed (pip install -e '.[test]'): {_MISSING}")]

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "quickstart.ipynb"
TOKEN = "codex-threadkit-browser-test"
TURN_CELL = "%%codex -o first"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium on PATH (Debian: apt-get install chromium); playwright's own browser download is not used")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(root: Path) -> Path:
    """User settings: every cell in the DOM (no windowing), no news or update checks."""
    settings = root / "settings"
    for rel, doc in {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none", "autoStartDefaultKernel": True},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(doc))
    return settings


def scratch_env(home: Path) -> dict[str, str]:
    """This process's environment with ``home`` (made here) as HOME and none of the user's XDG, Jupyter or IPython dirs."""
    home.mkdir(parents=True)
    drop = ("XDG_", "JUPYTER_", "IPYTHON")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(drop)}, "HOME": str(home)}


class JupyterLab:
    """``jupyter lab`` on 127.0.0.1:PORT with a token, in temp dirs; ``close()`` shuts it and its kernels down."""

    def __init__(self, root: Path, notebooks: Path) -> None:
        self.notebooks = notebooks
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**scratch_env(root / "home"), "JUPYTER_CONFIG_DIR": str(root / "config"), "JUPYTER_DATA_DIR": str(root / "data"),
               "JUPYTER_RUNTIME_DIR": str(root / "runtime"), "IPYTHONDIR": str(root / "ipython"),
               "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        argv = [
            sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={self.port}", "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={notebooks}",
            f"--LabApp.user_settings_dir={_settings(root)}", f"--LabApp.workspaces_dir={root / 'workspaces'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
            "--LabApp.news_url=", "--ServerApp.terminals_enabled=False", "--allow-root",
        ]
        self.log = (root / "jupyter.log").open("wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, cwd=notebooks, start_new_session=True)

    def wait_ready(self, timeout: float = 45.0) -> None:
        """Until ``/api/status`` answers (or the server exits, or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"jupyter lab exited ({self.proc.returncode}): {Path(self.log.name).read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/status", params={"token": TOKEN}, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)  # polling a readiness endpoint, bounded by the deadline
        raise AssertionError(f"jupyter lab not ready within {timeout}s: {Path(self.log.name).read_text()[-2000:]}")

    def wait_kernel(self, notebook: str, timeout: float = 45.0) -> None:
        """Until the notebook has a session whose kernel is idle (``/api/sessions``), or ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sessions = httpx.get(f"{self.url}/api/sessions", params={"token": TOKEN}, timeout=5).json()
            if any(s.get("path", "").endswith(notebook) and (s.get("kernel") or {}).get("execution_state") == "idle" for s in sessions):
                return
            time.sleep(0.2)  # polling the server's own state, bounded by the deadline
        raise AssertionError(f"no idle kernel for {notebook} within {timeout}s")

    def close(self) -> None:
        try:
            httpx.post(f"{self.url}/api/shutdown", headers={"Authorization": f"token {TOKEN}"}, timeout=10)
            self.proc.wait(20)
        except (httpx.HTTPError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


_OBSERVE = """(marker) => {
  window.__turn = [];
  const find = () => [...document.querySelectorAll('.jp-CodeCell')].find(
      c => (c.querySelector('.cm-content')?.innerText || '').startsWith(marker));
  const record = () => {
    const cell = find();
    if (!cell) return;
    const area = cell.querySelector('.jp-OutputArea');
    const snap = {n: area ? area.querySelectorAll(':scope > .jp-OutputArea-child').length : 0, text: area ? area.innerText : ''};
    const last = window.__turn[window.__turn.length - 1];
    if (!last || last.n !== snap.n || last.text !== snap.text) window.__turn.push(snap);
  };
  new MutationObserver(record).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def _mock_reply(nb: dict) -> str:
    """The reply the notebook's sandbox cell gives the mock (``--reply "..."``)."""
    src = next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code" and "%codex sandbox" in "".join(c["source"]))
    return src.split('--reply "', 1)[1].split('"', 1)[0]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """One JupyterLab for the module's notebooks (its start is most of a browser test's CPU).

    At the end it is shut down through its API, and then its kernels, their app-servers and
    every process started in its notebook dir must be gone.
    """
    root = tmp_path_factory.mktemp("jupyterlab")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    server = JupyterLab(root / "lab", notebooks)
    try:
        server.wait_ready()
        yield server
    finally:
        server.close()
    assert server.proc.returncode is not None
    assert not leftover_app_servers(), "a codex app-server survived the JupyterLab shutdown"
    assert not _running_in(notebooks), "a kernel (or another process started in the notebook dir) survived the shutdown"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's chromium through playwright, with a scratch HOME, resolving no host but 127.0.0.1."""
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("browser") / "home"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=_chromium(), env=scratch_env(home), args=[
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--no-sandbox", "--disable-gpu"])
        try:
            yield chromium
        finally:
            chromium.close()
    # chromium wrote its profile bits (Crash Reports, dconf) into the user's HOME before it got a scratch one
    assert (home / ".config" / "chromium").is_dir(), "chromium did not use its scratch HOME"


def _run_in_jupyterlab(lab: JupyterLab, browser: Any, tmp_path: Path, notebook: Path, check, before_run=None) -> None:
    """Open ``notebook`` (copied into the lab's notebook dir) in a new browser context, Run All Cells, then ``check(page, shots)``.

    ``before_run(page)`` runs once the kernel is idle, before Run All. On failure
    the screenshots are kept outside pytest's tmp rotation and listed.
    """
    shutil.copy(notebook, lab.notebooks / notebook.name)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = None
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        # a workspace of its own: the default one would reopen the notebooks of the tests before in other tabs
        page.goto(f"{lab.url}/lab/workspaces/{notebook.stem}/tree/{notebook.name}?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook .jp-CodeCell")
        lab.wait_kernel(notebook.name)
        page.wait_for_function("() => document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle'")
        if before_run is not None:
            before_run(page)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        select = page.locator(".jp-Dialog .jp-mod-accept", has_text="Select")
        if select.count():  # a kernel chooser, when the server did not start the notebook's kernel by itself
            select.first.click()
        page.wait_for_function(
            "() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.innerText.trim());"
            " return p.length > 0 && p.every(t => /^\\[\\d+\\]:$/.test(t)); }", timeout=90_000)
        page.screenshot(path=str(shots / "after-run-all.png"), full_page=True)
        check(page, shots)
    except BaseException as exc:
        if page is not None:
            try:
                page.screenshot(path=str(shots / "failure.png"), full_page=True)
            except Exception:  # noqa: BLE001, S110 - the screenshot is a bonus; the failure is the point
                pass
        keep = Path(tempfile.mkdtemp(prefix="codex-browser-screenshots-"))  # outside pytest's rotation of tmp dirs
        kept = [str(shutil.copy(p, keep)) for p in sorted(shots.glob("*.png"))]
        raise AssertionError(f"{exc}\nscreenshots: {', '.join(kept) or 'none'}\nserver log: {lab.log.name}") from exc
    finally:
        context.close()


def test_quickstart_runs_in_jupyterlab(lab, browser, tmp_path):
    reply = _mock_reply(json.loads(NOTEBOOK.read_text()))
    _run_in_jupyterlab(lab, browser, tmp_path, NOTEBOOK, lambda page, shots: _check(page, reply, shots),
                       before_run=lambda page: page.evaluate(_OBSERVE, TURN_CELL))


def _running_in(cwd: Path) -> list[int]:
    """Live processes whose working directory is ``cwd`` (the kernels of this server start there)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and Path(os.readlink(f"/proc/{entry}/cwd")) == cwd:
                with open(f"/proc/{entry}/stat") as fh:
                    if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                        found.append(int(entry))
        except OSError:
            continue
    return found


def _check(page, reply: str, shots: Path) -> None:
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
                          ".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, f"a cell shows an error: {errors.first.inner_text()[:500]}"
    snaps = page.evaluate("() => window.__turn")
    assert max(s["n"] for s in snaps) == 1, f"the turn's output area held more than one output: {snaps[:5]}"
    texts = [s["text"] for s in snaps if s["text"]]
    assert len(set(texts)) >= 3, f"the turn was not streamed (snapshots: {texts[:5]})"
    assert any("▌" in t for t in texts) and reply in texts[-1] and "▌" not in texts[-1], texts[-1]
    turn = page.locator(".jp-CodeCell", has_text=TURN_CELL).first
    turn.scroll_into_view_if_needed()
    turn.screenshot(path=str(shots / "turn.png"))
    assert turn.locator(".jp-OutputArea-output b").count() == 0, "the reply's <b> tag was rendered, not shown"
    prompt = turn.locator(".jp-OutputPrompt").first.inner_text().strip()  # an execute_result has [n]: (Out[n]), a display none
    assert re.fullmatch(r"\[\d+\]:", prompt), f"the turn's value has no Out[n] prompt: {prompt!r}"
    paths = page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea code[title^=\"/\"]')].map(c => [c.title, c.innerText])")
    rollouts = [p for p in paths if p[0].endswith(".jsonl")]
    assert rollouts and all(title == text and "…" not in text for title, text in rollouts), rollouts[:3]


PAYLOAD_REPLY = "\n\n".join([
    "See `x\n# <img src=x onerror=\"window.__pwned='heading'\"> `",  # a code span across a line that opens a block
    "See `x\n- <script>window.__pwned='list'</script> `",
    "```js`x\n<img src=x onerror=\"window.__pwned='fence'\">\n```",  # a fence with a backtick in its info string
    "[click](javascript:window.__pwned='link') and ![pic](x\" onerror=\"window.__pwned='image')",
    "Exact: use a List<String> & &amp; and $5 or $10 as typed.",
])
"""A reply whose every part ran JavaScript (or was typeset) when the reply was escaped Markdown."""

_CONTROLS = """from IPython.display import HTML
# controls: the same tricks in HTML this kernel writes itself do run (so the reply's could have)
HTML("<img src=x onerror=\\"window.__control_img=1\\"><script>window.__control_script=1</script><p id='control-math'>$x^2$</p>")"""


def _payload_notebook(path: Path) -> Path:
    import_jsonschema()  # nbformat imports jsonschema: without building rfc3987-syntax's grammar (the same checks)
    import nbformat

    cells = [
        "%load_ext codex_magics",
        f"get_ipython().magics_manager.registry['CodexMagics'].default_reply = {PAYLOAD_REPLY!r}\nsb = %codex sandbox\nt = %codex start",
        "%%codex -o turn\nSay it.",
        f"assert turn.status == 'completed' and turn.text == {PAYLOAD_REPLY!r}, turn",
        '%codex name t "costs $5 or $10"',  # a thread name in a record and a table: no math either
        "%codex threads",
        _CONTROLS,
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _check_payloads(page, shots: Path) -> None:
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
                          ".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, f"a cell shows an error: {errors.first.inner_text()[:500]}"
    # the controls prove that an onerror handler and a <script> in an HTML output run here, and that MathJax typesets
    page.wait_for_function("() => window.__control_img === 1 && window.__control_script === 1", timeout=30_000)
    page.wait_for_function("() => !!document.querySelector('#control-math mjx-container, #control-math .MathJax')", timeout=30_000)
    turn = page.locator(".jp-CodeCell", has_text="%%codex -o turn").first
    turn.scroll_into_view_if_needed()
    turn.screenshot(path=str(shots / "turn.png"))
    out = turn.locator(".jp-OutputArea-output").first
    found = page.evaluate("""(el) => ({
        pwned: window.__pwned ?? null,
        tags: [...el.querySelectorAll('img, script, iframe, object, embed, svg, mjx-container, .MathJax')].map(e => e.tagName),
        handlers: [...el.querySelectorAll('*')].flatMap(e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith('on')),
        hrefs: [...el.querySelectorAll('a')].map(a => a.getAttribute('href')),
        text: el.innerText,
    })""", out.element_handle())
    assert found["pwned"] is None, f"the reply ran JavaScript: window.__pwned = {found['pwned']!r}"
    assert found["tags"] == [] and found["handlers"] == [], found
    assert all(not re.match(r"(?i)\s*(javascript|data|vbscript):", h or "") for h in found["hrefs"]), found["hrefs"]
    assert "Exact: use a List<String> & &amp; and $5 or $10 as typed." in found["text"], found["text"]  # not typeset as math
    assert "<img src=x onerror=\"window.__pwned='heading'\">" in found["text"]  # raw HTML shown as text
    typeset = page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea mjx-container, .jp-OutputArea .MathJax')]"
                            ".filter(e => !e.closest('#control-math')).length")
    assert typeset == 0, "MathJax typeset the text of a %codex output"
    shown = page.locator(".jp-CodeCell", has_text="%codex threads").first.locator(".jp-OutputArea-output").first.inner_text()
    assert "costs $5 or $10" in shown, shown


def test_a_reply_runs_no_javascript_in_jupyterlab(lab, browser, tmp_path):
    notebook = _payload_notebook(tmp_path / "source" / "payloads.ipynb")
    _run_in_jupyterlab(lab, browser, tmp_path, notebook, _check_payloads)
