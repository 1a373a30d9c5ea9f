"""Email, the pure half of composing: the mail a notification becomes.

`compose` renders one "mail" Message: a one-line subject, the text and HTML bodies, the
configured static headers and the thread headers. One incident is one mail thread. Its root
Message-ID is derived from (installation, group key, receiver, integration index, incident id),
so every replica computes the same one, before and after a restart:

    <incident-42.<16 hex digits of sha256>@<host of external_url>>

The incident's first mail (`opens_incident`) carries the root as its own Message-ID; every later
mail gets a fresh Message-ID and `In-Reply-To: <root>` and `References: <root>`.

`build_mail` turns a stored Message into the MIME message when sending. Configured `headers`
may replace From, To and Subject (as in Alertmanager; the envelope still uses `from` and `to`).
Message-ID, In-Reply-To, References, Date and the MIME headers are alertrouter's: configuration
that sets them is rejected at load.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import ipaddress
import re
import uuid
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from alertrouter.config.models import GlobalConfig
from alertrouter.config.receivers import EmailConfig, canonical_header
from alertrouter.core.reasons import NotifyReason
from alertrouter.notifiers.base import DeliveryError, ErrorKind, Message, Notice, Notification
from alertrouter.notifiers.email.settings import SMTPSettings
from alertrouter.render.environment import Renderer, TemplateError, render_part
from alertrouter.render.escaping import HTML, TEXT
from alertrouter.render.gotemplates import go_field

OP = "mail"
SUBJECT_TEMPLATE = "email_subject.txt.j2"
TEXT_TEMPLATE = "email.txt.j2"
HTML_TEMPLATE = "email.html.j2"

_FALLBACK_DOMAIN = "alertrouter.invalid"
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Bodies in quoted-printable or base64 when not ASCII: no need for the server's 8BITMIME.
_POLICY = email.policy.default.clone(cte_type="7bit")


def compose(
    config: EmailConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    n: Notification,
    *,
    label: str,
) -> list[Message]:
    if n.reason is NotifyReason.ALL_RESOLVED and not n.send_resolved:
        return []

    def part(name: str, default: str) -> str:
        target = HTML if name == "html" else TEXT
        go_text = go_field(renderer.go, config, name, n.data, label=label, target=target)
        if isinstance(go_text, str):  # Alertmanager's html or text, a Go template
            return go_text
        return render_part(
            renderer, config.templates, name, default, n.data, label=label, target=target
        )

    headers = go_field(renderer.go, config, "headers", n.data, label=label)

    root = thread_root_id(n)
    first = n.opens_incident
    body = {
        "subject": one_line(part("subject", SUBJECT_TEMPLATE)),
        "text": part("text", TEXT_TEMPLATE),
        "html": part("html", HTML_TEMPLATE),
        "message_id": root if first else fresh_message_id(n),
        "in_reply_to": None if first else root,
        "references": None if first else root,
        "date": n.now,
        "headers": {k: one_line(v) for k, v in (headers or {}).items()}
        if isinstance(headers, dict)
        else {},
    }
    return [Message(OP, body)]


def compose_notice(
    config: EmailConfig,
    global_: GlobalConfig,
    renderer: Renderer,
    notice: Notice,
    *,
    label: str,
) -> list[Message]:
    """A notice as one mail: its first line is the subject, the text its body (pure). The
    Message-ID is derived from the notice's key, the same on every replica."""
    try:
        text = renderer.render(notice.template, notice.data, TEXT).strip()
        html = renderer.render(notice.template, notice.data, HTML).strip()
    except TemplateError as exc:
        raise TemplateError(f"{label}, {notice.kind} notice: {exc}") from exc
    external_url = str(notice.data.get("external_url", ""))
    digest = hashlib.sha256(f"{external_url}\0{notice.key}".encode()).hexdigest()[:16]
    html_lines = "<br>\n".join(html.splitlines())
    body = {
        "subject": one_line(text.splitlines()[0] if text else notice.kind),
        "text": text + "\n",
        "html": f"<!doctype html>\n<html><body><p>{html_lines}</p></body></html>\n",
        "message_id": f"<{notice.kind}.{digest}@{message_id_domain(external_url)}>",
        "in_reply_to": None,
        "references": None,
        "date": notice.now,
        "headers": dict(config.headers),
    }
    return [Message(OP, body)]


def one_line(text: str) -> str:
    """A header value: control characters and every kind of line break become one space, so a
    label value cannot end the header and start another."""
    return " ".join(_CONTROL.sub(" ", text).split())


def thread_root_id(n: Notification) -> str:
    installation = str(n.data.get("external_url", ""))
    key = "\0".join((installation, n.group_key, n.receiver, str(n.index), str(n.incident_id)))
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"<incident-{n.incident_id}.{digest}@{message_id_domain(installation)}>"


def fresh_message_id(n: Notification) -> str:
    domain = message_id_domain(str(n.data.get("external_url", "")))
    return f"<{uuid.uuid4().hex}.incident-{n.incident_id}@{domain}>"


def message_id_domain(external_url: str) -> str:
    try:
        host = urlsplit(external_url).hostname or ""
    except ValueError:
        return _FALLBACK_DOMAIN
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host if _DOMAIN.fullmatch(host) else _FALLBACK_DOMAIN
    return f"[{address}]" if address.version == 6 else str(address)


def build_mail(body: Mapping[str, Any], settings: SMTPSettings) -> EmailMessage:
    """multipart/alternative: the text part, then the HTML part (the one clients prefer)."""
    mail = EmailMessage(policy=_POLICY)
    try:
        mail["From"] = settings.header_from
        mail["To"] = settings.header_to
        mail["Subject"] = one_line(body["subject"])
        mail["Date"] = format_datetime(dt.datetime.fromtimestamp(body["date"] / 1000, dt.UTC))
        mail["Message-ID"] = body["message_id"]
        if body.get("in_reply_to"):
            mail["In-Reply-To"] = body["in_reply_to"]
            mail["References"] = body["references"]
        for name, value in body.get("headers", {}).items():
            if canonical_header(name) not in EmailConfig.RESERVED_HEADERS:
                del mail[name]
                mail[name] = value
    except ValueError as exc:  # the policy refuses line breaks and malformed values
        raise DeliveryError(ErrorKind.CONFIG, f"cannot build the mail headers: {exc}") from exc
    mail.set_content(body["text"])
    mail.add_alternative(body["html"], subtype="html")
    return mail
