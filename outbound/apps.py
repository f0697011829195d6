from django.apps import AppConfig


class OutboundConfig(AppConfig):
    name = "outbound"
    verbose_name = "Outbound events"

    def ready(self) -> None:
        from events.signals import domain_event_committed
        from outbound.receivers import domain_event_relay_soon

        domain_event_committed.connect(
            domain_event_relay_soon, dispatch_uid="outbound.domain_event_relay_soon"
        )
