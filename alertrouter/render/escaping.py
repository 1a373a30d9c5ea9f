"""How values that senders of alerts control are made safe for where a message goes. Pure.

Label and annotation names and values, generator URLs and the titles made of them come from
whoever can send an alert. They are escaped for the message's target as they enter a template,
never the template's own literal text (Jinja2's autoescaping does the same for HTML):

- SLACK: in every string of the template data (dictionary keys too), `&`, `<` and `>` become
  `&amp;`, `&lt;` and `&gt;`, the three characters Slack's markup gives meaning to. No value can
  then make a mention (`<!channel>`, `<!here>`, `<@U1>`) or a link (`<url|text>`) in any field,
  while a template's own `<{{ url }}|link>` still links.
- HTML: Jinja2 autoescapes every interpolated value.
- TEXT: nothing (email subject and text; PagerDuty and webhook JSON, built with `tojson`).

Links: `slack_link` and `html_link` make a link of an http(s) URL only; any other URL
(`javascript:`, `data:`, `slack://`...) is shown as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup, escape

_SLACK_ENTITY = re.compile(r"&(amp|lt|gt);")
_SLACK_UNESCAPED = {"amp": "&", "lt": "<", "gt": ">"}
# A scheme of http or https, a host, and no whitespace or control character anywhere (browsers
# drop tabs and line breaks inside URLs, so "java\tscript:" must not count as a scheme).
_WEB_URL = re.compile(r"https?://[^/?#\s\x00-\x1f\x7f]+[^\s\x00-\x1f\x7f]*", re.IGNORECASE)


def escape_slack(text: str) -> str:
    """Text shown as it is in Slack markup: its three special characters as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape_slack(text: str) -> str:
    return _SLACK_ENTITY.sub(lambda m: _SLACK_UNESCAPED[m.group(1)], text)


def slack_escape(value: object) -> str:
    """The templates' filter: text safe in Slack markup. Idempotent: text already escaped (as
    every string of a Slack template's data is) stays as it is, so templates written when values
    arrived raw, and escaped them with this filter, still show them escaped once."""
    return escape_slack(unescape_slack(str(value)))


def is_web_url(value: object) -> bool:
    """Whether a value is one absolute http or https URL with a host (once any Slack escaping
    is undone): the one rule for every target, the web pages included."""
    if not isinstance(value, str):
        return False
    url = unescape_slack(value)
    if _WEB_URL.fullmatch(url) is None:
        return False
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # e.g. "http://[oops": an unbalanced IPv6 bracket
        return False


def slack_link(url: object, text: object = "") -> str:
    """`<url|text>` for an http(s) URL; any other URL as escaped text (after the text, in
    brackets); nothing without a URL."""
    if not url:
        return ""
    shown = slack_escape(text) if text else ""
    if not is_web_url(url):
        return f"{shown} ({slack_escape(url)})" if shown else slack_escape(url)
    target = slack_escape(url).replace("|", "%7C")  # a "|" would end the URL early
    return f"<{target}|{shown}>" if shown else f"<{target}>"


_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


def slack_mention(person: object) -> str:
    """A person of the template data (`oncall.users`, `action.escalation.paged`) as a Slack
    mention `<@U…>`, which notifies them; their escaped name when they have no Slack user ID."""
    if not isinstance(person, dict):
        return slack_escape(person)
    user_id = person.get("slack_user_id")
    if isinstance(user_id, str) and _SLACK_USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return slack_escape(person.get("full_name") or person.get("name") or "")


def html_link(url: object, text: object = "") -> Markup:
    """`<a href="url">text</a>` for an http(s) URL; any other URL as escaped text (after the
    text, in brackets); nothing without a URL."""
    if not url:
        return Markup("")
    if is_web_url(url):
        return Markup('<a href="{}">{}</a>').format(url, text or url)
    return Markup("{} ({})").format(text, url) if text else escape(url)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a rendered template goes, and so how the values in its data are escaped."""

    name: str
    escape_value: Callable[[str], str] | None = None  # applied to every string of the data
    autoescape: bool = False  # Jinja2's HTML autoescaping of every interpolated value

    def prepare(self, data: Mapping[str, Any]) -> Mapping[str, Any]:
        """The template data as the template receives it."""
        return data if self.escape_value is None else escape_strings(data, self.escape_value)


TEXT = Target("text")
SLACK = Target("slack", escape_value=escape_slack)
HTML = Target("html", autoescape=True)


class Escaped(str):
    """Text already escaped for its target (e.g. a Go-template field rendered for Slack, see
    render.gotemplates.go_fields): data that `escape_strings` leaves as it is."""

    __slots__ = ()


def escape_strings(value: Any, escape_one: Callable[[str], str]) -> Any:
    """`value` with every string in it (keys of mappings too) escaped, but `Escaped` text."""
    if isinstance(value, Escaped):
        return value
    if isinstance(value, str):
        return escape_one(value)
    if isinstance(value, Mapping):
        return {
            escape_one(k) if isinstance(k, str) else k: escape_strings(v, escape_one)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [escape_strings(v, escape_one) for v in value]
    return value
