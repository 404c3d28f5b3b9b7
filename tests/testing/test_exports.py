"""The public face of ``django_event_system.testing``: a sorted, complete ``__all__`` and no Django needed."""

from __future__ import annotations

import inspect
import textwrap

import django_event_system.testing as testing
from tests.scripts import run_python


def test_all_is_sorted() -> None:
    """``__all__`` is sorted, so that additions land in one obvious place."""
    assert testing.__all__ == sorted(testing.__all__)


def test_all_lists_every_public_name() -> None:
    """Every public name of the package is in ``__all__``, and every name in it exists."""
    public = {
        name
        for name, value in vars(testing).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public == set(testing.__all__)


def test_helpers_work_without_django() -> None:
    """With Django not importable, the recorder, the fakes, MocksDispatch and the fake transport all work."""
    code = textwrap.dedent(
        """
        import sys

        class NoDjango:
            def find_spec(self, name, path=None, target=None):
                if name == "django" or name.startswith("django."):
                    raise ImportError("django is not installed here")
                return None

        sys.meta_path.insert(0, NoDjango())

        from django_event_system.core import Dispatcher, Outcome
        from django_event_system.testing import fake, fake_transport, muted, record_events

        with record_events() as events, fake("faked"):
            Dispatcher.Dispatch("kept")
            Dispatcher.Dispatch("faked")
        assert [(r.name, r.delivered) for r in events] == [("kept", True), ("faked", False)]
        with muted() as silent:
            Dispatcher.Dispatch("muted")
        silent.assert_dispatched("muted", times=1)

        @Dispatcher.MocksDispatch
        def mocked():
            Dispatcher.Expect("x")

        try:
            mocked()
        except AssertionError as error:
            assert "'x'" in str(error)
        else:
            raise SystemExit("the missing expectation was not reported")

        seen = []

        def audit(name, *args):
            seen.append(args)

        Dispatcher.RegisterHandler("orders::.*", audit, queued=True)
        with fake_transport() as queued:
            Dispatcher.Dispatch("orders::paid", 7)
            [message] = queued.messages
            assert (message.handler, message.args) == ("__main__:audit", (7,))
            assert [result.outcome for result in queued.run()] == [Outcome.DONE]
        assert seen == [(7,)]
        assert not any(name == "django" or name.startswith("django.") for name in sys.modules)
        print("ok")
        """
    )
    assert run_python("-c", code).stdout.strip() == "ok"
