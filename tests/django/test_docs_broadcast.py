"""The docs' broadcasting examples (``<!-- test: django-channels -->``) run as written and print what they say."""

from __future__ import annotations

import pytest

from tests.examples import blocks

from .test_docs_django import first_line, myapp, run  # noqa: F401 - myapp, the fixture


def test_the_docs_have_broadcasting_examples() -> None:
    """The markers are still there after an edit."""
    assert len(blocks("django-channels")) == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("myapp")
@pytest.mark.parametrize("code", blocks("django-channels"), ids=first_line)
def test_broadcasting_example_runs(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each example runs; the first prints the broadcasts its comments show, after the commit only."""
    run(code)
    out = capsys.readouterr().out
    if "record_broadcasts" in code:
        shown = [line.removeprefix("# ") for line in code.splitlines() if line.startswith("# ") and "{" in line]
        assert out.splitlines() == shown
        assert len(shown) == 3
    else:
        assert out == "routed ShopConsumer\n"
