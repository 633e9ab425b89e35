"""The one error type the magics show, and how a driver error becomes one line."""

from __future__ import annotations

from codex_fixtures import AppServerError, AppServerExitedError, JSONRPCRemoteError

__all__ = ["CodexUsageError", "one_line"]


class CodexUsageError(Exception):
    """A one-line, user-facing error (bad input, or the app-server said no)."""


def one_line(exc: BaseException) -> str:
    """A short single-line description of a driver / app-server error."""
    if isinstance(exc, JSONRPCRemoteError):
        msg = exc.rpc_message.split(", expected one of")[0]
        msg = msg if len(msg) <= 300 else msg[:299] + "…"
        return f"{exc.method or 'request'} failed: JSON-RPC {exc.code}: {msg}"
    if isinstance(exc, AppServerExitedError):
        tail = (exc.stderr_tail or "").strip().splitlines()
        last = f" — {tail[-1][:160]}" if tail else ""
        return f"app-server exited (exit code {exc.exit_code}){last}"
    text = exc.summary if isinstance(exc, AppServerError) else str(exc)
    first = (text.strip().splitlines() or [type(exc).__name__])[0]
    if first.endswith(":") and "; " in first:  # "...; tried:" announces lines that are cut here
        first = first.rsplit("; ", 1)[0]
    return first
