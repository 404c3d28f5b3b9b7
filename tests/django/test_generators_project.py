"""``manage.py events make`` in a project made by ``django-admin startproject``: the stubs pass
``mypy --strict`` (with django-stubs' plugin), pyright (strict) and ruff, and ``manage.py check``
and ``manage.py events list`` see them.

One project per module, made once (a module-scoped fixture); every command has a timeout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests import examples

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
TIMEOUT = 300
CHECKED = ("events.py", "listeners.py", "observers.py")


class Project:
    """A Django project in a temporary folder, with one app, ``shop``, that has a model ``Order``."""

    def __init__(self, root: Path, app: str) -> None:
        self.root = root
        self.app = app
        self.env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.env.pop("PYTHONPATH", None)

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            command, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
        if check and result.returncode != 0:
            pytest.fail(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "manage.py", *args, check=check)

    def files(self) -> list[str]:
        return [f"{self.app}/{name}" for name in CHECKED if (self.root / self.app / name).exists()]

    def check_types_and_style(self) -> None:
        """mypy --strict, pyright --strict and ruff (lint and format) over the generated modules."""
        files = self.files()
        self.run(sys.executable, "-m", "mypy", *files)
        (self.root / "pyrightconfig.json").write_text(
            json.dumps({"include": files, "typeCheckingMode": "strict", "pythonVersion": "3.11"})
        )
        self.run(str(BIN / "pyright"))
        self.run(sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,I,UP,B", *files)
        self.run(sys.executable, "-m", "ruff", "format", "--isolated", "--check", *files)


def make_project(root: Path, app: str) -> Project:
    project = Project(root, app)
    project.run(sys.executable, "-m", "django", "startproject", "proj", ".")
    project.manage("startapp", app)
    settings = root / "proj" / "settings.py"
    settings.write_text(settings.read_text() + f'\nINSTALLED_APPS += ["django_event_system", "{app}"]\n')
    (root / app / "models.py").write_text(
        textwrap.dedent(
            '''\
            """The shop's models."""

            from django.db import models


            class Order(models.Model):
                reference = models.CharField(max_length=20)
            '''
        )
    )
    (root / "mypy.ini").write_text(
        textwrap.dedent(
            """\
            [mypy]
            strict = True
            plugins = mypy_django_plugin.main

            [mypy.plugins.django-stubs]
            django_settings_module = proj.settings

            # startproject's settings (ALLOWED_HOSTS = []) are not strict; the app's modules are.
            [mypy-proj.*]
            ignore_errors = True
            """
        )
    )
    return project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return make_project(tmp_path_factory.mktemp("project"), "shop")


def test_event_listener_and_observer_stubs_pass_the_checkers_and_are_seen(project: Project) -> None:
    """Each generator writes its stub into the discovered module (created), typed and clean."""
    made = project.manage("events", "make", "event", "OrderPlaced", "--app", "shop").stdout
    # Created, unless the refusal's test ran first and made the module.
    assert re.search(r"^OrderPlaced: (created|added to) shop/events\.py \(shop\.events\)$", made, re.MULTILINE), made
    project.manage("events", "make", "listener", "SendReceipt", "--app", "shop", "--event", "OrderPlaced")
    project.manage("events", "make", "listener", "AuditShop", "--app", "shop")
    project.manage(
        "events", "make", "observer", "OrderObserver", "--app", "shop", "--model", "Order",
        "--actions", "created,updated,bulk_created,m2m_added",
    )  # fmt: skip
    events = (project.root / "shop" / "events.py").read_text()
    assert 'class OrderPlaced(Event):\n    """Dispatched when' in events
    assert 'Name = "shop::order_placed"' in events
    listeners = (project.root / "shop" / "listeners.py").read_text()
    assert "from django_event_system import EventListener\n\nfrom .events import OrderPlaced\n" in listeners
    assert "    listensFor = [OrderPlaced]\n\n    def handle(self, event: OrderPlaced) -> None:" in listeners
    assert 'listensFor = ["shop::.*"]' in listeners
    observers = (project.root / "shop" / "observers.py").read_text()
    assert (
        "from django_event_system import BulkCreated, M2MChanged, Observer\n\nfrom .models import Order\n" in observers
    )
    assert "class OrderObserver(Observer[Order]):" in observers
    assert "def bulk_created(self, event_name: str, created: BulkCreated[Order]) -> None:" in observers

    project.check_types_and_style()
    project.manage("check")
    listing = project.manage("events", "list").stdout
    assert "shop.listeners:SendReceipt.handle" in listing
    assert "shop.listeners:AuditShop.handle" in listing
    assert "shop.observers:OrderObserver.created" in listing
    assert "shop.observers:OrderObserver.bulk_created" in listing
    assert "shop.Order  events::db::shop::models::Order::<action>  (shop.observers:OrderObserver)" in listing
    matched = project.manage("events", "match", "shop::order_placed").stdout
    assert "shop.listeners:SendReceipt.handle" in matched


def test_a_name_that_exists_is_never_overwritten(project: Project) -> None:
    """Making a name the module already defines is refused, and the file stays as it was."""
    project.manage("events", "make", "event", "OrderCancelled", "--app", "shop")
    path = project.root / "shop" / "events.py"
    before = path.read_text()
    again = project.manage("events", "make", "event", "OrderCancelled", "--app", "shop", check=False)
    assert again.returncode == 1
    assert f"CommandError: {path} already defines 'OrderCancelled': nothing was written; choose another name" in (
        again.stderr
    )
    assert path.read_text() == before


@pytest.fixture(scope="module")
def billing(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return make_project(tmp_path_factory.mktemp("subscribers"), "billing")


def test_subscriber_stubs_pass_the_checkers_and_are_seen(billing: Project) -> None:
    """``make subscriber``: an ``EventSubscriber`` whose methods are decorated ``@on(...)``, for an
    Event class and for a pattern."""
    billing.manage("events", "make", "event", "InvoiceIssued", "--app", "billing")
    billing.manage("events", "make", "subscriber", "Invoicing", "--app", "billing", "--event", "InvoiceIssued")
    billing.manage("events", "make", "subscriber", "BillingAudit", "--app", "billing")
    listeners = (billing.root / "billing" / "listeners.py").read_text()
    assert "from django_event_system import EventSubscriber, on\n\nfrom .events import InvoiceIssued\n" in listeners
    assert (
        "class Invoicing(EventSubscriber):\n"
        '    """Handles InvoiceIssued."""\n\n'
        "    @on(InvoiceIssued)\n"
        "    def invoice_issued(self, event: InvoiceIssued) -> None:\n"
    ) in listeners
    assert '    @on("billing::.*")\n    def handle(self, name: str, *args: object) -> None:\n' in listeners

    billing.check_types_and_style()
    billing.manage("check")
    listing = billing.manage("events", "list").stdout
    assert "billing.listeners:Invoicing.invoice_issued" in listing
    assert "billing.listeners:BillingAudit.handle" in listing


def test_the_readme_session_writes_what_the_readme_shows(tmp_path: Path) -> None:
    """The docs' ``events make`` session, run in a new project, prints what it shows and writes
    the files it shows."""
    text = examples.text()
    session = re.search(r"<!-- test: events-make -->\n```console\n(.*?)```", text, re.DOTALL)
    assert session, "the docs' events make session is gone"
    files = re.findall(r"<!-- test: events-make-file (\S+) -->\n```python\n(.*?)```", text, re.DOTALL)
    assert [name for name, _ in files] == ["shop/events.py", "shop/listeners.py", "shop/observers.py"]
    project = make_project(tmp_path, "shop")
    lines = session.group(1).splitlines()
    commands = [(position, line) for position, line in enumerate(lines) if line.startswith("$ python manage.py ")]
    for position, line in commands:
        expected = lines[position + 1]
        result = project.manage(*line.removeprefix("$ python manage.py ").split(), check=False)
        if expected.startswith("CommandError: "):
            assert result.returncode == 1
            assert expected in result.stderr
        else:
            assert result.stdout.strip() == expected, result.stderr
    for name, content in files:
        assert (tmp_path / name).read_text() == content, name
