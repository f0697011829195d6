"""The simulator's fault switches: set at start (command options) or at run time
(``POST /_sim/faults``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, get_args

WebhookOrder = Literal["normal", "reverse", "shuffle"]
WebhookSignature = Literal["hex", "sha256", "upper", "none", "wrong"]
ApiKeyShape = Literal["flat", "list"]
RedirectStyle = Literal["encoded", "literal", "spaced"]
LIFECYCLE = ("created", "submitted", "ready", "running", "live")


@dataclass
class Faults:
    # Partner webhooks
    duplicate_webhooks: bool = False  # every delivery is sent twice
    webhook_order: WebhookOrder = "normal"  # an onboarding's events, held back and reordered
    drop_events: list[str] = field(default_factory=list)  # event names never sent; "*" = all
    webhook_signature: WebhookSignature = "hex"  # hex, sha256=hex, upper-case hex, none, wrong
    send_event_ids: bool = True  # false: bodies carry no "id" (receivers dedupe by body)
    webhook_delay: float = 0.5  # seconds between a channel's lifecycle steps
    webhook_retries: int = 2  # further attempts after a non-2xx answer or a transport error
    webhook_retry_delay: float = 1.0
    stop_at: str | None = None  # lifecycles halt at this status until /advance
    # Partner API
    api_errors: list[int] = field(default_factory=list)  # answered, in turn, to the next calls
    api_errors_for: str | None = None  # only calls of this operation take them
    api_retry_after: int = 1  # Retry-After of a 429
    api_delay: float = 0.0  # seconds before every Partner API answer
    api_key_shape: ApiKeyShape = "flat"  # {"id",...} or {"api_keys": [{...}]}
    # IO link and redirect
    echo_state: bool = True  # the redirect carries `state` back
    redirect_style: RedirectStyle = "encoded"  # how channels=[...] travels
    io_signature_max_age: int = 300  # seconds an io_timestamp stays fresh
    seed: int = 0  # for webhook_order=shuffle

    def update(self, changes: dict[str, Any]) -> None:
        """Apply `changes`, all or nothing; ValueError names the first bad switch."""
        known = {f.name: f for f in fields(self)}
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault switch {name!r}; known: {', '.join(known)}")
            checked[name] = _check(name, value, self)
        for name, value in checked.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


OPERATIONS = (
    "list_clients",
    "list_channels",
    "shared_client_numbers",
    "create_api_key",
    "list_api_keys",
    "delete_api_key",
    "set_webhook_url",
)
_CHOICES: dict[str, tuple[Any, ...]] = {
    "webhook_order": get_args(WebhookOrder),
    "webhook_signature": get_args(WebhookSignature),
    "api_key_shape": get_args(ApiKeyShape),
    "redirect_style": get_args(RedirectStyle),
    "stop_at": (None, *LIFECYCLE),
    "api_errors_for": (None, *OPERATIONS),
}


def _check(name: str, value: Any, current: Faults) -> Any:
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            choices = ", ".join(str(choice) for choice in _CHOICES[name])
            raise ValueError(f"{name} must be one of {choices}; got {value!r}")
        return value
    default = getattr(current, name)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false; got {value!r}")
        return value
    if isinstance(default, list):
        kind = int if name == "api_errors" else str
        if not isinstance(value, list) or not all(
            isinstance(item, kind) and not isinstance(item, bool) for item in value
        ):
            raise ValueError(f"{name} must be a list of {kind.__name__}; got {value!r}")
        if name == "api_errors" and not all(400 <= item <= 599 for item in value):
            raise ValueError(f"api_errors must be HTTP error statuses (400-599); got {value!r}")
        return list(value)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number >= 0; got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number >= 0; got {value!r}")
    return float(value)
