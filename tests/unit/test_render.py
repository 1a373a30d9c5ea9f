"""Notification templates: defaults render, overrides win, data stays data, errors say where."""

from __future__ import annotations

import pytest

from alertrouter.config.receivers import TemplateRef
from alertrouter.core import ConfigError
from alertrouter.render import (
    Renderer,
    TemplateError,
    humanize_duration,
    render_part,
    sample_data,
    since,
    slack_escape,
)
from alertrouter.runtime import Runtime
from tests.conftest import load_text

NOW = 1_795_000_000_000


@pytest.fixture
def renderer() -> Renderer:
    return Renderer()


def test_every_default_template_renders_the_sample(renderer):
    data = sample_data(NOW)
    for name in ("slack.json.j2", "pagerduty_details.json.j2"):
        assert isinstance(renderer.render_json(name, data), dict)
    for name in (
        "email_subject.txt.j2",
        "email.txt.j2",
        "email.html.j2",
        "pagerduty_summary.txt.j2",
    ):
        assert "HighErrorRate" in renderer.render(name, data)


def test_slack_message_has_buttons_only_when_interactive(renderer):
    data = sample_data(NOW)
    message = renderer.render_json("slack.json.j2", data)
    blocks = message["attachments"][0]["blocks"]
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == ["acknowledge", "resolve", "silence"]
    assert message["text"] == "[P0] HighErrorRate checkout"
    assert message["attachments"][0]["color"] == "#d32f2f"
    plain = renderer.render_json("slack.json.j2", {**data, "interactive": False})
    assert not [b for b in plain["attachments"][0]["blocks"] if b["type"] == "actions"]


def test_label_values_are_data_never_templates_and_are_escaped(renderer):
    data = sample_data(NOW)
    hostile = {"alertname": "{{ 7 * 7 }}", "note": '<script>alert(1)</script> <!channel> & "'}
    data["alerts"]["firing"][0]["labels"] = hostile
    data["alerts"]["firing"][0]["annotations"] = {}
    text = renderer.render("email.txt.j2", data)
    assert "{{ 7 * 7 }}" in text and "49" not in text
    html = renderer.render("email.html.j2", data)
    assert "<script>" not in html and "&lt;script&gt;" in html
    slack = renderer.render_json("slack.json.j2", data)
    alert_block = slack["attachments"][0]["blocks"][1]["text"]["text"]
    assert "<!channel>" not in alert_block and "&lt;!channel&gt;" in alert_block


def test_an_extra_directory_overrides_a_default_by_name(tmp_path):
    (tmp_path / "email_subject.txt.j2").write_text("custom {{ incident.id }}")
    assert Renderer([tmp_path]).render("email_subject.txt.j2", sample_data(NOW)) == "custom 1"


def test_the_sandbox_refuses_unsafe_attribute_access(renderer):
    with pytest.raises(TemplateError, match=r"SecurityError|unsafe"):
        renderer.render_inline(
            "{{ ''.__class__.__mro__[1].__subclasses__() }}", {}, label="receivers[0]"
        )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("line one\n{% if %}", r"receivers\[0\], line 2"),
        ("{{ missing.thing }}", r"receivers\[0\]: UndefinedError"),
    ],
)
def test_template_errors_say_where(renderer, source, message):
    with pytest.raises(TemplateError, match=message):
        renderer.render_inline(source, {}, label="receivers[0]")


def test_a_json_template_that_is_not_json_is_an_error(tmp_path):
    (tmp_path / "bad.json.j2").write_text("{not json")
    with pytest.raises(TemplateError, match="did not produce JSON"):
        Renderer([tmp_path]).render_json("bad.json.j2", {})
    with pytest.raises(TemplateError, match="not found"):
        Renderer([tmp_path]).render("missing.j2", {})


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (42, "42s"), (3900, "1h 5m"), (90061, "1d 1h"), (-5, "0s")],
)
def test_humanize_duration(seconds, text):
    assert humanize_duration(seconds) == text


def test_since_and_slack_escape():
    assert since(NOW - 125_000, NOW) == "2m 5s"
    assert since(None, NOW) == ""
    assert slack_escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_inline_templates_are_escaped_only_for_html_parts(renderer):
    data = {"x": "<a href='y'>&"}
    assert renderer.render_inline("{{ x }}", data, label="subject") == "<a href='y'>&"
    assert (
        renderer.render_inline("{{ x }}", data, label="html", html=True)
        == "&lt;a href=&#39;y&#39;&gt;&amp;"
    )
    templates = {
        "html": TemplateRef(inline="<b>{{ x }}</b>"),
        "text": TemplateRef(inline="{{ x }}"),
    }
    assert render_part(renderer, templates, "html", "unused", data, label="r") == (
        "<b>&lt;a href=&#39;y&#39;&gt;&amp;</b>"
    )
    assert render_part(renderer, templates, "text", "unused", data, label="r") == "<a href='y'>&"


def test_inline_html_errors_keep_their_line_numbers(renderer):
    with pytest.raises(TemplateError, match=r"line 2"):
        renderer.render_inline("ok\n{{ broken(", {}, label="html", html=True)


ROUTE_LABEL_TEMPLATE = """
route:
  receiver: hook
  labels: ROOT
  routes:
    - {receiver: hook, matchers: [x="1"], labels: {tier: '1'}}
    - {receiver: hook, matchers: [x="2"]}
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:1/hook
        templates: {body: {inline: '{"tier": "{{ route_labels.tier }}"}'}}
"""


def test_template_checks_render_with_the_labels_of_every_route_to_the_receiver():
    """A template that needs a route label renders at check time only when every route to its
    receiver has it: otherwise those routes' notifications would fail to render."""
    Runtime.build(load_text(ROUTE_LABEL_TEMPLATE.replace("ROOT", "{tier: '0'}")))
    with pytest.raises(ConfigError) as caught:
        Runtime.build(load_text(ROUTE_LABEL_TEMPLATE.replace("ROOT", "{team: platform}")))
    (issue,) = caught.value.issues
    assert issue.path == "receivers[0].webhook_configs[0]"
    assert "template does not render" in issue.message
    assert "has no attribute 'tier'" in issue.message
