"""Cutting text to a service's length limits without breaking it. Pure.

Lengths are counted in UTF-16 code units, as Discord and Telegram count them (a character
outside the Basic Multilingual Plane, e.g. most emoji, counts twice): never more than the
service allows, and a surrogate pair is never split.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def truncate(text: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """`text` if it fits in `limit` UTF-16 units, else its longest prefix that fits with
    `ellipsis` after it. A backslash left dangling at the cut (a markdown escape cut in half)
    is dropped."""
    if utf16_len(text) <= limit:
        return text
    room = limit - utf16_len(ellipsis)
    kept = _prefix(text, room)
    if (len(kept) - len(kept.rstrip("\\"))) % 2:
        kept = kept[:-1]
    return kept + ellipsis


def _prefix(text: str, units: int) -> str:
    """The longest prefix of `text` of at most `units` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:index]
    return text


# A tag, an entity, or one character: how Telegram reads its HTML parse mode.
_HTML_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][a-zA-Z0-9-]*)")


def truncate_html(html: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """Telegram HTML cut so that its text (tags not counted, an entity counting as one
    character) fits in `limit` UTF-16 units: cut between tags and entities, never inside one,
    with `ellipsis` appended and every tag still open closed."""
    tokens = _HTML_TOKEN.findall(html)
    if sum(_visible(token) for token in tokens) <= limit:
        return html
    room = limit - utf16_len(ellipsis)
    out: list[str] = []
    open_tags: list[str] = []
    used = 0
    for token in tokens:
        if token.startswith("<") and token.endswith(">") and len(token) > 1:
            name_match = _TAG_NAME.match(token)
            name = name_match.group(1).lower() if name_match else ""
            if token.startswith("</"):
                if name in open_tags:
                    del open_tags[len(open_tags) - 1 - open_tags[::-1].index(name)]
            elif not token.endswith("/>") and name:
                open_tags.append(name)
            out.append(token)
            continue
        size = _visible(token)
        if used + size > room:
            break
        used += size
        out.append(token)
    return "".join(out) + ellipsis + "".join(f"</{name}>" for name in reversed(open_tags))


def _visible(token: str) -> int:
    if len(token) > 1 and token.startswith("<") and token.endswith(">"):
        return 0
    if len(token) > 1 and token.startswith("&"):
        return 1
    return utf16_len(token)
