"""HTML normalisation for comparing Go's html/template output with Jinja2's autoescaped output.

What is normalised, and why: Go's html/template drops HTML comments (Jinja2 keeps the
template's text), and the two escape differently where the meaning is the same (`&#34;` vs
`&#34;`/`&quot;`, `&#39;`; Go also percent-encodes characters in URL attributes). So both are
parsed (the standard library's HTMLParser, character references decoded) into a list of
start tags (attributes in order, values decoded), end tags and text, with comments dropped and
runs of white space in text collapsed to one space (text that is only white space dropped).
Everything else — tags, attributes, their order and values, the text — must be equal.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import unquote


class _Events(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[str, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = tuple(f"{k}={unquote(v or '')}" for k, v in attrs)
        self.events.append(("start", tag, *values))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text:
            self.events.append(("text", text))

    def handle_decl(self, decl: str) -> None:
        self.events.append(("decl", " ".join(decl.split())))


def normalise(html: str) -> list[tuple[str, ...]]:
    parser = _Events()
    parser.feed(html)
    parser.close()
    # adjacent text (split by a dropped comment) is one text
    merged: list[tuple[str, ...]] = []
    for event in parser.events:
        if event[0] == "text" and merged and merged[-1][0] == "text":
            merged[-1] = ("text", merged[-1][1] + " " + event[1])
        else:
            merged.append(event)
    return merged
