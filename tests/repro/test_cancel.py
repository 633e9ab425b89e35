"""CancelToken: what registers after a cancel is aborted at once; cancel aborts what is open, once."""

from __future__ import annotations

import pytest
from codex_fixtures.repro.cancel import Cancelled, CancelToken


class Thing:
    def __init__(self, kill: bool = False) -> None:
        self.aborted = 0
        if kill:
            self.kill = self._abort
        else:
            self.close = self._abort

    def _abort(self) -> None:
        self.aborted += 1


def test_cancel_aborts_what_is_open_and_not_what_was_released():
    token = CancelToken()
    app, server, done = token.register(Thing(kill=True)), token.register(Thing()), token.register(Thing())
    token.release(done)
    assert not token.cancelled
    token.check()
    assert token.cancel() == 2 and token.cancel() == 0
    assert (app.aborted, server.aborted, done.aborted) == (1, 1, 0)
    with pytest.raises(Cancelled):
        token.check()


def test_register_after_cancel_aborts_and_raises():
    token = CancelToken()
    token.cancel()
    late = Thing()
    with pytest.raises(Cancelled):
        token.register(late)
    assert late.aborted == 1


def test_an_abort_that_raises_does_not_stop_the_others():
    token = CancelToken()

    class Broken:
        def close(self):
            raise OSError("boom")

    token.register(Broken())
    fine = token.register(Thing())
    token.cancel()
    assert fine.aborted == 1
