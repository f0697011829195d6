"""The shape of the code, checked on its syntax trees: which app may import which, and that
every task enqueued by name exists."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
APPS: tuple[str, ...] = (
    "portal",
    "events",
    "clients",
    "channels",
    "webhooks",
    "dialog360",
    "hubsim",
    "console",
)
# The partner API and outbound events, on top of the domain.
APPS = (*APPS, "api", "outbound")
# The rooms on top: they call the domain's services; the domain never imports them.
ROOMS = ("api", "outbound", "console")


def sources(*packages: str) -> Iterator[tuple[Path, ast.Module]]:
    """Every module of `packages` outside tests and migrations, parsed."""
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            yield path, ast.parse(path.read_text(), filename=str(path))


def imported_modules(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in the module, at any depth (function-local too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module


def imports_from(packages: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path, tree in sources(*packages)
        for line, module in imported_modules(tree)
        if module.split(".")[0] in forbidden
    ]


def test_clients_imports_nothing_from_channels_or_webhooks():
    # Linking a client to an onboarding lives above both (channels.linking).
    assert imports_from(("clients",), ("channels", "webhooks")) == []


def test_no_app_below_the_console_imports_it():
    # The console is a room on top: it calls the other apps' services, never the reverse.
    below = ("portal", "events", "clients", "channels", "webhooks", "dialog360", "audit")
    assert imports_from(below, ("console",)) == []


def test_the_domain_imports_none_of_the_rooms_on_top():
    # Events reach the partner's platform through the outbox (events/), which outbound reads.
    assert imports_from(("clients", "channels", "webhooks"), ROOMS) == []


def test_events_sit_below_every_app_that_records_them():
    above = ("clients", "channels", "webhooks", "audit", "hubsim", *ROOMS)
    assert imports_from(("events",), above) == []


def test_channels_imports_nothing_from_webhooks():
    assert imports_from(("channels",), ("webhooks",)) == []


def test_dialog360_imports_no_django_and_none_of_the_apps():
    forbidden = ("django", "rest_framework", "celery", *[a for a in APPS if a != "dialog360"])
    assert imports_from(("dialog360",), forbidden) == []


def enqueued_names() -> list[tuple[str, str]]:
    """(where, task name) for every call of enqueue(...), enqueue_on_commit(...),
    enqueue_item_on_commit(...) and publish(...)."""
    found = []
    for path, tree in sources(*APPS):
        if path == ROOT / "portal" / "queueing.py":
            continue  # the helpers themselves
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name not in ("enqueue", "enqueue_on_commit", "enqueue_item_on_commit", "publish"):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((where, first.value))
            else:
                found.append((where, "<not a literal task name>"))
    return found


def test_every_task_enqueued_by_name_is_registered():
    from portal.celery import app

    app.loader.import_default_modules()
    names = enqueued_names()

    assert len(names) >= 5  # the scan finds the calls at all
    assert [(where, name) for where, name in names if name not in app.tasks] == []


def test_every_scheduled_task_is_registered_and_routed_by_its_app():
    from portal.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
    own = [name for name in app.tasks if not name.startswith("celery.")]
    assert own
    assert [name for name in own if name.split(".")[0] not in APPS] == []


def test_tasks_go_to_the_queue_of_their_kind():
    from portal.celery import app

    app.loader.import_default_modules()
    queues = {
        name: app.amqp.router.route({}, name)["queue"].name  # type: ignore[attr-defined]
        for name in app.tasks
        if not name.startswith("celery.")
    }

    expected = {"channels": "hub", "webhooks": "webhooks", "outbound": "outbound"}
    # The webhook sweep reads the webhooks queue's backlog: it must not wait in it.
    own_queue = {"webhooks.sweep": "default"}
    assert queues == {
        name: own_queue.get(name, expected.get(name.split(".")[0], "default")) for name in queues
    }
    assert {
        "channels.check_onboarding",
        "channels.provision_api_key",
        "channels.provision_api_keys",
        "channels.reconcile_partner",
        "webhooks.process_event",
        "webhooks.process_events",
    } <= set(queues)
