"""Go's fmt.Sprintf for the values templates have: verbs v s q d f F e E g G x X o b c t T
and %%, flags `+ - # 0` and space, width and precision (also `*`). A wrong or missing
argument prints as Go prints it (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA ...)`). Pure."""

from __future__ import annotations

import re
from typing import Any

from alertrouter.gotemplate.values import KV, format_float, format_value, type_name

_SPEC = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?(.)?", re.DOTALL)


def sprintf(layout: str, args: tuple[Any, ...]) -> str:
    out: list[str] = []
    pos = 0
    used = 0
    while True:
        start = layout.find("%", pos)
        if start < 0:
            out.append(layout[pos:])
            break
        out.append(layout[pos:start])
        match = _SPEC.match(layout, start)
        assert match is not None  # the pattern matches any "%"
        flags, width_text, precision_text, verb = match.groups()
        pos = match.end()
        if verb is None:
            out.append("%!(NOVERB)")
            break
        if verb == "%":
            out.append("%")
            continue
        width = precision = None
        if width_text == "*":
            width, used = _star(args, used)
        elif width_text:
            width = int(width_text)
        if precision_text == "*":
            precision, used = _star(args, used)
        elif precision_text is not None:
            precision = int(precision_text or "0")
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        value = args[used]
        used += 1
        out.append(_pad(_one(verb, value, flags, precision), width, flags, verb, value))
    if used < len(args):
        extra = ", ".join(f"{type_name(a)}={format_value(a)}" for a in args[used:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _star(args: tuple[Any, ...], used: int) -> tuple[int | None, int]:
    if used < len(args) and isinstance(args[used], int):
        return args[used], used + 1
    return None, used + 1


def _pad(text: str, width: int | None, flags: str, verb: str, value: Any) -> str:
    if width is None or len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if "0" in flags and numeric and verb not in "sqvT":
        sign = text[0] if text[:1] in "+- " else ""
        return sign + text[len(sign) :].rjust(width - len(sign), "0")
    return text.rjust(width)


def _bad(verb: str, value: Any) -> str:
    return f"%!{verb}({type_name(value)}={format_value(value)})"


def _one(verb: str, value: Any, flags: str, precision: int | None) -> str:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if verb == "T":
        return type_name(value)
    if verb == "v":
        if isinstance(value, float) and precision is not None:
            return _sign(f"{value:.{precision}g}", value, flags)
        return _sign(format_value(value), value, flags) if is_int else format_value(value)
    if verb in "sq" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[" + " ".join(_one(verb, v, flags, precision) for v in value) + "]"
    if verb == "s":
        if isinstance(value, str):
            return value if precision is None else value[:precision]
        if isinstance(value, KV | list) or value is None or hasattr(value, "Format"):
            return format_value(value)
        return _bad(verb, value)
    if verb == "q":
        if isinstance(value, str):
            return quote(value)
        if is_int:
            return "'" + quote(chr(value))[1:-1].replace('\\"', '"') + "'"
        return _bad(verb, value)
    if verb == "t":
        return ("true" if value else "false") if isinstance(value, bool) else _bad(verb, value)
    if verb == "c":
        return chr(value) if is_int else _bad(verb, value)
    if verb in "dboxX" and is_int:
        base = {"d": "d", "b": "b", "o": "o", "x": "x", "X": "X"}[verb]
        digits = format(abs(value), base)
        if precision is not None:
            digits = digits.rjust(precision, "0")
        if "#" in flags and verb in "xXob":
            digits = {"x": "0x", "X": "0X", "o": "0", "b": "0b"}[verb] + digits
        return _sign(("-" if value < 0 else "") + digits, value, flags)
    if verb in "xX" and isinstance(value, str):
        text = value.encode().hex()
        return text.upper() if verb == "X" else text
    if verb in "eEfFgG" and isinstance(value, float | int) and not isinstance(value, bool):
        if is_int:
            return _bad(verb, value)
        if verb in "gG" and precision is None:
            text = format_float(value)
            return _sign(text.upper() if verb == "G" else text, value, flags)
        text = format(value, f".{6 if precision is None else precision}{verb}")
        return _sign(text, value, flags)
    return _bad(verb, value)


def _sign(text: str, value: Any, flags: str) -> str:
    if text.startswith("-"):
        return text
    if "+" in flags:
        return "+" + text
    if " " in flags:
        return " " + text
    return text


def quote(text: str) -> str:
    """strconv.Quote."""
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(char)])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)
