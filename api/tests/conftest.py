from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Token ids start over with each test database: counters of an earlier run must not
    count against this one. Only the throttles' keys go (the broker shares this Redis)."""
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    for key in client.scan_iter(match="*:throttle_*"):
        client.delete(key)
    yield
