"""Notification templates: defaults render, overrides win, data stays data, errors say where."""

from __future__ import annotations

import pytest

from alertrouter.config.receivers import TemplateRef
from alertrouter.core.values import ConfigError
from alertrouter.engine.runtime import Runtime
from alertrouter.render.environment import (
    Renderer,
    TemplateError,
    humanize_duration,
    render_part,
    sample_data,
    since,
    slack_escape,
)
from alertrouter.render.escaping import HTML, SLACK, html_link, is_web_url, slack_link
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
    slack = renderer.render_json("slack.json.j2", data, SLACK)
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
    [(0, "0s"), (42, "42s"), (15.001, "15s"), (3900, "1h5m"), (90061, "1d1h"), (-5, "0s")],
)
def test_humanize_duration(seconds, text):
    assert humanize_duration(seconds) == text


def test_since_and_slack_escape():
    assert since(NOW - 125_000, NOW) == "2m5s"
    assert since(None, NOW) == ""
    assert slack_escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_inline_templates_are_escaped_only_for_html_parts(renderer):
    data = {"x": "<a href='y'>&"}
    assert renderer.render_inline("{{ x }}", data, label="subject") == "<a href='y'>&"
    assert (
        renderer.render_inline("{{ x }}", data, label="html", target=HTML)
        == "&lt;a href=&#39;y&#39;&gt;&amp;"
    )
    templates = {
        "html": TemplateRef(inline="<b>{{ x }}</b>"),
        "text": TemplateRef(inline="{{ x }}"),
    }
    assert render_part(renderer, templates, "html", "unused", data, label="r", target=HTML) == (
        "<b>&lt;a href=&#39;y&#39;&gt;&amp;</b>"
    )
    assert render_part(renderer, templates, "text", "unused", data, label="r") == "<a href='y'>&"


def test_inline_html_errors_keep_their_line_numbers(renderer):
    with pytest.raises(TemplateError, match=r"line 2"):
        renderer.render_inline("ok\n{{ broken(", {}, label="html", target=HTML)


def test_the_slack_target_escapes_every_value_never_the_templates_own_text(renderer):
    data = {
        "url": "https://prom.example/graph?a=1&b=2",
        "labels": {"<!here>": "<@U1> & <!channel>"},
        "items": ["<#C1>", 3],
    }
    source = (
        "<!subteam^S1> <{{ url }}|graph> {{ labels | dictsort | first | join('=') }} {{ items }}"
    )
    assert renderer.render_inline(source, data, label="reply", target=SLACK) == (
        "<!subteam^S1> <https://prom.example/graph?a=1&amp;b=2|graph> "
        "&lt;!here&gt;=&lt;@U1&gt; &amp; &lt;!channel&gt; ['&lt;#C1&gt;', 3]"
    )
    assert data["labels"] == {"<!here>": "<@U1> & <!channel>"}  # the caller's data is left alone


def test_slack_escape_is_idempotent(renderer):
    for text in ("a<b>&c", "&lt;!channel&gt;", "&amp;lt;", "plain"):
        once = slack_escape(text)
        assert slack_escape(once) == once
    assert slack_escape("&lt;!channel&gt;") == "&lt;!channel&gt;"
    data = {"x": "<!channel> & co"}
    rendered = renderer.render_inline("{{ x | slack_escape }}", data, label="r", target=SLACK)
    assert rendered == "&lt;!channel&gt; &amp; co"


@pytest.mark.parametrize(
    ("url", "web"),
    [
        ("https://example.com/a?b=1&c=2", True),
        ("http://10.0.0.1:9090/graph", True),
        ("HTTPS://EXAMPLE.COM", True),
        ("https://example.com/a?b=1&amp;c=2", True),  # as a Slack template receives it
        ("javascript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("data:text/html;base64,PHNjcmlwdD4=", False),
        ("slack://open", False),
        ("vbscript:msgbox", False),
        ("java\tscript:alert(1)", False),
        ("\x01javascript:alert(1)", False),
        (" https://example.com", False),
        ("https://example.com/a b", False),
        ("https:///path-without-host", False),
        ("https:example.com", False),
        ("//example.com", False),
        ("", False),
        (None, False),
    ],
)
def test_only_http_and_https_urls_are_web_urls(url, web):
    assert is_web_url(url) is web


def test_links_only_for_web_urls():
    assert slack_link("https://a.example/x|y", "Source") == "<https://a.example/x%7Cy|Source>"
    assert slack_link("https://a.example/<x>") == "<https://a.example/&lt;x&gt;>"
    assert slack_link("javascript:alert(1)", "Source") == "Source (javascript:alert(1))"
    assert slack_link("data:<!channel>") == "data:&lt;!channel&gt;"
    assert slack_link("", "Source") == ""
    assert html_link('https://a.example/?q="x"', "<src>") == (
        '<a href="https://a.example/?q=&#34;x&#34;">&lt;src&gt;</a>'
    )
    assert html_link("javascript:alert(1)", "source") == "source (javascript:alert(1))"
    assert html_link("data:text/html,<b>") == "data:text/html,&lt;b&gt;"
    assert html_link(None, "source") == ""


def test_the_web_url_test_in_templates(renderer):
    source = "{% if url is web_url %}<a href='{{ url }}'>x</a>{% else %}{{ url }}{% endif %}"
    assert renderer.render_inline(source, {"url": "javascript:x"}, label="r") == "javascript:x"
    assert (
        renderer.render_inline(source, {"url": "https://a"}, label="r")
        == "<a href='https://a'>x</a>"
    )


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
