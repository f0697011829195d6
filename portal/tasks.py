from celery import shared_task


@shared_task(name="portal.ping", ignore_result=False)
def ping() -> str:
    """Answers "pong": proves a worker consumes the queue (readiness checks, tests, the demo)."""
    return "pong"
