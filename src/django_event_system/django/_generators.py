"""``manage.py events make``: typed stubs of events, listeners, observers and subscribers.

Each stub goes into the app's module that autodiscovery imports (``events``, ``listeners``,
``observers``), created if missing. Every input is checked before a file is touched: the app, the
name (a class name that the module does not define or import yet), the model, the Event class
and the actions; a mistake is refused with what to do instead.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from django.apps import AppConfig, apps
from django.core.management.base import CommandError
from django.db.models import Model

from ..core import Event
from ._models import ACTIONS

__all__ = ["KINDS", "Generated", "Kind", "generate"]

Kind = Literal["event", "listener", "observer", "subscriber"]
KINDS: tuple[Kind, ...] = ("event", "listener", "observer", "subscriber")
MODULES: dict[Kind, str] = {
    "event": "events",
    "listener": "listeners",
    "subscriber": "listeners",
    "observer": "observers",
}
_BY_NAME: dict[str, Kind] = {kind: kind for kind in KINDS}
DEFAULT_ACTIONS = ("created", "updated", "deleted")
_PAYLOADS = {
    "bulk_created": ("BulkCreated", "created"),
    "bulk_updated": ("BulkUpdated", "updated"),
    "queryset_updated": ("QuerysetUpdated", "updated"),
    "m2m_added": ("M2MChanged", "change"),
    "m2m_removed": ("M2MChanged", "change"),
    "m2m_cleared": ("M2MChanged", "change"),
}
_DESCRIBED = {
    "event": "Events",
    "listener": "Listeners",
    "subscriber": "Listeners",
    "observer": "Observers",
}


@dataclass(frozen=True)
class Generated:
    """What ``events make`` wrote."""

    path: Path
    """The module's file."""
    module: str
    """The module's dotted name."""
    name: str
    """The class written there."""
    created: bool
    """Whether the module was created."""


def _did_you_mean(value: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {choice.lower(): choice for choice in choices}
        close = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[found] for found in close]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _app(label: str) -> AppConfig:
    configs = list(apps.get_app_configs())
    for config in configs:
        if config.label == label or config.name == label:
            return config
    labels = sorted(config.label for config in configs)
    raise CommandError(
        f"no installed app is labelled {label!r}{_did_you_mean(label, labels)}; give --app one of: {', '.join(labels)}"
    )


def _class_name(kind: Kind, name: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name) or not name[0].isupper() or name.startswith("_"):
        suggestion = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", name) if part)
        hint = f" (like {suggestion!r})" if suggestion.isidentifier() and not keyword.iskeyword(suggestion) else ""
        raise CommandError(
            f"the {kind}'s name must be a class name in CamelCase, a Python identifier starting with a capital "
            f"letter{hint}, not {name!r}"
        )
    return name


def _model(app: AppConfig, given: str | None, kind: Kind) -> type[Model]:
    if given is None:
        names = sorted(model.__name__ for model in app.get_models())
        choices = f"one of the app's models: {', '.join(names)}" if names else "a model (the app has none yet)"
        raise CommandError(f"an observer needs --model, {choices}")
    if kind != "observer":
        raise CommandError(f"--model is for observers; {_a(kind)} does not take it")
    label, dot, model_name = given.rpartition(".")
    owner = _app(label) if dot else app
    models = {model.__name__: model for model in owner.get_models()}
    for candidate_name, candidate in models.items():
        if candidate_name.lower() == model_name.lower():
            return candidate
    raise CommandError(
        f"app {owner.label!r} has no model {model_name!r}{_did_you_mean(model_name, sorted(models))}; "
        f"its models: {', '.join(sorted(models)) or '(none)'}"
    )


def _actions(given: str | None, kind: Kind) -> tuple[str, ...]:
    if given is None:
        return DEFAULT_ACTIONS
    if kind != "observer":
        raise CommandError(f"--actions is for observers; {_a(kind)} does not take it")
    actions = tuple(dict.fromkeys(action.strip() for action in given.split(",") if action.strip()))
    if not actions:
        raise CommandError(f"--actions lists no action: give some of {', '.join(ACTIONS)}, separated by commas")
    for action in actions:
        if action not in ACTIONS:
            raise CommandError(
                f"unknown action {action!r}{_did_you_mean(action, ACTIONS)}; the actions are: {', '.join(ACTIONS)}"
            )
    return actions


