"""The functions a converted template calls: Go text/template's builtins and Alertmanager's
template functions, with Go's semantics (errors where Go errs). Pure.

Each is registered in the Jinja2 environment as `go_<name>` (render.environment); `and`,
`or` and `not` become Jinja2's own operators, which, like Go's since 1.18, return an operand
and do not evaluate what they need not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus

import re2
from markupsafe import Markup

from alertrouter.gotemplate.gotime import GoDuration, GoTime
from alertrouter.gotemplate.printf import sprintf
from alertrouter.gotemplate.values import KV, format_value, go_html_str, go_str, kv_items, type_name


class GoRuntimeError(Exception):
    """What Go's template execution would fail with."""


def truth(value: Any) -> bool:
    return bool(value)


# comparisons

_KINDS = ((bool, "bool"), (int, "int"), (float, "float"), (str, "string"))


def _kind(value: Any) -> str | None:
    for python, kind in _KINDS:
        if isinstance(value, python):
            return kind
    return None


def go_eq(first: Any, *others: Any) -> bool:
    if not others:
        raise GoRuntimeError("missing argument for comparison")
    k1 = _kind(first)
    for other in others:
        k2 = _kind(other)
        if k1 is None or k2 is None:
            if first is None or other is None:
                if first is other:
                    return True
                continue
            if isinstance(first, KV | list) or isinstance(other, KV | list):
                raise GoRuntimeError("non-comparable type")
            if first == other:
                return True
            continue
        if k1 != k2:
            raise GoRuntimeError("incompatible types for comparison")
        if first == other:
            return True
    return False


def go_ne(a: Any, b: Any) -> bool:
    return not go_eq(a, b)


def _ordered(a: Any, b: Any) -> None:
    k1, k2 = _kind(a), _kind(b)
    if k1 in (None, "bool") or k2 in (None, "bool"):
        raise GoRuntimeError("invalid type for comparison")
    if k1 != k2:
        raise GoRuntimeError("incompatible types for comparison")


def go_lt(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a < b)


def go_le(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a <= b)


def go_gt(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a > b)


def go_ge(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a >= b)


# collections


def go_len(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list | tuple | KV | Mapping):
        return len(value)
    raise GoRuntimeError(f"len of type {type_name(value)}")


def go_index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, KV):
            if not isinstance(key, str):
                raise GoRuntimeError("value has type int; should be string")
            value = value[key]
        elif isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, list | tuple | str):
            if not isinstance(key, int) or isinstance(key, bool):
                raise GoRuntimeError(f"cannot index slice/array with type {type_name(key)}")
            items = value.encode() if isinstance(value, str) else value
            if not 0 <= key < len(items):
                raise GoRuntimeError(f"error calling index: index out of range: {key}")
            value = items[key]
        elif value is None:
            raise GoRuntimeError("index of untyped nil")
        else:
            raise GoRuntimeError(f"can't index item of type {type_name(value)}")
    return value


def go_slice(value: Any, *bounds: int) -> Any:
    if len(bounds) > 3 or (len(bounds) == 3 and isinstance(value, str)):
        raise GoRuntimeError("too many slice indexes")
    items = value.encode() if isinstance(value, str) else value
    if not isinstance(items, bytes | list | tuple):
        raise GoRuntimeError(f"can't slice item of type {type_name(value)}")
    low = bounds[0] if bounds else 0
    high = bounds[1] if len(bounds) > 1 else len(items)
    if not 0 <= low <= high <= len(items):
        raise GoRuntimeError(f"error calling slice: index out of range: {high}")
    part = items[low:high]
    return part.decode(errors="replace") if isinstance(part, bytes) else list(part)


def go_range(value: Any) -> list[Any]:
    return [item for _, item in go_range_pairs(value)]


def go_range_pairs(value: Any) -> list[tuple[Any, Any]]:
    """What `range` walks: a slice by index, a map by sorted key; nil is empty."""
    if value is None:
        return []
    if isinstance(value, KV):
        return kv_items(value)
    if isinstance(value, Mapping):
        return sorted(value.items())
    if isinstance(value, list | tuple):
        return list(enumerate(value))
    if isinstance(value, int) and not isinstance(value, bool):
        raise GoRuntimeError("range can't iterate over an integer in Alertmanager 0.25 (Go 1.22)")
    raise GoRuntimeError(f"range can't iterate over {format_value(value)}")


# printing and escaping


def _operand_is_string(value: Any) -> bool:
    return isinstance(value, str)


