"""How long a claimed outbox row stays leased: longer than any send and its record (or a live
replica's message would be sent again by another), and no longer (a killed replica's messages
wait for it)."""

from __future__ import annotations

from alertrouter.delivery.worker import DeliverySettings
from tests.conftest import load_text

CONFIG = """
route:
  receiver: team
receivers:
  - name: team
    webhook_configs:
      - url: http://hooks.example/alerts
{own}
notifications:
  timeout: 2s
storage:
  busy_timeout: 3s
"""


def settings(own: str = "") -> DeliverySettings:
    return DeliverySettings.from_config(load_text(CONFIG.format(own=own)).config)


def test_the_lease_covers_twice_the_request_timeout_and_a_write_waiting_for_the_database():
    assert settings().send_limit == 4.0
    assert settings().lease_ms == 7_000  # it was 2 x timeout + 10 s: 14 s


def test_an_integration_with_a_longer_timeout_of_its_own_lengthens_the_lease():
    """A webhook given 30 s used to be leased for 14 s: while it still waited for its answer,
    the row was claimed and sent again."""
    longer = settings("        timeout: 30s")
    assert longer.send_limit == 60.0
    assert longer.lease_ms == 63_000
    assert settings("        timeout: 1s").lease_ms == 7_000  # a shorter one changes nothing
