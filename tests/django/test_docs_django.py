"""The docs' Django examples run as written: settings blocks pass the checks, code blocks run.

``myapp.models`` stands for the test app's models, as in the docs (``Example`` with ``name`` and
``status``).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest
from django.test import override_settings

from django_event_system import Event
from django_event_system.django._checks import check_settings
from tests.examples import blocks

from .testapp import models


def first_line(code: str) -> str:
    return next(line for line in code.splitlines() if line and not line.startswith(("from", "import")))[:40]


@pytest.fixture
def myapp() -> Iterator[None]:
    """Make ``from myapp.models import Example`` import the test app's models."""
    sys.modules.update({"myapp": types.ModuleType("myapp"), "myapp.models": models})
    yield
    sys.modules.pop("myapp", None)
    sys.modules.pop("myapp.models", None)


def run(code: str) -> None:
    # A real module, since Event classes are dataclasses, which look their module up.
    module = types.ModuleType("readme_example")
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, "<docs>", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
        stop_holding(module.__dict__)


def stop_holding(namespace: dict[str, object]) -> None:
    """Make the example's after-commit Event classes ordinary: they may outlive it, and must not keep
    ``Dispatcher`` checking every dispatch for the tests that follow."""
    for value in namespace.values():
        if isinstance(value, type) and issubclass(value, Event) and value.after_commit:
            value.after_commit = False


def test_the_docs_have_django_examples() -> None:
    """The markers are still there after an edit."""
    assert len(blocks("django")) >= 4
    assert len(blocks("django-transaction")) == 1
    assert len(blocks("django-settings")) == 1


# What each example prints, by the class that names it: the lines its comments show.
PRINTS: dict[str, list[str]] = {
    "class ExampleObserver": [
        "created first as events::db::tests::django::testapp::models::Example::created",
        "updated renamed",
        "deleted renamed",
    ],
    "class ShipmentObserver": ["created first", "status is now shipped"],
    "class StatusObserver": ["status: draft -> shipped"],
    "class BulkItemObserver": [
        "created ['a', 'b'] keys known: True",
        "bulk updated 2 items: ('count',)",
        "updated 1 rows: ('count',)",
    ],
    "class ArticleObserver": ["news tags added ['blue', 'red'] reverse: False", "news tags cleared 2"],
    "class ParcelObserver": ["shipped parcel", "noted fragile"],
    "class AuditObserver": ["index restored"],
    "class PostObserver": [
        "hello-world",
        "True",
        "'Hello World' is published; unpublish it first",
        "True",
        "created hello-world",
    ],
    "class TitleRequired": ["refused: a post needs a title", "0 []"],
}


@pytest.mark.django_db
@pytest.mark.parametrize("code", blocks("django"), ids=first_line)
def test_django_example_runs(code: str, myapp: None, capsys: pytest.CaptureFixture[str]) -> None:
    """The example runs and prints something (what its comments say)."""
    run(code)
    out = capsys.readouterr().out
    assert out
    for marker, lines in PRINTS.items():
        if marker in code:
            assert out.splitlines() == lines, marker


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("code", blocks("django-transaction"), ids=first_line)
def test_transaction_example_runs(code: str, myapp: None, capsys: pytest.CaptureFixture[str]) -> None:
    """The after-commit example prints what the committed transaction did, and nothing of the rolled-back one."""
    run(code)
    out = capsys.readouterr().out
    assert sorted(out.splitlines()) == ["audit kept", "index kept", "notify kept", "rename files to kept"]


@pytest.mark.parametrize("code", blocks("django-settings"))
def test_settings_example_is_valid(code: str) -> None:
    """The documented values pass the system checks and are the defaults."""
    namespace: dict[str, object] = {}
    exec(code, namespace)
    setting = namespace["DJANGO_EVENT_SYSTEM"]
    with override_settings(DJANGO_EVENT_SYSTEM=setting):
        assert check_settings() == []
    from django_event_system.django._settings import OPTIONS

    assert isinstance(setting, dict)
    for key, value in setting.items():
        assert (tuple(value) if isinstance(value, list) else value) == OPTIONS[key].default, key
