"""Load generators for the black-box benchmarks: wrk at saturation, and a constant-rate client
that measures each request from the moment it was due (so a stalled server is not hidden by a
client that waits for it)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

WRK_SCRIPT = """
local rows, id, threads, n = {}, 0, 1, 0
local counter = 0
setup = function(thread)
  thread:set("id", counter)
  counter = counter + 1
end
init = function(args)
  id = tonumber(wrk.thread:get("id")) or 0
  threads = tonumber(args[2]) or 1
  local offset = tonumber(args[3]) or 0
  for line in io.lines(args[1]) do
    local header, body = line:match("([^\\t]*)\\t(.*)")
    rows[#rows + 1] = {header, body}
  end
  n = id + offset
end
request = function()
  n = n + threads
  local row = rows[(n % #rows) + 1]
  local headers = {["Content-Type"] = "application/json"}
  if row[1] ~= "" then headers["x-360dialog-signature"] = row[1] end
  return wrk.format("POST", nil, headers, row[2])
end
"""


@dataclass
class Saturation:
    requests_per_second: float
    requests: int
    non_2xx: int
    p50_ms: float
    p99_ms: float


def wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    threads: int = 2,
    bodies: Path | None = None,
    offset: int = 0,
) -> Saturation:
    """wrk against `url` (GET, or POST of the lines of `bodies`: "signature<TAB>body")."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if bodies is not None:
        script = bodies.with_suffix(".lua")
        script.write_text(WRK_SCRIPT)
        command += ["-s", str(script), url, "--", str(bodies), str(threads), str(offset)]
    else:
        command.append(url)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Saturation(
        requests_per_second=rate,
        requests=total,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        p50_ms=_wrk_latency(output, "50%"),
        p99_ms=_wrk_latency(output, "99%"),
    )


def _wrk_latency(output: str, share: str) -> float:
    match = re.search(rf"{re.escape(share)}\s+([\d.]+)(us|ms|s)\b", output)
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


@dataclass
class FixedRate:
    rate: float
    sent: int
    ok: int
    p50_ms: float
    p99_ms: float


def constant_rate(
    host: str, port: int, path: str, rows: list[tuple[str, bytes]], *, rate: float, seconds: float
) -> FixedRate:
    """POST `rows` ((signature, body), cycled) at `rate` per second for `seconds`."""
    return asyncio.run(_constant_rate(host, port, path, rows, rate, seconds))


async def _constant_rate(
    host: str, port: int, path: str, rows: list[tuple[str, bytes]], rate: float, seconds: float
) -> FixedRate:
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies: list[float] = []
    statuses: list[int] = []

    async def one(due: float, signature: str, body: bytes) -> None:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            + (f"x-360dialog-signature: {signature}\r\n" if signature else "")
            + "\r\n"
        ).encode()
        status_line = b""
        for attempt in (1, 2):  # a kept connection the server closed meanwhile: once more
            fresh = attempt == 2 or not idle
            reader, writer = await asyncio.open_connection(host, port) if fresh else idle.pop()
            try:
                writer.write(head + body)
                await writer.drain()
                status_line = await reader.readline()
            except ConnectionError:
                status_line = b""
            if status_line:
                break
            writer.close()
        if not status_line:
            statuses.append(0)
            return
        length, keep = 0, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                keep = False  # gunicorn's sync workers answer one request per connection
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - due)
        statuses.append(int(status_line.split()[1]) if status_line else 0)
        if keep:
            idle.append((reader, writer))
        else:
            writer.close()

    started = time.perf_counter()
    tasks = []
    count = int(rate * seconds)
    for n in range(count):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        signature, body = rows[n % len(rows)]
        tasks.append(asyncio.create_task(one(due, signature, body)))
    await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    ordered = sorted(latencies)
    return FixedRate(
        rate=rate,
        sent=count,
        ok=sum(1 for status in statuses if 200 <= status < 300),
        p50_ms=ordered[len(ordered) // 2] * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    )
