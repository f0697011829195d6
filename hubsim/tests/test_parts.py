"""The hub is put together from its parts, one module each; `hubsim.hub.Hub` is the whole."""

from __future__ import annotations

from hubsim import hub, lifecycle, partner_api, permissions, state


def test_each_part_of_the_hub_lives_in_its_own_module():
    where = {
        name: getattr(hub.Hub, name).__module__
        for name in ("reset", "io_complete", "onboard", "_emit", "advance", "api_key_create")
    }

    assert where == {
        "reset": "hubsim.hub",
        "io_complete": "hubsim.permissions",
        "onboard": "hubsim.permissions",
        "_emit": "hubsim.lifecycle",
        "advance": "hubsim.lifecycle",
        "api_key_create": "hubsim.partner_api",
    }
    assert hub.Hub.__mro__[1:] == (
        permissions.IntegratedOnboarding,
        lifecycle.Lifecycle,
        partner_api.PartnerApi,
        state.HubState,
        object,
    )
    assert (hub.HubError, hub.Channel, hub.Partner) == (
        state.HubError,
        state.Channel,
        state.Partner,
    )
