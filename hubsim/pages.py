"""The simulator's HTML: the IO permission page, its error page, the finished page, and the
demo's page of outbound events received."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from hubsim.state import Channel, IoSession, Partner

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f2f5f7;color:#1d2b36}
header{background:#0b3c5d;color:#fff;padding:12px 24px;font-weight:600}
header small{font-weight:400;opacity:.8;margin-left:8px}
main{max-width:460px;margin:24px auto;background:#fff;padding:24px;border-radius:8px}
label{display:block;margin:14px 0 4px;font-weight:600}
input[type=text],input[type=email],input[type=tel]{width:100%;padding:8px;box-sizing:border-box;
 border:1px solid #8a9aa6;border-radius:4px;font-size:16px}
fieldset{border:1px solid #c9d3da;border-radius:4px;margin-top:14px}
fieldset label{font-weight:400;margin:4px 0}
.actions{margin-top:22px;display:flex;gap:12px}
button{padding:10px 18px;font-size:16px;border-radius:4px;border:0;cursor:pointer}
button.primary{background:#0b7a53;color:#fff}
button.secondary{background:#e2e8ec;color:#1d2b36}
.error{background:#fde8e8;border-left:4px solid #c62828;padding:10px}
.note{color:#51616d;font-size:14px}
"""


def _page(title: str, body: str, lang: str = "en") -> str:
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} · 360Dialog hub simulator</title><style>{_STYLE}</style></head>"
        "<body><header>360Dialog<small>hub simulator</small></header>"
        f"<main>{body}</main></body></html>"
    )


def permission_page(
    session: IoSession, partner: Partner, channels: list[Channel], error: str = ""
) -> str:
    params = session.params
    lang = params.get("lang", "en")
    direct = partner.payment_mode == "direct"
    numbers = "".join(
        f'<label><input type="checkbox" name="channel" value="{escape(c.id)}" checked> '
        f"+{escape(c.phone_number)} ({escape(c.status)})</label>"
        for c in channels
    )
    existing = f"<fieldset><legend>Your numbers</legend>{numbers}</fieldset>" if channels else ""
    withdraw = (
        '<button class="secondary" type="submit" name="action" value="withdraw">'
        "Withdraw permission</button>"
        if direct and channels
        else ""
    )
    what = (
        f"Partner {escape(partner.partner_id)} asks for permission to manage the numbers you "
        "choose (Direct Payment)."
        if direct
        else f"You are connecting WhatsApp numbers through partner {escape(partner.partner_id)}."
    )
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""<h1>Connect WhatsApp</h1>{alert}<p>{what}</p>
<form method="post">
<input type="hidden" name="session" value="{escape(session.id)}">
<label for="email">Email</label>
<input id="email" name="email" type="email" required autocomplete="email"
 value="{escape(params.get("email", ""))}">
<label for="name">Your name</label>
<input id="name" name="name" type="text" autocomplete="name"
 value="{escape(params.get("name", ""))}">
{existing}
<label for="number">Add a phone number</label>
<input id="number" name="number" type="tel" inputmode="tel" autocomplete="tel"
 value="{escape(params.get("number", ""))}" aria-describedby="number-help">
<p id="number-help" class="note">With the country code, e.g. 4915112345678.</p>
<div class="actions"><button class="primary" type="submit" name="action" value="grant">
Grant permission</button>{withdraw}</div>
</form>
<p class="note">Simulated: no Meta signup, no payment.
 Plan: {escape(params.get("plan_selection", "regular"))}.</p>"""
    return _page("Connect WhatsApp", body, lang)


def error_page(message: str) -> str:
    return _page(
        "Cannot continue",
        f'<h1>Cannot continue</h1><p class="error" role="alert">{escape(message)}</p>',
    )


def done_page() -> str:
    return _page(
        "Done", "<h1>Done</h1><p>Your numbers are connected. You can close this window.</p>"
    )


def outbound_page(received: list[dict[str, Any]]) -> str:
    """The outbound events the portal sent here, newest first; the page reloads itself."""
    rows = "".join(
        f"<li><strong>{escape(str(item['event'].get('type', '?')))}</strong> "
        f"at {escape(item['received_at'])} UTC · webhook-id {escape(item['webhook_id'])}"
        f"{' · signed' if item['signed'] else ' · <em>unsigned</em>'}"
        f"<pre>{escape(json.dumps(item['event'].get('data'), indent=2, sort_keys=True))}</pre>"
        "</li>"
        for item in received
    )
    body = (
        "<h1>Outbound events</h1><p>What the portal sent the partner's platform "
        "(this page stands in for it), newest first; it refreshes every 3 seconds.</p>"
        + (f"<ol>{rows}</ol>" if rows else "<p>None yet: sign up on the demo signup page.</p>")
    )
    return _page("Outbound events", body).replace(
        "<head>", '<head><meta http-equiv="refresh" content="3">', 1
    )
