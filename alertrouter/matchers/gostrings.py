"""Go string semantics the matcher parsers need: whitespace, quoting, unquoting."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Final

# Go's unicode.IsSpace: the Unicode White_Space property.
GO_SPACE: Final = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_GO_SPACE_CHARS: Final = "".join(sorted(GO_SPACE))
# The UTF-8 lexer's reserved characters (besides whitespace), also used by Matcher.String().
_RESERVED_PUNCT: Final = frozenset("{}!=~,\\\"'`")


def is_reserved(ch: str) -> bool:
    return ch in _RESERVED_PUNCT or ch in GO_SPACE


def go_trim_space(s: str) -> str:
    """strings.TrimSpace."""
    return s.strip(_GO_SPACE_CHARS)


def _is_surrogate(ch: str) -> bool:
    return "\ud800" <= ch <= "\udfff"


def is_valid_utf8(s: str) -> bool:
    """utf8.ValidString for a Python str: only lone surrogates cannot be encoded."""
    return not any(_is_surrogate(ch) for ch in s)


_GO_SIMPLE_ESCAPES: Final[Mapping[str, str]] = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def _go_is_print(ch: str) -> bool:
    """strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    if " " <= ch <= "~":
        return True
    if ch < "\x80":
        return False
    return unicodedata.category(ch)[0] in "LMNPS"


def go_quote(s: str) -> str:
    """strconv.Quote: a double-quoted Go string literal."""
    out = ['"']
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif _go_is_print(ch):
            out.append(ch)
        elif ch in _GO_SIMPLE_ESCAPES:
            out.append(_GO_SIMPLE_ESCAPES[ch])
        else:
            cp = ord(ch)
            if cp < 0x20 or cp == 0x7F:
                out.append(f"\\x{cp:02x}")
            elif _is_surrogate(ch):
                out.append("\\ufffd")
            elif cp < 0x10000:
                out.append(f"\\u{cp:04x}")
            else:
                out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


_SIMPLE_UNESCAPES: Final[Mapping[str, int]] = {
    "a": 0x07,
    "b": 0x08,
    "f": 0x0C,
    "n": 0x0A,
    "r": 0x0D,
    "t": 0x09,
    "v": 0x0B,
    "\\": 0x5C,
    '"': 0x22,
}
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_OCTAL_DIGITS: Final = frozenset("01234567")


def go_unquote(literal: str) -> str:
    """strconv.Unquote for a double-quoted literal, plus the parser's UTF-8 validity check.

    Raises ValueError where Go returns an error: a literal newline, an unknown escape such as
    ``\\w`` or ``\\'``, bad ``\\x``/``\\u``/``\\U``/octal escapes, or bytes (from ``\\x`` or
    octal escapes) that do not form valid UTF-8.
    """
    if len(literal) < 2 or literal[0] != '"' or literal[-1] != '"':
        raise ValueError("not a double-quoted string")
    body = literal[1:-1]
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == "\n" or ch == '"':
            raise ValueError("unescaped newline or quote")
        if ch != "\\":
            # Go's DecodeRune turns bytes that are not UTF-8 into U+FFFD.
            out += ("\ufffd" if _is_surrogate(ch) else ch).encode()
            i += 1
            continue
        if i + 1 >= n:
            raise ValueError("trailing backslash")
        esc = body[i + 1]
        i += 2
        if esc in _SIMPLE_UNESCAPES:
            out.append(_SIMPLE_UNESCAPES[esc])
        elif esc in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[esc]
            digits = body[i : i + width]
            if len(digits) < width or not all(d in _HEX_DIGITS for d in digits):
                raise ValueError("bad hex escape")
            i += width
            value = int(digits, 16)
            if esc == "x":
                out.append(value)  # a single byte, possibly not UTF-8 on its own
            elif value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                raise ValueError("invalid code point")
            else:
                out += chr(value).encode()
        elif esc in _OCTAL_DIGITS:
            digits = esc + body[i : i + 2]
            if len(digits) < 3 or not all(d in _OCTAL_DIGITS for d in digits):
                raise ValueError("bad octal escape")
            i += 2
            value = int(digits, 8)
            if value > 0xFF:
                raise ValueError("octal escape out of range")
            out.append(value)
        else:
            raise ValueError(f"unknown escape \\{esc}")
    return out.decode("utf-8")  # UnicodeDecodeError is a ValueError


OPENMETRICS_ESCAPES: Final = str.maketrans({"\\": "\\\\", "\n": "\\n", '"': '\\"'})
