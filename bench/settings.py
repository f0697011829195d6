"""The portal's settings plus the benchmarks' baseline endpoints (bench/urls.py)."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
