"""The docs' Django examples that are not a plain block of code to run: settings fragments, a view,
a models module, a Celery module, logging, a Django ``TestCase``, the outbox's listeners and the
serving guide's ``serve.py``. Each runs as written (a settings block is executed and checked)."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import socket
import subprocess
import sys
import time
import types
import unittest
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import RequestFactory, override_settings

from django_event_system import Observer
from django_event_system.django._checks import check_settings
from django_event_system.django._queued import queued_problems
from tests.examples import ROOT, block, blocks
from tests.scripts import run_python

from .test_docs_django import myapp  # noqa: F401 - the fixture

pytest_plugins = ["pytester"]


def namespace_of(code: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(code, "<docs>", "exec"), namespace)
    return namespace


def test_every_installed_apps_block_names_the_app() -> None:
    """Each ``INSTALLED_APPS`` fragment of the docs is valid Python that adds the app, as the test
    settings do."""
    found = blocks("installed-apps")
    assert len(found) >= 2
    for code in found:
        apps = namespace_of(code)["INSTALLED_APPS"]
        assert apps == ["django_event_system"]
        assert "django_event_system" in settings.INSTALLED_APPS


@pytest.mark.parametrize("code", blocks("queued-settings"), ids=lambda code: code.strip().splitlines()[0][:40])
def test_queued_settings_blocks_pass_the_checks(code: str) -> None:
    """The Celery, Tasks and outbox settings of the how-to guides have no bad key or value (E020)."""
    namespace = namespace_of(code)
    setting = namespace["DJANGO_EVENT_SYSTEM"]
    assert isinstance(setting, dict)
    assert queued_problems(setting["QUEUED"]) == []
    with override_settings(DJANGO_EVENT_SYSTEM={key: value for key, value in setting.items() if key != "QUEUED"}):
        assert check_settings() == []
    if "TASKS" in namespace:
        tasks = namespace["TASKS"]
        assert isinstance(tasks, dict)
        assert tasks["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def test_a_bad_queued_setting_fails_the_same_check() -> None:
    """The check the blocks pass is a real one: a misspelt key in the same block fails it."""
    code = blocks("queued-settings")[0].replace('"TRANSPORT"', '"TRANSPROT"')
    problems = queued_problems(namespace_of(code)["DJANGO_EVENT_SYSTEM"]["QUEUED"])  # type: ignore[index]
    assert problems
    assert "unknown keys ['TRANSPROT']" in problems[0]


def test_the_celery_module_builds_its_app() -> None:
    """``proj/celery.py`` of the Celery guide makes a Celery app with the options the guide explains."""
    pytest.importorskip("celery")
    namespace = namespace_of(block("celery-app"))
    app = namespace["app"]
    assert app.main == "proj"  # type: ignore[attr-defined]
    assert app.conf.worker_prefetch_multiplier == 1  # type: ignore[attr-defined]
    assert app.conf.broker_transport_options == {"visibility_timeout": 3600}  # type: ignore[attr-defined]


@pytest.mark.django_db
@pytest.mark.usefixtures("myapp")
def test_the_stats_view_answers_staff_with_the_queue_stats() -> None:
    """The staff view of the configuration guide returns ``Dispatcher.stats().as_dict()``, to staff only."""
    view = namespace_of(block("django-view"))["event_queue_stats"]
    request = RequestFactory().get("/stats/")
    request.user = User.objects.create(username="staff", is_staff=True)
    response = view(request)  # type: ignore[operator]
    assert response.status_code == 200
    stats = json.loads(response.content)
    assert {"pending", "handled", "failed"} <= set(stats)


@pytest.fixture
def logging_restored() -> Iterator[None]:
    loggers = {
        name: (logger.disabled, logger.handlers[:], logger.level, logger.propagate)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    for name, (disabled, handlers, level, propagate) in loggers.items():
        logger = logging.getLogger(name)
        logger.disabled, logger.handlers[:], logger.propagate = disabled, handlers, propagate
        logger.setLevel(level)


@pytest.mark.usefixtures("logging_restored")
def test_the_logging_block_keeps_the_servers_loggers() -> None:
    """With the guide's LOGGING, a logger that a server made before Django configured logging
    (uvicorn's) still logs, and the package's logger reaches the console handler."""
    server_logger = logging.getLogger("uvicorn.error")
    server_logger.disabled = False
    logging.config.dictConfig(namespace_of(block("logging"))["LOGGING"])  # type: ignore[arg-type]
    assert not server_logger.disabled
    package_logger = logging.getLogger("django_event_system")
    assert package_logger.level == logging.INFO
    assert [type(handler) for handler in package_logger.handlers] == [logging.StreamHandler]


@pytest.mark.usefixtures("logging_restored")
def test_without_disable_existing_loggers_the_server_logger_goes_silent() -> None:
    """The key the guide insists on is what keeps it: without it the same setting disables uvicorn's logger."""
    server_logger = logging.getLogger("uvicorn.error")
    server_logger.disabled = False
    code = block("logging").replace('    "disable_existing_loggers": False,', "")
    assert "disable_existing_loggers" not in code.split("#")[0]
    logging.config.dictConfig(namespace_of(code)["LOGGING"])  # type: ignore[arg-type]
    assert server_logger.disabled


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("myapp")
def test_the_testcase_example_passes() -> None:
    """The testing guide's ``TestCase`` with the after-commit ``Indexer`` passes both its tests."""
    module = types.ModuleType("docs_testcase_example")
    sys.modules[module.__name__] = module
    try:
        exec(compile(block("testing-testcase"), "<docs>", "exec"), module.__dict__)
        result = unittest.TestResult()
        unittest.defaultTestLoader.loadTestsFromTestCase(module.__dict__["ExampleTests"]).run(result)
    finally:
        del sys.modules[module.__name__]
        for value in module.__dict__.values():
            if isinstance(value, type) and issubclass(value, Observer) and value is not Observer:
                value.unregister()
    assert result.testsRun == 2
    assert result.failures == []
    assert result.errors == []


OUTBOX_TEST = """

import pytest
from django.db import transaction

from django_event_system.models import OutboxMessage


@pytest.mark.django_db(transaction=True)
def test_both_listeners_write_an_outbox_row():
    with transaction.atomic():
        OrderPlaced.Dispatch(order_id=7)
    assert sorted(OutboxMessage.objects.values_list("handler", flat=True)) == [
        "test_example:SendInvoice",
        "test_example:charge_card",
    ]
"""


def test_the_outbox_listeners_write_their_rows(pytester: pytest.Pytester) -> None:
    """The outbox guide's two listeners, as written, each put a row in the outbox at dispatch."""
    from tests.testing.test_transport import DJANGO_SETTINGS

    pytester.makepyfile(inner_settings=DJANGO_SETTINGS, test_example=block("outbox-listeners") + OUTBOX_TEST)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "--ds=inner_settings", "-W", "error", timeout=120)
    result.assert_outcomes(passed=1)


