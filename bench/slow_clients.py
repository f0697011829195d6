"""Slow clients against gunicorn's worker classes (python -m bench.slow_clients).

Starts gunicorn with the project's gunicorn.conf.py (3 workers) once per worker class, opens
N connections that send their request headers one byte per second and never finish, and
meanwhile times GET /healthz over fresh connections (the cheapest request; answered before
the database is touched). Reports, per worker class and N, the median and the worst
/healthz time and how many of the probes timed out (PROBE_TIMEOUT seconds). The baseline in
the same run is N = 0.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBES = 8
PROBE_TIMEOUT = 10.0
SLOW_SECONDS = 12.0
CONFIGS = [
    ("sync", ["--worker-class", "sync", "--threads", "1"]),
    ("gthread", ["--worker-class", "gthread", "--threads", "4"]),
]
SLOW_COUNTS = [0, 3, 12, 30]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthz_seconds(port: int) -> float | None:
    """One GET /healthz on a new connection; None if it did not answer in PROBE_TIMEOUT."""
    start = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT) as conn:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            if not conn.recv(64).startswith(b"HTTP/1.1 200"):
                return None
    except OSError:
        return None
    return time.perf_counter() - start


def slow_client(port: int, stop: threading.Event) -> None:
    """Sends a request's headers one byte a second (a slowloris), until told to stop."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            while not stop.wait(1.0):
                conn.sendall(b"X")
    except OSError:
        pass  # the server gave up on us: that is what a good server does


def measure(options: list[str], slow: int) -> tuple[float | None, float | None, int, int]:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "console",
        "WEB_CONCURRENCY": "3",
    }
    server = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}", *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 60
        while healthz_seconds(port) is None:
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
        clients = [
            threading.Thread(target=slow_client, args=(port, stop), daemon=True)
            for _ in range(slow)
        ]
        for client in clients:
            client.start()
        time.sleep(1.0)  # let them take their workers (or threads)
        times: list[float | None] = []
        probe_deadline = time.monotonic() + SLOW_SECONDS
        while len(times) < PROBES and time.monotonic() < probe_deadline:
            times.append(healthz_seconds(port))
            time.sleep(0.25)
    finally:
        stop.set()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    answered = [t for t in times if t is not None]
    timeouts = len(times) - len(answered)
    if not answered:
        return None, None, timeouts, len(times)
    return statistics.median(answered), max(answered), timeouts, len(times)


def main() -> None:
    print(f"gunicorn, 3 workers; up to {PROBES} probes of GET /healthz in {SLOW_SECONDS:.0f} s")
    print(
        f"{'worker class':<28}{'slow clients':>13}{'median ms':>11}{'worst ms':>10}{'timeouts':>10}"
    )
    for name, options in CONFIGS:
        label = name + (" (4 threads)" if name == "gthread" else "")
        for slow in SLOW_COUNTS:
            median, worst, timeouts, probes = measure(options, slow)
            shown = [
                f"{value * 1000:.1f}" if value is not None else "-" for value in (median, worst)
            ]
            print(f"{label:<28}{slow:>13}{shown[0]:>11}{shown[1]:>10}{f'{timeouts}/{probes}':>10}")


if __name__ == "__main__":
    main()
