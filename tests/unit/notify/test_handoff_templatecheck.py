"""A hand-off notice template that does not render is a configuration error naming the schedule,
like every other template: found at load, not at a shift change."""

from __future__ import annotations

from alertrouter.notify.templatecheck import check_templates
from alertrouter.render.environment import Renderer
from alertrouter.routing.severity import SeverityMapper
from alertrouter.routing.tree import RoutingTree
from tests.conftest import load_text

CONFIG = """
global: {slack_app_token: xoxb-test}
route: {receiver: team}
receivers:
  - name: team
  - name: news
    slack_configs: [{channel: '#oncall'}]
    webhook_configs: [{url: 'https://hook.example.com/'}]
users: [{name: alice}, {name: bob}]
schedules:
  - name: quiet
    layers: [{name: l, rotation: daily, handoff: "2026-01-05T09:00", users: [alice]}]
  - name: payments
    handoff_receiver: news
    layers: [{name: l, rotation: daily, handoff: "2026-01-05T09:00", users: [alice, bob]}]
"""


def issues_with(tmp_path, template: str | None) -> list[str]:
    if template is not None:
        (tmp_path / "handoff.txt.j2").write_text(template)
    config = load_text(CONFIG).config
    routing = RoutingTree(config, SeverityMapper(config.severity))
    found = check_templates(config, Renderer([tmp_path]), routing, now=1_795_000_000_000)
    return [f"{i.path}: {i.message}" for i in found]


def test_the_default_and_a_good_override_render(tmp_path):
    assert issues_with(tmp_path, None) == []
    assert issues_with(tmp_path, "{{ schedule }}: {{ users[0].full_name }}") == []


def test_a_broken_override_names_the_schedule(tmp_path):
    (issue,) = issues_with(tmp_path, "{{ schedule.nosuch.attribute }}")
    assert issue.startswith("schedules[1].handoff_receiver: hand-off notice does not render:")
    assert "handoff notice" in issue