def test_the_models_module_runs_the_bulk_and_many_to_many_examples(tmp_path: Path) -> None:
    """The bulk guide's ``myapp/models.py``, as written, in a project of its own: the guide's bulk
    and many-to-many examples print what they say against it."""
    app = tmp_path / "myapp"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "models.py").write_text(block("models-file myapp/models.py"), encoding="utf-8")
    examples = [code for code in blocks("django") if "BulkItemObserver" in code or "ArticleObserver" in code]
    assert len(examples) == 2
    script = "\n".join(
        [
            "import django",
            "from django.conf import settings",
            "settings.configure(INSTALLED_APPS=['django.contrib.contenttypes', 'django_event_system', 'myapp'],",
            "    DATABASES={'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}},",
            "    DEFAULT_AUTO_FIELD='django.db.models.AutoField')",
            "django.setup()",
            "from django.core.management import call_command",
            "call_command('migrate', run_syncdb=True, verbosity=0)",
            *(
                f"exec(compile({code!r}, 'example', 'exec'), {{'__name__': 'example{number}'}})"
                for number, code in enumerate(examples)
            ),
        ]
    )
    output = run_python("-W", "error", "-c", script, cwd=tmp_path, timeout=120).stdout
    assert output.splitlines() == [
        "created ['a', 'b'] keys known: True",
        "bulk updated 2 items: ('count',)",
        "updated 1 rows: ('count',)",
        "news tags added ['blue', 'red'] reverse: False",
        "news tags cleared 2",
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_serve_script_serves_the_demo(tmp_path: Path) -> None:
    """The serving guide's ``serve.py``, as written but for its port, serves the demo shop: an order's
    response comes before its slow mail handler has run, and the handler runs in the server after it."""
    code = block("serve-script")
    assert '("127.0.0.1", 8000)' in code
    port = _free_port()
    script = tmp_path / "serve.py"
    script.write_text(code.replace("8000", str(port)), encoding="utf-8")
    project = ROOT / "examples" / "demo_project"
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(PYTHONPATH=str(project), DEMO_DATABASE=str(tmp_path / "demo.sqlite3"), PYTHONUNBUFFERED="1")
    run_python("manage.py", "migrate", "--verbosity", "0", cwd=project, env=env, timeout=120)
    log = tmp_path / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(  # stopped below by its own pid, however the test ends
            [sys.executable, str(script)], cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        order = None
        deadline = time.monotonic() + 30
        while order is None and time.monotonic() < deadline and server.poll() is None:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/orders/", data=b'{"item": "pen", "quantity": 3}', method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    order = json.loads(response.read())
            except urllib.error.URLError:
                time.sleep(0.1)
        assert server.poll() is None, log.read_text()
        assert order == {"order": 1, "item": "pen", "quantity": 3, "status": "placed", "confirmation_sent": False}
        sent = "confirmation of order #1 sent"
        deadline = time.monotonic() + 30
        while sent not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sent in log.read_text(), log.read_text()
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.mark.django_db
def test_the_listeners_module_maps_the_signal() -> None:
    """The signals guide's ``listeners`` module, imported, turns ``user_logged_in`` into its event."""
    from django.contrib.auth.signals import user_logged_in

    from django_event_system import SignalToEvent
    from django_event_system.testing import record_events

    namespace_of(block("signals-in-ready"))
    try:
        with record_events() as events:
            user = User.objects.create(username="ada")
            user_logged_in.send(sender=User, request=None, user=user)
        [record] = events.assert_dispatched("auth::logged_in", times=1)
        assert record.kwargs["user"] == user
    finally:
        SignalToEvent(user_logged_in, event="auth::logged_in").disconnect()
