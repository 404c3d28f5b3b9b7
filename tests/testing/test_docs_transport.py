"""The docs' examples for queued listeners in tests run as written, and keep tests off the broker."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from tests.examples import block
from tests.scripts import run_python

from .test_transport import DJANGO_SETTINGS

pytest_plugins = ["pytester"]

# Each example registers queued listeners on the global Dispatcher: a process of its own keeps
# them, and the transport they configure, away from this one.
RUN = ("-p", "no:randomly", "--ds=inner_settings", "-W", "error")

BROKER_TESTS = """
from django_event_system import Dispatcher
from django_event_system.core import Message, Transport, configure_transport


class Broker(Transport):
    name = "broker"
    received: list[Message] = []

    def enqueue(self, message: Message, *, delay: float = 0.0, attempt: int = 0) -> None:
        self.received.append(message)


configure_transport(Broker())


@Dispatcher.listen("orders::.*", queued=True)
def audit(name: str, *args: object) -> None:
    pass


def test_dispatches_to_a_queued_listener() -> None:
    Dispatcher.Dispatch("orders::paid", 7)
    Dispatcher.ClearQueue()


def test_zz_nothing_reached_the_broker() -> None:
    assert Broker.received == []
"""


def test_the_test_case_example_passes(pytester: pytest.Pytester) -> None:
    """The Django TestCase example passes: its message is held until the captured commit, then runs."""
    pytester.makepyfile(inner_settings=DJANGO_SETTINGS, test_example=block("testing-queued-django"))
    result = pytester.runpytest_subprocess(*RUN, timeout=120)
    result.assert_outcomes(passed=1)


def test_the_test_case_example_fails_without_the_commit(pytester: pytest.Pytester) -> None:
    """Without running the commit callbacks the example's message never comes: its assertion is real."""
    code = block("testing-queued-django").replace("self.captureOnCommitCallbacks(execute=True)", "self.subTest()")
    pytester.makepyfile(inner_settings=DJANGO_SETTINGS, test_example=code)
    result = pytester.runpytest_subprocess(*RUN, timeout=120)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ValueError: not enough values to unpack (expected 1, got 0)"])


def test_the_pytest_example_passes(pytester: pytest.Pytester) -> None:
    """The pytest example's two tests pass under pytest-django, with the plugin's fixture."""
    pytester.makepyfile(inner_settings=DJANGO_SETTINGS, test_example=block("testing-queued-pytest"))
    result = pytester.runpytest_subprocess(*RUN, "-s", timeout=120)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*refund 7*"])


def test_the_conftest_keeps_every_test_off_the_broker(pytester: pytest.Pytester) -> None:
    """With the docs' conftest, a test that never asks for the fixture sends nothing to the broker."""
    pytester.makeconftest(block("testing-conftest"))
    pytester.makepyfile(inner_settings=DJANGO_SETTINGS, test_broker=BROKER_TESTS)
    result = pytester.runpytest_subprocess(*RUN, timeout=120)
    result.assert_outcomes(passed=2)


def test_without_the_conftest_the_broker_receives_the_message(pytester: pytest.Pytester) -> None:
    """The same tests without the conftest reach the broker: the fixture is what keeps them off it."""
    pytester.makepyfile(inner_settings=DJANGO_SETTINGS, test_broker=BROKER_TESTS)
    result = pytester.runpytest_subprocess(*RUN, timeout=120)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_broker.py::test_zz_nothing_reached_the_broker - assert [Message(*"])


def test_the_settings_keep_django_s_test_runner_off_the_broker(tmp_path: Path) -> None:
    """With the docs' setting, ``manage.py test`` configures a FakeTransport, and messages land in it."""
    (tmp_path / "inner_settings.py").write_text(DJANGO_SETTINGS + block("testing-settings"), encoding="utf-8")
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            """
            from django.test import SimpleTestCase

            from django_event_system import Dispatcher
            from django_event_system.core import current_transport
            from django_event_system.testing import FakeTransport


            @Dispatcher.listen("orders::.*", queued=True)
            def audit(name, *args):
                pass


            class SettingsTests(SimpleTestCase):
                def test_messages_go_to_the_fake(self):
                    transport = current_transport()
                    assert isinstance(transport, FakeTransport)
                    Dispatcher.Dispatch("orders::paid", 7)
                    assert [message.args for message in transport.messages] == [(7,)]
            """
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "DJANGO_SETTINGS_MODULE": "inner_settings"}
    result = run_python(
        "-W", "error", "-m", "django", "test", "test_inner", "-v", "2", cwd=tmp_path, env=env, timeout=120
    )
    assert "test_messages_go_to_the_fake (test_inner.SettingsTests" in result.stderr
    assert result.stderr.rstrip().endswith("OK")
