"""Inner pytest sessions of the suite (``pytester``) load only the plugins they use (tests/conftest.py)."""

from __future__ import annotations

import pytest
from conftest import INNER_PLUGINS_OFF

PROBE = """
import pytest

def test_plugins(request):
    loaded = {{name for name in {names!r} if request.config.pluginmanager.has_plugin(name)}}
    assert loaded == set({expected!r}), loaded
"""


def test_inner_sessions_leave_the_unused_plugins_out(pytester):
    # fails on main before issue 26 part 3: respx, pytest_httpserver, fakefs and anyio were loaded
    pytester.makepyfile(PROBE.format(names=INNER_PLUGINS_OFF, expected=[]))
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.inner_plugins("fakefs", "anyio")
def test_a_test_keeps_what_its_marker_names(pytester):
    pytester.makepyfile(PROBE.format(names=INNER_PLUGINS_OFF, expected=["fakefs", "anyio"]))
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.inner_plugins("nonesuch")
def test_an_unknown_name_is_refused(request):
    with pytest.raises(AssertionError, match="nonesuch"):
        request.getfixturevalue("pytester")
