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
- TELEGRAM_HTML: Jinja2's autoescaping, as HTML (Telegram reads `&lt;`, `&#34;` ...).
  TELEGRAM_MARKDOWN_V2, TELEGRAM_MARKDOWN: a backslash before each character the parse mode
  gives meaning to.
- DISCORD, TEAMS: a backslash before every markdown character (both honour CommonMark's
  backslash escapes), so no value makes bold text, a heading, a masked link or a `<@id>`
  mention; Discord's `@everyone` and `@here` are also broken with a zero-width space (and the
  notifier allows no mention to ping at all).

Links: `slack_link`, `html_link` and `markdown_link` make a link of an http(s) URL only; any
other URL (`javascript:`, `data:`, `slack://`...) is shown as text.
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
    # Whether the keys of mappings are escaped too. Not for markdown, where escaping would
    # change the names templates look up (`runbook_url`); label names are shown through the
    # `label_pairs` filter, which escapes them.
    escape_keys: bool = True

    def prepare(self, data: Mapping[str, Any]) -> Mapping[str, Any]:
        """The template data as the template receives it."""
        if self.escape_value is None:
            return data
        return escape_strings(data, self.escape_value, escape_keys=self.escape_keys)


# ------------------------------------------------------------------------- markdown targets

# CommonMark's backslash escape: a backslash before any ASCII punctuation character.
_BACKSLASHED = re.compile(r"\\([!-/:-@\[-`{-~])")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_~|<>\[\]()#])")
_TELEGRAM_MD_V2_SPECIAL = re.compile(r"([\\_*\[\]()~`>#+\-=|{}.!])")
_TELEGRAM_MD_SPECIAL = re.compile(r"([_*`\[])")
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
ZERO_WIDTH_SPACE = "\u200b"


def escape_markdown(text: str) -> str:
    """Text shown as it is in Teams' or Discord's markdown (CommonMark backslash escapes)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def unescape_markdown(text: str) -> str:
    return _BACKSLASHED.sub(r"\1", text)


def neutralise_mentions(text: str) -> str:
    """Discord's `@everyone` and `@here` with a zero-width space after the `@`: shown the same,
    pinging nobody."""
    return _MASS_MENTION.sub(lambda m: "@" + ZERO_WIDTH_SPACE + m.group(1), text)


def escape_discord(text: str) -> str:
    return neutralise_mentions(escape_markdown(text))


def escape_telegram_markdown_v2(text: str) -> str:
    return _TELEGRAM_MD_V2_SPECIAL.sub(r"\\\1", text)


def escape_telegram_markdown(text: str) -> str:
    """Telegram's legacy Markdown has no escape for `]` and reads only `_*`[` as markup."""
    return _TELEGRAM_MD_SPECIAL.sub(r"\\\1", text)


def escape_telegram_html(text: str) -> str:
    """Text shown as it is in Telegram's HTML parse mode (attribute values included)."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def markdown_link(url: object, text: object = "") -> str:
    """`[text](url)` for an http(s) URL (in Teams' and Discord's markdown), where both may
    arrive markdown-escaped; any other URL as escaped text (after the text, in brackets);
    nothing without a URL."""
    if not url:
        return ""
    raw_url = unescape_markdown(str(url))
    shown = escape_markdown(unescape_markdown(str(text))) if text else ""
    if not is_web_url(raw_url):
        escaped = escape_markdown(raw_url)
        return f"{shown} ({escaped})" if shown else escaped
    target = "".join(_URL_QUOTES.get(char, char) for char in raw_url)
    return f"[{shown or escape_markdown(raw_url)}]({target})"


# Characters that would end a markdown link target early (or start a title).
_URL_QUOTES = {"(": "%28", ")": "%29", " ": "%20", "<": "%3C", ">": "%3E", '"': "%22"}


TEXT = Target("text")
SLACK = Target("slack", escape_value=escape_slack)
HTML = Target("html", autoescape=True)
TEAMS = Target("teams", escape_value=escape_markdown, escape_keys=False)
DISCORD = Target("discord", escape_value=escape_discord, escape_keys=False)
TELEGRAM_HTML = Target("telegram_html", autoescape=True)
TELEGRAM_MARKDOWN_V2 = Target(
    "telegram_markdown_v2", escape_value=escape_telegram_markdown_v2, escape_keys=False
)
TELEGRAM_MARKDOWN = Target(
    "telegram_markdown", escape_value=escape_telegram_markdown, escape_keys=False
)


class Escaped(str):
    """Text already escaped for its target (e.g. a Go-template field rendered for Slack, see
    render.gotemplates.go_fields): data that `escape_strings` leaves as it is."""

    __slots__ = ()


def escape_strings(
    value: Any, escape_one: Callable[[str], str], *, escape_keys: bool = True
) -> Any:
    """`value` with every string in it (keys of mappings too, with `escape_keys`) escaped, but
    `Escaped` text."""
    if isinstance(value, Escaped):
        return value
    if isinstance(value, str):
        return escape_one(value)
    if isinstance(value, Mapping):
        return {
            escape_one(k) if escape_keys and isinstance(k, str) else k: escape_strings(
                v, escape_one, escape_keys=escape_keys
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [escape_strings(v, escape_one, escape_keys=escape_keys) for v in value]
    return value


def label_pairs(labels: Mapping[str, Any], separator: str = ", ") -> str:
    """`name=value` pairs sorted by name, for markdown targets: values arrive escaped, names
    are escaped here (idempotent for targets that escaped them already, e.g. Slack's)."""
    return separator.join(
        f"{escape_markdown(unescape_markdown(str(name)))}={value}"
        for name, value in sorted(labels.items())
    )