def go_print(*args: Any) -> str:
    """fmt.Sprint: a space between operands when neither is a string."""
    out: list[str] = []
    for index, arg in enumerate(args):
        if index and not _operand_is_string(arg) and not _operand_is_string(args[index - 1]):
            out.append(" ")
        out.append(format_value(arg))
    return "".join(out)


def go_println(*args: Any) -> str:
    return " ".join(format_value(arg) for arg in args) + "\n"


def go_printf(layout: str, *args: Any) -> str:
    return sprintf(str(layout), args)


_HTML = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\ufffd"}


def go_html(*args: Any) -> str:
    text = go_print(*args) if len(args) != 1 or not isinstance(args[0], str) else args[0]
    return "".join(_HTML.get(char, char) for char in text)


_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026"}
_JS["="] = "\\u003D"


def go_js(*args: Any) -> str:
    text = go_print(*args) if len(args) != 1 or not isinstance(args[0], str) else args[0]
    out = []
    for char in text:
        if char in _JS:
            out.append(_JS[char])
        elif ord(char) < 0x20 or not char.isprintable():
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def go_urlquery(*args: Any) -> str:
    text = go_print(*args) if len(args) != 1 or not isinstance(args[0], str) else args[0]
    return quote_plus(text, safe="~")


# Alertmanager's functions


def go_toUpper(text: str) -> str:
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in _string(text))


def go_toLower(text: str) -> str:
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in _string(text))


# A word, as x/text's title caser sees words: letters, digits, marks and connectors, joined
# by an apostrophe, a period or a colon between letters.
_WORD = re.compile(r"[\w\u0300-\u036f]+(?:['.:’][^\W\d_][\w\u0300-\u036f]*)*")


def go_title(text: str) -> str:
    """cases.Title(language.AmericanEnglish): in each word the first letter upper case (digits
    before it stay: "1st" is "1St"), the letters after it lower case."""

    def word(match: re.Match[str]) -> str:
        text = match.group()
        first = next((i for i, char in enumerate(text) if char.isalpha()), len(text))
        return text[:first] + text[first : first + 1].upper() + text[first + 1 :].lower()

    return _WORD.sub(word, _string(text))


def go_trimSpace(text: str) -> str:
    return _string(text).strip(
        " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
        "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f"
        "\u205f\u3000"
    )


def go_join(separator: str, items: Any) -> str:
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise GoRuntimeError(f"wrong type for value; expected []string; got {type_name(items)}")
    return _string(separator).join(items)


def _regex(pattern: str) -> Any:
    try:
        return re2.compile(_string(pattern))
    except re2.error as exc:
        raise GoRuntimeError(f"error parsing regexp: {exc}") from None


def go_match(pattern: str, text: str) -> bool:
    return _regex(pattern).search(_string(text)) is not None


_TEMPLATE_REF = re.compile(r"\$(?:\$|\{(\w*)\}|(\w+))")


def go_reReplaceAll(pattern: str, replacement: str, text: str) -> str:
    """regexp.ReplaceAllString: `$1`, `${1}`, `$name`, `${name}` expand (a name is the
    longest run of letters, digits and `_`: `$1x` is the group named "1x"), `$$` is `$`."""
    regex = _regex(pattern)
    template = _string(replacement)

    def expand(match: Any) -> str:
        def one(ref: re.Match[str]) -> str:
            if ref.group() == "$$":
                return "$"
            name = ref.group(1) if ref.group(1) is not None else ref.group(2)
            try:
                value = match.group(int(name)) if name.isdigit() else match.group(name)
            except (IndexError, KeyError, ValueError, re2.error):
                return ""
            return value or ""

        return _TEMPLATE_REF.sub(one, template)

    return regex.sub(expand, _string(text))


def go_safeHtml(text: str) -> Markup:
    return Markup(_string(text))


def go_stringSlice(*items: str) -> list[str]:
    return [_string(item) for item in items]


def go_humanizeDuration(value: Any) -> str:
    """Prometheus' humanizeDuration (Alertmanager 0.27 on): seconds as "1d 2h 3m 4s", below a
    second in ms, µs or ns."""
    if isinstance(value, GoDuration):
        seconds = value.Seconds
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            raise GoRuntimeError(f"can't convert {value!r} to float") from None
    else:
        raise GoRuntimeError(f"can't convert {type_name(value)} to float")
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return f"{seconds:.4g}"
    if abs(seconds) >= 1:
        sign = "-" if seconds < 0 else ""
        rest = abs(seconds)
        days, rest = divmod(int(rest), 86400) if rest >= 86400 else (0, rest)
        hours, rest = divmod(rest, 3600)
        minutes, rest = divmod(rest, 60)
        secs = abs(seconds) - days * 86400 - int(hours) * 3600 - int(minutes) * 60
        if days:
            return f"{sign}{days}d {int(hours)}h {int(minutes)}m {int(secs)}s"
        if hours:
            return f"{sign}{int(hours)}h {int(minutes)}m {int(secs)}s"
        if minutes:
            return f"{sign}{int(minutes)}m {int(secs)}s"
        return f"{sign}{secs:.4g}s"
    prefix = _si_prefix(seconds)
    return prefix