def _event_class(app: AppConfig, given: str | None, kind: Kind) -> type[Event] | None:
    if given is None:
        return None
    if kind not in ("listener", "subscriber"):
        raise CommandError(f"--event is for listeners and subscribers; {_a(kind)} does not take it")
    module_name, dot, class_name = given.rpartition(".")
    module_name = module_name if dot else f"{app.name}.events"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CommandError(
            f"--event {given!r}: cannot import {module_name!r} ({exc}); make the event first "
            f"(events make event {class_name} --app {app.label}) or give its dotted path, "
            "like 'shop.events.OrderPlaced'"
        ) from exc
    found = getattr(module, class_name, None)
    if isinstance(found, type) and issubclass(found, Event) and found is not Event:
        return found
    events = sorted(
        name
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, Event)
        and value is not Event
        and value.__module__ == module_name
    )
    raise CommandError(
        f"{module_name} has no Event class {class_name!r}{_did_you_mean(class_name, events)}; "
        f"its Event classes: {', '.join(events) or '(none)'}"
    )


def _import_of(cls: type[object], module: str) -> tuple[str, str]:
    """``(from_module, name)`` to import ``cls`` into ``module`` (relative within one package)."""
    package = module.rpartition(".")[0]
    origin = cls.__module__
    if origin.rpartition(".")[0] == package:
        return "." + origin.rpartition(".")[2], cls.__name__
    return origin, cls.__name__


def _stub(
    kind: Kind,
    name: str,
    app: AppConfig,
    model: type[Model] | None,
    actions: tuple[str, ...],
    event: type[Event] | None,
    module: str,
) -> tuple[str, list[tuple[str, str]]]:
    """The class's source and the imports it needs."""
    imports: list[tuple[str, str]] = []
    if kind == "event":
        imports.append(("django_event_system", "Event"))
        source = (
            f"class {name}(Event):\n"
            f'    """Dispatched when ... (say when, and what its fields hold)."""\n'
            f"\n"
            f'    Name = "{app.label}::{_snake(name)}"\n'
        )
    elif kind == "listener":
        imports.append(("django_event_system", "EventListener"))
        if event is not None:
            imports.append(_import_of(event, module))
            source = (
                f"class {name}(EventListener):\n"
                f'    """Handles {event.__name__}."""\n'
                f"\n"
                f"    listensFor = [{event.__name__}]\n"
                f"\n"
                f"    def handle(self, event: {event.__name__}) -> None:\n"
                f'        """Called with each {event.__name__} dispatched."""\n'
            )
        else:
            source = (
                f"class {name}(EventListener):\n"
                f'    """Handles the events of the {app.label} app."""\n'
                f"\n"
                f'    listensFor = ["{app.label}::.*"]\n'
                f"\n"
                f"    def handle(self, name: str, *args: object, **kwargs: object) -> None:\n"
                f'        """Called with each event whose name matches a pattern."""\n'
            )
    elif kind == "subscriber":
        imports.extend([("django_event_system", "EventSubscriber"), ("django_event_system", "on")])
        if event is not None:
            imports.append(_import_of(event, module))
            source = (
                f"class {name}(EventSubscriber):\n"
                f'    """Handles {event.__name__}."""\n'
                f"\n"
                f"    @on({event.__name__})\n"
                f"    def {_snake(event.__name__)}(self, event: {event.__name__}) -> None:\n"
                f'        """Called with each {event.__name__} dispatched."""\n'
            )
        else:
            source = (
                f"class {name}(EventSubscriber):\n"
                f'    """Handles the events of the {app.label} app."""\n'
                f"\n"
                f'    @on("{app.label}::.*")\n'
                f"    def handle(self, name: str, *args: object) -> None:\n"
                f'        """Called with each event whose name matches the pattern."""\n'
            )
    else:
        assert model is not None
        model_name = model.__name__
        imports.extend([("django_event_system", "Observer"), _import_of(model, module)])
        methods: list[str] = []
        for action in actions:
            payload = _PAYLOADS.get(action)
            if payload is None:
                parameter = f"instance: {model_name}"
            else:
                imports.append(("django_event_system", payload[0]))
                parameter = f"{payload[1]}: {payload[0]}[{model_name}]"
            methods.append(
                f"    def {action}(self, event_name: str, {parameter}) -> None:\n"
                f'        """Called for {model_name}\'s {action} events."""\n'
            )
        source = (
            f"class {name}(Observer[{model_name}]):\n"
            f'    """Handles the model events of {model_name}."""\n'
            f"\n"
            f"    observes = {model_name}\n"
            f"\n" + "\n".join(methods)
        )
    return source, imports


