"""360Dialog's public endpoints, overridable per partner (the demo and tests use the simulator)."""

DEFAULT_HUB_URL = "https://hub.360dialog.com"
DEFAULT_API_BASE_URL = "https://hub.360dialog.io/api/v2"