def _si_prefix(seconds: float) -> str:
    if seconds == 0:
        return "0s"
    for scale, unit in ((1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.4g}{unit}"
    return f"{seconds / 1e-12:.4g}ps"


def go_date(layout: str, when: GoTime) -> str:
    """Alertmanager 0.28's `date`: the time in Go's layout."""
    if not isinstance(when, GoTime):
        raise GoRuntimeError(f"wrong type for value; expected time.Time; got {type_name(when)}")
    return when.Format(_string(layout))


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise GoRuntimeError(f"wrong type for value; expected string; got {type_name(value)}")
    return value


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "eq": go_eq,
    "ne": go_ne,
    "lt": go_lt,
    "le": go_le,
    "gt": go_gt,
    "ge": go_ge,
    "len": go_len,
    "index": go_index,
    "slice": go_slice,
    "print": go_print,
    "printf": go_printf,
    "println": go_println,
    "html": go_html,
    "js": go_js,
    "urlquery": go_urlquery,
    "toUpper": go_toUpper,
    "toLower": go_toLower,
    "title": go_title,
    "trimSpace": go_trimSpace,
    "join": go_join,
    "match": go_match,
    "reReplaceAll": go_reReplaceAll,
    "safeHtml": go_safeHtml,
    "stringSlice": go_stringSlice,
    "humanizeDuration": go_humanizeDuration,
    "date": go_date,
}
# Operators in Jinja2; `call` (calling a function-valued field) has nothing to call here.
OPERATORS = frozenset({"and", "or", "not"})
KNOWN = frozenset(FUNCTIONS) | OPERATORS


def go_field(value: Any, name: str) -> Any:
    """`.name` on a value, when `name` cannot be a Jinja2 attribute (it starts with `_` or is
    a Jinja2 keyword): a map's key, else the data's field."""
    if isinstance(value, KV):
        return value[name]
    if isinstance(value, Mapping):
        return value.get(name)
    if name.startswith("_") or not hasattr(value, name):
        raise GoRuntimeError(f"can't evaluate field {name} in type {type_name(value)}")
    return getattr(value, name)


def go_no_template(name: str) -> str:
    raise GoRuntimeError(f'no such template "{name}"')


RUNTIME: dict[str, Callable[..., Any]] = {
    **{f"go_{name}": function for name, function in FUNCTIONS.items()},
    "go_field": go_field,
    "go_no_template": go_no_template,
    "go_str": go_str,
    "go_range": go_range,
    "go_range_pairs": go_range_pairs,
}


# html/template's URL contexts (see emit.url_context): in an href, src ... attribute, a value
# at the start of the URL must have a safe scheme (else Go prints "#ZgotmplZ"), and is
# normalised; a value in the query or fragment is escaped. In text templates: printing only.

_URL_SAFE_SCHEMES = ("http", "https", "mailto")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_RESERVED = frozenset(b"!#$&*+,/:;=?@[]'()%")


def _plain_text(value: Any) -> str:
    return value.unescape() if isinstance(value, Markup) else go_str(value)


def _percent(text: str, keep: frozenset[int]) -> str:
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in text.encode())


def url_start(value: Any) -> str:
    text = _plain_text(value)
    scheme = _SCHEME.match(text)
    if scheme and scheme.group(1).lower() not in _URL_SAFE_SCHEMES:
        return "#ZgotmplZ"
    return _percent(text, _UNRESERVED | _RESERVED)


def url_path(value: Any) -> str:
    return _percent(_plain_text(value), _UNRESERVED | _RESERVED)


def url_query(value: Any) -> str:
    return _percent(_plain_text(value), _UNRESERVED)


HTML_RUNTIME: dict[str, Callable[..., Any]] = {
    "go_str": go_html_str,
    "go_url_start": url_start,
    "go_url_path": url_path,
    "go_url_query": url_query,
}
RUNTIME |= dict.fromkeys(HTML_RUNTIME, go_str)  # in text templates: printing