def _defined_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _imported(tree: ast.Module) -> dict[tuple[str, str], str]:
    """``(from_module, name) -> bound name`` of the module's top-level ``from`` imports."""
    found: dict[tuple[str, str], str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            source = "." * node.level + (node.module or "")
            for alias in node.names:
                found[(source, alias.name)] = alias.asname or alias.name
    return found


def _type_order(name: str) -> tuple[int, str]:
    """isort's ``order-by-type``: CONSTANTS, then Classes, then the rest."""
    if name.isupper() and len(name) > 1:
        return 0, name
    return (1, name) if name[:1].isupper() else (2, name)


def _import_line(source: str, names: Sequence[str]) -> str:
    return f"from {source} import {', '.join(sorted(names, key=_type_order))}"


def _section(source: str) -> int:
    if source == "__future__":
        return 0
    return 2 if source.startswith(".") else 1


def _source_of(node: ast.Import | ast.ImportFrom) -> str:
    if isinstance(node, ast.Import):
        return node.names[0].name
    return "." * node.level + (node.module or "")


def _position(node: ast.Import | ast.ImportFrom) -> tuple[int, int, str]:
    """Where isort puts an import: by section, ``import x`` before ``from x import y``, by module."""
    source = _source_of(node)
    return _section(source), 0 if isinstance(node, ast.Import) else 1, source.lower()


def _add_imports(text: str, needed: list[tuple[str, str]]) -> str:
    """Add the ``from`` imports that ``text`` lacks: into an import of the same module that fits
    on one line, else as a new line where isort's order puts it."""
    tree = ast.parse(text)
    present = _imported(tree)
    missing: dict[str, list[str]] = {}
    for source, name in needed:
        if (source, name) not in present and name not in missing.get(source, []):
            missing.setdefault(source, []).append(name)
    if not missing:
        return text
    source, names = next(iter(missing.items()))
    lines = text.splitlines(keepends=True)
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    same = next(
        (
            node
            for node in imports
            if isinstance(node, ast.ImportFrom)
            and _source_of(node) == source
            and node.end_lineno == node.lineno
            and all(alias.asname is None for alias in node.names)
        ),
        None,
    )
    merged = None if same is None else _import_line(source, [*(alias.name for alias in same.names), *names])
    if same is not None and merged is not None and len(merged) <= 88:
        lines[same.lineno - 1] = merged + "\n"
    else:
        line = _import_line(source, names) + "\n"
        position = (_section(source), 1, source.lower())
        in_section = [node for node in imports if _position(node)[0] == position[0]]
        if in_section:
            before = [node for node in in_section if _position(node) < position]
            if before:
                lines.insert(before[-1].end_lineno or before[-1].lineno, line)
            else:
                lines.insert(in_section[0].lineno - 1, line)
        else:
            earlier = [node for node in imports if _position(node)[0] < position[0]]
            later = [node for node in imports if _position(node)[0] > position[0]]
            anchor = (earlier[-1].end_lineno or earlier[-1].lineno) if earlier else _after_docstring(tree)
            prefix = "\n" if anchor else ""
            suffix = "\n" if later else ""
            lines.insert(anchor, prefix + line + suffix)
    # The line numbers moved: parse again for the next module.
    return _add_imports("".join(lines), needed)


def _after_docstring(tree: ast.Module) -> int:
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        return body[0].end_lineno or 1
    return 0


def _module_file(app: AppConfig, module: str) -> Path:
    base = Path(app.path)
    package = base / module / "__init__.py"
    return package if package.exists() else base / f"{module}.py"


def generate(
    kind: str,
    name: str,
    *,
    app_label: str,
    model: str | None = None,
    event: str | None = None,
    actions: str | None = None,
) -> Generated:
    """Write the stub of a ``kind`` named ``name`` into the app's module; see the module docstring.

    :raises CommandError: what was given cannot be generated (the message says why and what to do).
    """
    checked = _BY_NAME.get(kind)
    if checked is None:
        raise CommandError(f"cannot make {kind!r}{_did_you_mean(kind, KINDS)}; give one of: {', '.join(KINDS)}")
    app = _app(app_label)
    class_name = _class_name(checked, name)
    found_model = _model(app, model, checked) if checked == "observer" or model is not None else None
    found_actions = _actions(actions, checked)
    found_event = _event_class(app, event, checked)
    module = f"{app.name}.{MODULES[checked]}"
    path = _module_file(app, MODULES[checked])
    source, imports = _stub(checked, class_name, app, found_model, found_actions, found_event, module)
    created = not path.exists()
    if created:
        text = f'"""{_DESCRIBED[checked]} of the {app.label} app."""\n\nfrom __future__ import annotations\n'
    else:
        text = path.read_text()
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise CommandError(f"{path} does not parse ({exc}); fix it, then make the {kind} again") from exc
    defined = _defined_names(tree)
    if class_name in defined:
        raise CommandError(f"{path} already defines {class_name!r}: nothing was written; choose another name")
    clashing = sorted({bound for _, bound in imports} & {class_name})
    if clashing:
        raise CommandError(f"the name {class_name!r} is one the stub imports: choose another name")
    text = _add_imports(text, imports)
    text = text.rstrip("\n") + "\n\n\n" + source
    path.write_text(text)
    return Generated(path, module, class_name, created)
