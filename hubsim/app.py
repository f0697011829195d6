"""The simulator's HTTP face (a WSGI app on Werkzeug): the IO permission page, the Partner API
(/api/v2/...) and the control endpoints for tests and the demo (/_sim/...)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from hubsim.hub import Hub, HubError
from hubsim.pages import done_page, error_page, outbound_page, permission_page

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

Handler = Callable[..., Response]
MAX_BODY = 64 * 1024
OUTBOUND_KEPT = 200

URLS = Map(
    [
        Rule("/", endpoint="index", methods=["GET"]),
        Rule(
            "/dashboard/app/<partner_id>/permissions",
            endpoint="permissions",
            methods=["GET", "POST"],
        ),
        Rule("/api/v2/partners/<partner_id>/clients", endpoint="list_clients", methods=["GET"]),
        Rule("/api/v2/partners/<partner_id>/channels", endpoint="list_channels", methods=["GET"]),
        Rule(
            "/api/v2/partners/<partner_id>/clients/<client_id>/shared_client_numbers",
            endpoint="shared_client_numbers",
            methods=["GET"],
        ),
        Rule(
            "/api/v2/partners/<partner_id>/channels/<channel_id>/api_keys",
            endpoint="api_keys",
            methods=["GET", "POST"],
        ),
        Rule(
            "/api/v2/partners/<partner_id>/channels/<channel_id>/api_keys/<key_id>",
            endpoint="delete_api_key",
            methods=["DELETE"],
        ),
        Rule(
            "/api/v2/partners/<partner_id>/webhook_url",
            endpoint="set_webhook_url",
            methods=["POST"],
        ),
        Rule("/_sim/health", endpoint="sim_health", methods=["GET"]),
        Rule("/_sim/reset", endpoint="sim_reset", methods=["POST"]),
        Rule("/_sim/partners", endpoint="sim_partners", methods=["POST"]),
        Rule("/_sim/faults", endpoint="sim_faults", methods=["GET", "POST"]),
        Rule("/_sim/state", endpoint="sim_state", methods=["GET"]),
        Rule("/_sim/idle", endpoint="sim_idle", methods=["GET"]),
        Rule("/_sim/onboard", endpoint="sim_onboard", methods=["POST"]),
        Rule("/_sim/events", endpoint="sim_events", methods=["POST"]),
        Rule("/_sim/channels/<channel_id>", endpoint="sim_channel", methods=["GET"]),
        Rule("/_sim/channels/<channel_id>/permission", endpoint="sim_permission", methods=["POST"]),
        Rule("/_sim/channels/<channel_id>/advance", endpoint="sim_advance", methods=["POST"]),
        # Not 360Dialog's: a stand-in for the partner's platform, receiving the portal's
        # outbound events in the demo (GET shows them).
        Rule("/_sim/outbound", endpoint="sim_outbound", methods=["GET", "POST"]),
    ]
)


class HubApp:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.outbound: deque[dict[str, Any]] = deque(maxlen=OUTBOUND_KEPT)
        self.outbound_lock = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = URLS.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed as error:
            return error.get_response()
        except NotFound:
            return (
                _api_error(404, "Not found")
                if request.path.startswith(("/api/", "/_sim/"))
                else Response("Not found", status=404)
            )
        except HTTPException as error:  # e.g. a redirect to add a slash
            return error.get_response()
        handler: Handler = getattr(self, endpoint)
        try:
            return handler(request, **args)
        except HubError as error:
            if endpoint == "permissions":
                return _html(error_page(error.message), error.status)
            return _api_error(error.status, error.message, error.details)
        except ValueError as error:  # a control call with a bad value
            return _api_error(400, str(error))

    # Pages

    def index(self, request: Request) -> Response:
        return _html(done_page().replace("<h1>Done</h1>", "<h1>Hub simulator</h1>"))

    def permissions(self, request: Request, partner_id: str) -> Response:
        if request.method == "GET":
            session = self.hub.io_open(partner_id, request.args.to_dict(), now=time.time())
            partner = self.hub.partner(partner_id)
            return _html(
                permission_page(
                    session, partner, self._numbers_of(partner_id, session.params.get("email", ""))
                )
            )
        form = request.form
        session = self.hub.io_session(form.get("session", ""))
        if session.partner_id != partner_id:
            raise HubError(400, "This permission request belongs to another partner.")
        try:
            target = self.hub.io_complete(
                session.id,
                email=form.get("email", ""),
                name=form.get("name", ""),
                channel_ids=form.getlist("channel"),
                new_number=form.get("number", ""),
                withdraw=form.get("action") == "withdraw",
            )
        except HubError as error:
            if error.status >= 500 or error.status == 404:
                raise
            partner = self.hub.partner(partner_id)
            return _html(
                permission_page(
                    session,
                    partner,
                    self._numbers_of(partner_id, form.get("email", "")),
                    error.message,
                ),
                400,
            )
        if not target:
            return _html(done_page())
        return _Redirect(status=302, headers={"Location": target})

    def _numbers_of(self, partner_id: str, email: str) -> list[Any]:
        with self.hub.lock:
            return [
                channel
                for channel in self.hub.channels.values()
                if channel.partner_id == partner_id
                and email
                and channel.client.email.lower() == email.lower()
            ]

    # Partner API

    def _api(
        self,
        request: Request,
        operation: str,
        partner_id: str,
        call: Callable[[], Any],
        status: int = 200,
    ) -> Response:
        self.hub.api_authenticate(partner_id, request.headers.get("X-API-Key"))
        fault = self.hub.api_fault(operation)
        delay = self.hub.faults.api_delay
        if delay:
            time.sleep(delay)
        if fault is not None:
            headers = {"Retry-After": str(self.hub.faults.api_retry_after)} if fault == 429 else {}
            return _api_error(fault, f"Simulated error {fault}", headers=headers)
        result = call()
        if result is None:
            return Response(status=204)
        return _json(result, status)

    def list_clients(self, request: Request, partner_id: str) -> Response:
        return self._api(
            request,
            "list_clients",
            partner_id,
            lambda: self.hub.api_list(partner_id, "clients", request.args.to_dict()),
        )

    def list_channels(self, request: Request, partner_id: str) -> Response:
        return self._api(
            request,
            "list_channels",
            partner_id,
            lambda: self.hub.api_list(partner_id, "channels", request.args.to_dict()),
        )

    def shared_client_numbers(self, request: Request, partner_id: str, client_id: str) -> Response:
        return self._api(
            request,
            "shared_client_numbers",
            partner_id,
            lambda: self.hub.api_shared_numbers(partner_id, client_id),
        )

    def api_keys(self, request: Request, partner_id: str, channel_id: str) -> Response:
        if request.method == "POST":
            return self._api(
                request,
                "create_api_key",
                partner_id,
                lambda: self.hub.api_key_create(partner_id, channel_id),
                201,
            )
        return self._api(
            request,
            "list_api_keys",
            partner_id,
            lambda: self.hub.api_keys_list(partner_id, channel_id),
        )

    def delete_api_key(
        self, request: Request, partner_id: str, channel_id: str, key_id: str
    ) -> Response:
        return self._api(
            request,
            "delete_api_key",
            partner_id,
            lambda: self.hub.api_key_delete(partner_id, channel_id, key_id),
        )

    def set_webhook_url(self, request: Request, partner_id: str) -> Response:
        body = _body(request)
        return self._api(
            request,
            "set_webhook_url",
            partner_id,
            lambda: self.hub.api_webhook_url_set(partner_id, body.get("webhook_url")),
        )

    # Control

    def sim_health(self, request: Request) -> Response:
        return _json({"ok": True})

    def sim_reset(self, request: Request) -> Response:
        self.hub.reset()
        return _json({"ok": True})

    def sim_partners(self, request: Request) -> Response:
        partner = self.hub.partner_register(**_body(request))
        return _json(partner.public())

    def sim_faults(self, request: Request) -> Response:
        if request.method == "POST":
            self.hub.faults_update(_body(request))
        return _json(self.hub.faults.as_dict())

    def sim_outbound(self, request: Request) -> Response:
        """POST: keep an outbound event (the last OUTBOUND_KEPT), answer 204. GET: the kept
        ones, newest first, as a page that refreshes itself (or JSON with ?format=json)."""
        if request.method == "POST":
            body = request.get_data(cache=False)
            try:
                document: Any = json.loads(body)
            except ValueError:
                return _api_error(400, "The body is not JSON.")
            with self.outbound_lock:
                self.outbound.appendleft(
                    {
                        "received_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
                        "webhook_id": request.headers.get("webhook-id", ""),
                        "signed": request.headers.get("webhook-signature", "").startswith("v1,"),
                        "event": document,
                    }
                )
            return Response(status=204)
        with self.outbound_lock:
            received = list(self.outbound)
        if request.args.get("format") == "json":
            return _json(received)
        return _html(outbound_page(received))

    def sim_state(self, request: Request) -> Response:
        return _json(self.hub.state())

    def sim_idle(self, request: Request) -> Response:
        return _json({"idle": self.hub.idle()})

    def sim_onboard(self, request: Request) -> Response:
        body = _body(request)
        client, channels = self.hub.onboard(
            partner_id=str(body.get("partner_id", "")),
            email=str(body.get("email", "")),
            name=str(body.get("name", "")),
            numbers=[str(number) for number in body.get("numbers", [])],
            partner_payload=str(body.get("partner_payload", "")),
        )
        return _json({"client_id": client.id, "channel_ids": [channel.id for channel in channels]})

    def sim_events(self, request: Request) -> Response:
        body = _body(request)
        self.hub.event_send(
            partner_id=str(body.get("partner_id", "")),
            event=str(body.get("event", "")),
            channel_id=str(body.get("channel_id", "")),
            data=body.get("data"),
        )
        return _json({"ok": True})

    def sim_channel(self, request: Request, channel_id: str) -> Response:
        return _json(self.hub.channel_state(channel_id))

    def sim_permission(self, request: Request, channel_id: str) -> Response:
        granted = _body(request).get("granted")
        if not isinstance(granted, bool):
            raise ValueError("granted must be true or false")
        self.hub.permission_set(channel_id, granted)
        return _json(self.hub.channel_state(channel_id))

    def sim_advance(self, request: Request, channel_id: str) -> Response:
        to = _body(request).get("to")
        self.hub.advance(channel_id, to)
        return _json(self.hub.channel_state(channel_id))


class _Redirect(Response):
    """Sends Location exactly as built: Werkzeug would percent-encode the literal brackets of
    the "literal" redirect style."""

    def get_wsgi_headers(self, environ: WSGIEnvironment) -> Headers:
        headers = super().get_wsgi_headers(environ)
        headers["Location"] = self.headers["Location"]
        return headers


def _body(request: Request) -> dict[str, Any]:
    if not request.get_data():
        return {}
    try:
        body = json.loads(request.get_data())
    except ValueError:
        raise ValueError("the body must be JSON") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def _html(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="text/html")


def _api_error(
    status: int, message: str, details: Iterable[str] = (), headers: dict[str, str] | None = None
) -> Response:
    body = {
        "meta": {
            "success": False,
            "http_code": status,
            "developer_message": message,
            "details": list(details),
        }
    }
    response = _json(body, status)
    response.headers.update(headers or {})
    return response
