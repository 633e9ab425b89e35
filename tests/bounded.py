"""``run_bounded``: run a call that might hang (a FIFO) or grow without limit (/dev/zero), and fail instead."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def run_bounded(fn: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Run ``fn`` in a daemon thread; fail (instead of hanging the suite) if it does not return in time."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"{fn} did not return within {timeout}s (blocked on a non-regular file, or reading without end?)"
    if "error" in out:
        raise out["error"]
    return out["value"]
