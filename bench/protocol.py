"""How much the protocol library adds on the webhook path, as ratios against baselines measured
in the same run (python -m bench.protocol):

- verify_webhook (several accepted header forms, two secrets) vs one bare hmac.compare_digest
  of a freshly computed HMAC-SHA256;
- load_payload + parse_event of a channel webhook vs json.loads of the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import timeit
from pathlib import Path

from dialog360.events import load_payload, parse_event
from dialog360.signatures import verify_webhook, webhook_signature

BODY = (Path(__file__).parent.parent / "dialog360/tests/fixtures/channel_running.json").read_bytes()
SECRET = "platform-secret"  # noqa: S105 - made up for the benchmark
HEADER = "sha256=" + webhook_signature(BODY, SECRET)


def best(statement: object, number: int = 20000) -> float:
    """Seconds per call, best of five runs."""
    return min(timeit.repeat(statement, number=number, repeat=5)) / number  # type: ignore[arg-type]


def main() -> None:
    digest = bytes.fromhex(HEADER.removeprefix("sha256="))
    baseline_verify = best(
        lambda: hmac.compare_digest(
            digest, hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
        )
    )
    verify = best(lambda: verify_webhook(BODY, HEADER, ["old-secret", SECRET]))
    baseline_parse = best(lambda: json.loads(BODY))
    parse = best(lambda: parse_event(load_payload(BODY)))
    print(f"body: {len(BODY)} bytes")
    ratio = verify / baseline_verify
    print(f"verify_webhook: {verify * 1e6:.1f} us, {ratio:.2f}x one bare HMAC check")
    print(f"parse_event:    {parse * 1e6:.1f} us, {parse / baseline_parse:.2f}x json.loads")


if __name__ == "__main__":
    main()
