"""The Celery application. Configuration comes from Django settings (`CELERY_*`)."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_embedded_broker_folders(sender: Celery, **kwargs: object) -> None:
    """The embedded file-system broker and result store expect their folders to exist."""
    if not str(sender.conf.broker_url).startswith("filesystem://"):
        return
    options = sender.conf.broker_transport_options
    folders = [options["data_folder_in"], options["data_folder_out"], options["control_folder"]]
    backend = str(sender.conf.result_backend or "")
    if backend.startswith("file://"):
        folders.append(backend.removeprefix("file://"))
    for folder in folders:
        Path(folder).mkdir(parents=True, exist_ok=True)


@worker_init.connect
def _yield_the_cpu_to_the_web_server(**kwargs: object) -> None:
    """Before the pool starts, the worker lowers its CPU priority to WORKER_NICE (its pool's
    processes and threads inherit it): on shared cores, acknowledging a webhook comes before
    applying one. Never raised: a worker started nicer stays so."""
    from django.conf import settings

    cpu_priority_lower(settings.WORKER_NICE)


def cpu_priority_lower(nice: int) -> int:
    """This process's nice value raised to `nice` if it is lower; the value it now runs at."""
    if nice > os.getpriority(os.PRIO_PROCESS, 0):
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    return os.getpriority(os.PRIO_PROCESS, 0)


@worker_ready.connect
def _serve_worker_metrics(**kwargs: object) -> None:
    """The worker's own Prometheus endpoint (METRICS_WORKER_ADDRESS), when one is set."""
    from portal.metrics import worker_metrics_serve

    worker_metrics_serve()


@task_prerun.connect
@task_postrun.connect
def _database_connections_as_after_a_request(**kwargs: object) -> None:
    """Between tasks, what Django does between requests: a connection past CONN_MAX_AGE, or
    one that failed and no longer answers, is closed; the others are kept for the next task
    (CELERY_DB_REUSE_MAX keeps Celery from closing them all)."""
    from django.db import close_old_connections

    close_old_connections()
