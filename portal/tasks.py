from celery import shared_task


@shared_task(name="portal.ping", ignore_result=False)
def ping() -> str:
    """Answers "pong": proves a worker consumes the queue (readiness checks, tests, the demo)."""
    return "pong"


@shared_task(name="portal.noop", acks_late=True, ignore_result=True)
def noop(*args: object) -> None:
    """Does nothing: the baseline a benchmark's workers drain (bench/burst.py), shaped like a
    webhook's task (arguments, late acknowledgement, no result)."""
