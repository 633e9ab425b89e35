"""Execute the notebooks with nbclient on a real kernel: every cell must run without error.

The notebooks assert what they show, so a behaviour change of the binary fails here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from codex_fixtures.appserver.jsonschema_import import import_jsonschema

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

# checked, not imported, at collection: nbformat imports jsonschema, about 2 s of CPU in every collecting process
_MISSING = [name for name in ("nbformat", "nbclient") if importlib.util.find_spec(name) is None]
pytestmark = [pytest.mark.kernel, pytest.mark.codex_binary, pytest.mark.skipif(bool(_MISSING), reason=f"not installed: {_MISSING}")]

_executed: dict[str, Any] = {}


def executed(name: str, tmp_path: Path) -> Any:
    """The notebook after running every cell (once per test process)."""
    if name not in _executed:
        import_jsonschema()  # nbformat's jsonschema without rfc3987-syntax's grammar build (the same checks)
        import nbclient
        import nbformat

        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}})
        client.execute()  # raises CellExecutionError (with the cell and its error) on the first failing cell
        _executed[name] = nb
    return _executed[name]


@pytest.mark.parametrize("name", ["quickstart.ipynb", "reproduce_archive_resume.ipynb"])
def test_notebook_runs(name, tmp_path):
    nb = executed(name, tmp_path)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "completed" in text and "archived" in text
    if name == "quickstart.ipynb":
        turn = next(c for c in nb.cells if c.source.startswith("%%codex -o first"))
        [shown] = turn.outputs  # the live display, cleared when the value's Out[n] arrives
        assert shown.output_type == "execute_result" and shown.execution_count
        assert "Hello from the Codex sandbox" in shown.data["text/html"] and "completed" in shown.data["text/plain"]
    else:
        assert "no rollout found for thread id" in text and "thread not found" in text
