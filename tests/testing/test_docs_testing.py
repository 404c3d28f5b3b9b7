"""The docs' testing guide runs as written, and its sample failure message is the real one."""

from __future__ import annotations

import sys
import types
import unittest
from pathlib import Path

import pytest

from django_event_system import Dispatcher, Event
from tests.examples import block
from tests.scripts import run_python, write_script

pytest_plugins = ["pytester"]


def test_unittest_example_passes(tmp_path: Path) -> None:
    """The unittest example runs as a script, and its one test passes."""
    script = write_script(block("testing-unittest"), tmp_path, "example.py")
    result = run_python("-W", "error", str(script))
    assert "Ran 1 test" in result.stderr
    assert result.stderr.rstrip().endswith("OK")


def test_unittest_example_fails_without_the_event(tmp_path: Path) -> None:
    """The unittest example fails when the code under test stops dispatching an expected event."""
    code = block("testing-unittest").replace('    Dispatcher.Dispatch("mail::receipt::queued", order_id)\n', "")
    result = run_python(str(write_script(code, tmp_path, "example.py")), returncode=1)
    assert "AssertionError: 1 expected event was not dispatched:\n  - 'mail::receipt::queued'\n" in result.stderr


def test_pytest_example_passes(pytester: pytest.Pytester) -> None:
    """The pytest example passes under pytest, with the plugin's fixture."""
    pytester.makepyfile(test_example=block("testing-pytest"))
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:django", "-W", "error")
    result.assert_outcomes(passed=4)


@pytest.mark.django_db(transaction=True)
def test_after_commit_example_runs() -> None:
    """The after-commit testing example passes its own assertions against real commits and rollbacks."""
    module = types.ModuleType("readme_after_commit")
    sys.modules[module.__name__] = module  # Event classes are dataclasses, which look their module up
    try:
        exec(compile(block("testing-django"), "<docs>", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
        order_paid: type[Event] = module.__dict__["OrderPaid"]
        order_paid.after_commit = False  # it may outlive the test: Dispatcher must not stay gated


def test_sample_failure_message_is_what_the_library_says() -> None:
    """The failure message shown in the testing guide is the one a test gets in that situation."""
    sample = block("testing-failure", fence="text").rstrip()
    assert sample.startswith("AssertionError: 2 expected events were not dispatched:")

    class OrderPlaced(Event):
        Name = "shop::events::OrderPlaced"

    class OrderShipped(Event):
        Name = "shop::events::OrderShipped"

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.Expect("mail::receipt::queued")
            Dispatcher.Expect(OrderShipped)
            OrderPlaced.Dispatch()
            Dispatcher.Dispatch("mail::reciept::queued")

    result = unittest.TestResult()
    Case("test_it").run(result)
    assert len(result.failures) == 1
    assert result.failures[0][1].rstrip().endswith(sample)
