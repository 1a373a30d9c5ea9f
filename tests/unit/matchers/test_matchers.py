"""Tests for alertrouter.matchers against Alertmanager's own behaviour.

Where a case comes from Alertmanager's test tables its id starts with a tag naming the file:

  [parse]      matcher/parse/parse_test.go        (UTF-8 parser)
  [lexer]      matcher/parse/lexer_test.go        (UTF-8 lexer errors, seen through the parser)
  [labels]     pkg/labels/parse_test.go           (classic parser)
  [compat]     matcher/compat/parse_test.go       (fallback mode)
  [compliance] matcher/compliance/compliance_test.go
  [matcher]    pkg/labels/matcher_test.go         (Matches and String)

Cases without a tag were worked out from Alertmanager's source (lexer.go, parse.go, token.go,
pkg/labels/parse.go, matcher.go, compat/parse.go) and Go's strconv/regexp semantics.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertrouter.matchers import (
    Matcher,
    MatcherParseError,
    MatchType,
    format_matchers,
    matches_all,
    parse_matcher,
    parse_matchers,
    parse_matchers_classic,
    parse_matchers_config,
    parse_matchers_utf8,
    sort_matchers,
)

EQ, NE, RE, NRE = MatchType.EQUAL, MatchType.NOT_EQUAL, MatchType.REGEX, MatchType.NOT_REGEX
OP_HINT = "expected an operator such as '=', '!=', '=~' or '!~'"


def triples(ms: list[Matcher]) -> list[tuple[str, MatchType, str]]:
    return [(m.name, m.type, m.value) for m in ms]


# ----------------------------------------------------------------------------------------------
# UTF-8 parser: (input, expected triples or exact error message)
# ----------------------------------------------------------------------------------------------

UTF8_CASES = [
    pytest.param("", [], id="[parse] no input"),
    pytest.param("{}", [], id="[parse] open and closing braces"),
    pytest.param("{foo=bar}", [("foo", EQ, "bar")], id="[parse] equals"),
    pytest.param("{foo=bar,}", [("foo", EQ, "bar")], id="[parse] trailing comma"),
    pytest.param("{foo!=bar}", [("foo", NE, "bar")], id="[parse] not equals"),
    pytest.param("{foo=~[a-z]+}", [("foo", RE, "[a-z]+")], id="[parse] match regex"),
    pytest.param("{foo!~[a-z]+}", [("foo", NRE, "[a-z]+")], id="[parse] not match regex"),
    pytest.param("{foo=🙂}", [("foo", EQ, "🙂")], id="[parse] unquoted emoji"),
    pytest.param("{foo=🙂bar}", [("foo", EQ, "🙂bar")], id="[parse] unquoted unicode sentence"),
    pytest.param("foo=bar,", [("foo", EQ, "bar")], id="[parse] no braces, trailing comma"),
    pytest.param("foo=~[a-z]+", [("foo", RE, "[a-z]+")], id="[parse] regex without braces"),
    pytest.param('{"foo"="bar"}', [("foo", EQ, "bar")], id="[parse] equals in quotes"),
    pytest.param('{"foo"=~"[a-z]+"}', [("foo", RE, "[a-z]+")], id="[parse] regex in quotes"),
    pytest.param(r'{"foo"=~"\\d+"}', [("foo", RE, r"\d+")], id="[parse] escaped regex digit"),
    pytest.param(r'{"foo"="\xf0\x9f\x99\x82"}', [("foo", EQ, "🙂")], id="[parse] emoji as bytes"),
    pytest.param(r'{"foo"="\U0001f642"}', [("foo", EQ, "🙂")], id="[parse] emoji as code point"),
    pytest.param(r'{"foo"="bar\n"}', [("foo", EQ, "bar\n")], id="[parse] escaped newline"),
    pytest.param(r'{"foo"="bar\t"}', [("foo", EQ, "bar\t")], id="[parse] escaped tab"),
    pytest.param(r'{"foo"="\"bar\""}', [("foo", EQ, '"bar"')], id="[parse] escaped quotes"),
    pytest.param(r'{"foo"="bar\\"}', [("foo", EQ, "bar\\")], id="[parse] escaped backslash"),
    pytest.param('"foo"="bar",', [("foo", EQ, "bar")], id="[parse] quoted, trailing comma"),
    pytest.param(
        "{foo=bar,bar!=baz}", [("foo", EQ, "bar"), ("bar", NE, "baz")], id="[parse] complex"
    ),
    pytest.param(
        'foo="bar",bar!="baz"',
        [("foo", EQ, "bar"), ("bar", NE, "baz")],
        id="[parse] complex without braces in quotes",
    ),
    pytest.param(
        ' { foo = "bar" ,\n baz !~ "q.*" , } ',
        [("foo", EQ, "bar"), ("baz", NRE, "q.*")],
        id="whitespace and newlines between tokens",
    ),
    pytest.param('"foo.bar"="x"', [("foo.bar", EQ, "x")], id="UTF-8 name in quotes"),
    pytest.param('{"🙂"="x"}', [("🙂", EQ, "x")], id="emoji name in quotes"),
    pytest.param("foo.bar=x", [("foo.bar", EQ, "x")], id="unquoted dotted name"),
    pytest.param('"foo bar"!="x, y"', [("foo bar", NE, "x, y")], id="quoted name with space"),
    pytest.param('""="x"', [("", EQ, "x")], id="empty quoted name is accepted"),
    pytest.param('foo=""', [("foo", EQ, "")], id="empty quoted value"),
    pytest.param("foo=bar\u00a0", [("foo", EQ, "bar")], id="unicode space ends unquoted value"),
    # Errors.
    pytest.param(",", "0:1: unexpected ,: expected label name", id="[parse] comma"),
    pytest.param("{,}", "1:2: unexpected ,: expected label name", id="[parse] comma in braces"),
    pytest.param("{", "0:1: end of input: expected close brace", id="[parse] open brace"),
    pytest.param("}", "0:1: }: expected opening brace", id="[parse] close brace"),
    pytest.param("foo=bar}", "0:8: }: expected opening brace", id="[parse] no open brace"),
    pytest.param("{foo=bar", "0:8: end of input: expected close brace", id="[parse] no close"),
    pytest.param(
        '{foo=:"bar"}',
        '6:11: unexpected "bar": expected a comma or close brace',
        id="[parse] invalid input after operator and before quotes",
    ),
    pytest.param(r'{foo="bar\w"}', r'5:12: "bar\w": invalid input', id="[parse] bad escape"),
    pytest.param(r'{"foo"=~"\d+"}', r'8:13: "\d+": invalid input', id="[parse] regex \\d"),
    pytest.param(
        r"{foo=bar\n}",
        r"8:9: \: invalid input: expected a comma or close brace",
        id="[parse] no unquoted escape sequences",
    ),
    pytest.param(
        r'{"foo"="\xf0\x9f"}', r'7:17: "\xf0\x9f": invalid input', id="[parse] invalid unicode"
    ),
    pytest.param('"hello', '0:6: "hello: missing end "', id="[lexer] unterminated quoted"),
    pytest.param("~", "0:1: ~: invalid input", id="[lexer] another invalid operator"),
    pytest.param(
        "!", "0:1: unexpected end of input, expected one of '=~'", id="[lexer] invalid operator"
    ),
    pytest.param(
        r'{foo="bar\"}',
        r'5:12: "bar\"}: missing end ": expected label value',
        id="unterminated value with escaped quote",
    ),
    pytest.param(
        "foo!bar", f"3:4: !: expected one of '=~': {OP_HINT}", id="missing operator after !"
    ),
    pytest.param("foo", f"end of input: {OP_HINT}", id="name only"),
    pytest.param("foo bar=baz", f"4:7: unexpected bar: {OP_HINT}", id="space in unquoted name"),
    pytest.param("foo=", "end of input: expected label value", id="missing value"),
    pytest.param("foo='bar'", "4:5: ': invalid input: expected label value", id="single quotes"),
    pytest.param('foo="a\nb"', '4:9: "a\nb": invalid input', id="literal newline in quoted value"),
    pytest.param(r'foo="it\'s"', r'4:11: "it\'s": invalid input', id="escaped single quote"),
    pytest.param(
        "foo=bar=baz",
        "7:8: unexpected =: expected a comma or close brace",
        id="unquoted value with =",
    ),
    pytest.param(
        "foo=bar,,baz=qux",
        "8:9: unexpected ,: expected a matcher or close brace after comma",
        id="double comma",
    ),
    pytest.param("{a=b}c", "5:6: c: expected end of input", id="text after close brace"),
    pytest.param("{a=b},{c=d}", "5:6: ,: expected end of input", id="two brace groups"),
    pytest.param(
        '{foo=~"[x"}',
        "failed to create matcher: error parsing regexp: missing closing ]: `[x)$`",
        id="bad regex",
    ),
]


@pytest.mark.parametrize(("text", "expected"), UTF8_CASES)
def test_parse_utf8(text: str, expected: list[tuple[str, MatchType, str]] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(MatcherParseError) as info:
            parse_matchers_utf8(text)
        assert str(info.value) == expected
    else:
        assert triples(parse_matchers_utf8(text)) == expected


# ----------------------------------------------------------------------------------------------
# Classic parser
# ----------------------------------------------------------------------------------------------

CLASSIC_CASES = [
    pytest.param("{}", [], id="[labels] empty braces"),
    pytest.param(",", "bad matcher format: ", id="[labels] comma"),
    pytest.param("{,}", "bad matcher format: ", id="[labels] comma in braces"),
    pytest.param("{foo='}", [("foo", EQ, "'")], id="[labels] single quote"),
    pytest.param("{foo=`}", [("foo", EQ, "`")], id="[labels] backtick"),
    pytest.param(r"{foo=\"}", [("foo", EQ, '"')], id="[labels] escaped quote"),
    pytest.param("{foo=~bar.*}", [("foo", RE, "bar.*")], id="[labels] unquoted regex"),
    pytest.param(
        '{foo="bar", baz!~"quux.*"}',
        [("foo", EQ, "bar"), ("baz", NRE, "quux.*")],
        id="[labels] two matchers",
    ),
    pytest.param(
        '{foo="bar,quux", job="job1"}',
        [("foo", EQ, "bar,quux"), ("job", EQ, "job1")],
        id="[labels] comma inside quotes",
    ),
    pytest.param(
        '{foo = "bar", dings != "bums", }',
        [("foo", EQ, "bar"), ("dings", NE, "bums")],
        id="[labels] spaces and trailing comma",
    ),
    pytest.param(
        '{quote="She said: \\"Hi, ladies! That\'s gender-neutral…\\""}',
        [("quote", EQ, 'She said: "Hi, ladies! That\'s gender-neutral…"')],
        id="[labels] escaped quotes and comma",
    ),
    pytest.param("tricky=~~~", [("tricky", RE, "~~")], id="[labels] tricky"),
    pytest.param(r"trickier==\\=\=\"", [("trickier", EQ, r'=\=\="')], id="[labels] trickier"),
    pytest.param(
        r'contains_quote != "\"" , contains_comma !~ "foo,bar" , ',
        [("contains_quote", NE, '"'), ("contains_comma", NRE, "foo,bar")],
        id="[labels] quote and comma",
    ),
    pytest.param("{foo=bar}}", [("foo", EQ, "bar}")], id="[labels] extra close brace"),
    pytest.param(
        "{foo=,bar=}}", [("foo", EQ, ""), ("bar", EQ, "}")], id="[labels] empty and brace"
    ),
    pytest.param(r"{foo=bar\t}", [("foo", EQ, r"bar\t")], id="[labels] spurious escape"),
    pytest.param(r"{foo=bar\n}", [("foo", EQ, "bar\n")], id="[labels] escaped newline"),
    pytest.param(r"{foo=bar\}", [("foo", EQ, "bar\\")], id="[labels] trailing backslash"),
    pytest.param("job=", [("job", EQ, "")], id="[labels] empty value"),
    pytest.param("{foo=}b", [("foo", EQ, "}b")], id="[labels] brace in value"),
    pytest.param(
        'job="value', 'matcher value contains unescaped double quote: "value', id="[labels] open"
    ),
    pytest.param(
        'job=value"', 'matcher value contains unescaped double quote: value"', id="[labels] end"
    ),
    pytest.param(
        '{invalid-name = "valid label"}',
        'bad matcher format: invalid-name = "valid label"',
        id="[labels] invalid name",
    ),
    pytest.param(
        '{foo=~"invalid[regexp"}',
        "error parsing regexp: missing closing ]: `[regexp)$`",
        id="[labels] invalid regexp",
    ),
    pytest.param(r'"foo=\"bar"', r'bad matcher format: "foo=\"bar"', id="[labels] double esc"),
    pytest.param("{{foo=", "bad matcher format: {foo=", id="[labels] two open braces"),
    pytest.param("a=b,,c=d", "bad matcher format: ", id="empty part between commas"),
    pytest.param(" {a=b}", "bad matcher format: {a=b", id="brace after leading space is kept"),
    pytest.param("foo= bar baz ", [("foo", EQ, "bar baz")], id="inner spaces kept"),
    pytest.param(
        "foo=bar\u00a0,x=y",
        [("foo", EQ, "bar\u00a0"), ("x", EQ, "y")],
        id="only the last part is trimmed of unicode space",
    ),
    pytest.param('foo="a\nb"', [("foo", EQ, "a\nb")], id="literal newline tolerated"),
    pytest.param(r'foo="a\tb"', [("foo", EQ, r"a\tb")], id="quoted spurious escape"),
]


@pytest.mark.parametrize(("text", "expected"), CLASSIC_CASES)
def test_parse_classic(text: str, expected: list[tuple[str, MatchType, str]] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(MatcherParseError) as info:
            parse_matchers_classic(text)
        assert str(info.value) == expected
    else:
        assert triples(parse_matchers_classic(text)) == expected


# ----------------------------------------------------------------------------------------------
# Fallback mode (the default): (input, expected triples or error, expected warning)
# warning: None, "fallback" (classic used, UTF-8 failed), "disagreement", or "empty".
# ----------------------------------------------------------------------------------------------

FALLBACK_CASES = [
    pytest.param(
        "{foo=bar,bar=baz}",
        [("foo", EQ, "bar"), ("bar", EQ, "baz")],
        None,
        id="[compat] accepted by both",
    ),
    pytest.param("{foo!bar}", "bad matcher format: foo!bar", None, id="[compat] neither"),
    pytest.param(
        "{foo🙂=bar,bar=baz🙂}",
        [("foo🙂", EQ, "bar"), ("bar", EQ, "baz🙂")],
        None,
        id="[compat] UTF-8 only",
    ),
    pytest.param(
        r"{foo=!bar,bar=$baz\n}",
        [("foo", EQ, "!bar"), ("bar", EQ, "$baz\n")],
        "fallback",
        id="[compat] classic only",
    ),
    pytest.param(
        r'{foo="\xf0\x9f\x99\x82"}',
        [("foo", EQ, r"\xf0\x9f\x99\x82")],
        "disagreement",
        id="[compat] disagreement uses classic",
    ),
    pytest.param(
        '{foo=~"invalid[regexp"}',
        "error parsing regexp: missing closing ]: `[regexp)$`",
        None,
        id="[compliance] both fail: classic error wins",
    ),
    pytest.param(
        'foo="bar", baz', "bad matcher format: baz", None, id="both fail: classic error wins"
    ),
    pytest.param(
        '{foo="bar}',
        'unterminated quoted string (matcher value contains unescaped double quote: "bar)',
        None,
        id="unterminated quote: named as such, then the classic error",
    ),
    pytest.param(r'foo=~"\d+"', [("foo", RE, r"\d+")], "fallback", id="unescaped \\d falls back"),
    pytest.param(r'foo=~"\\d+"', [("foo", RE, r"\d+")], None, id="escaped \\d agrees"),
    pytest.param(r'foo="a\tb"', [("foo", EQ, r"a\tb")], "disagreement", id="\\t disagrees"),
    pytest.param('foo="a\nb"', [("foo", EQ, "a\nb")], "fallback", id="literal newline"),
    pytest.param("foo=bar=baz", [("foo", EQ, "bar=baz")], "fallback", id="= in value"),
    pytest.param("foo='bar'", [("foo", EQ, "'bar'")], "fallback", id="single-quoted value"),
    pytest.param('{foo="bar"', [("foo", EQ, "bar")], "fallback", id="missing close brace"),
    pytest.param("}", [], "fallback", id="lone close brace"),
    pytest.param("", [], "empty", id="empty input"),
    pytest.param("{}", [], "empty", id="empty braces"),
    pytest.param('"foo.bar"="x"', [("foo.bar", EQ, "x")], None, id="UTF-8 name, no warning"),
    pytest.param('{"🙂"=~"🙂+"}', [("🙂", RE, "🙂+")], None, id="emoji name and value"),
    pytest.param('""=x', [("", EQ, "x")], None, id="empty name from UTF-8 parser"),
    pytest.param(
        '{a="b", c=~"d"}', [("a", EQ, "b"), ("c", RE, "d")], None, id="braces, list, agree"
    ),
]


@pytest.mark.parametrize(("text", "expected", "warning"), FALLBACK_CASES)
def test_parse_fallback(
    text: str, expected: list[tuple[str, MatchType, str]] | str, warning: str | None
) -> None:
    warnings: list[str] = []
    if isinstance(expected, str):
        with pytest.raises(MatcherParseError) as info:
            parse_matchers(text, on_warning=warnings.append)
        assert str(info.value) == expected
        assert warnings == []
        return
    assert triples(parse_matchers(text, on_warning=warnings.append)) == expected
    if warning is None:
        assert warnings == []
    else:
        assert len(warnings) == 1
        marker = {
            "fallback": "classic matchers parser instead",
            "disagreement": "has disagreement",
            "empty": "has no matchers",
        }[warning]
        assert marker in warnings[0]
        assert repr(text) in warnings[0]


def test_fallback_warning_has_utf8_error_and_suggestion() -> None:
    warnings: list[str] = []
    parse_matchers(r'foo=~"\d+"', on_warning=warnings.append)
    assert r'5:10: "\d+": invalid input' in warnings[0]
    assert r'Suggestion: foo=~"\\d+"' in warnings[0]


def test_fallback_without_callback_is_silent() -> None:
    assert triples(parse_matchers("foo=bar=baz")) == [("foo", EQ, "bar=baz")]


# ----------------------------------------------------------------------------------------------
# parse_matcher: exactly one matcher, Alertmanager's FallbackMatcherParser
# ----------------------------------------------------------------------------------------------

SINGLE_CASES = [
    pytest.param("foo=bar", ("foo", EQ, "bar"), None, id="[compat] accepted"),
    pytest.param("foo!bar", "bad matcher format: foo!bar", None, id="[compat] neither"),
    pytest.param("foo🙂=bar", ("foo🙂", EQ, "bar"), None, id="[compat] UTF-8 only"),
    pytest.param(r"foo=!bar\n", ("foo", EQ, "!bar\n"), "fallback", id="[compat] classic only"),
    pytest.param(
        r'foo="\xf0\x9f\x99\x82"',
        ("foo", EQ, r"\xf0\x9f\x99\x82"),
        "disagreement",
        id="[compat] disagreement",
    ),
    pytest.param("a=b,c=d", ("a", EQ, "b,c=d"), "fallback", id="comma is part of the value"),
    pytest.param("a=b,", ("a", EQ, "b,"), "disagreement", id="trailing comma disagrees"),
    pytest.param("{a=b}", "unexpected open or close brace: {a=b}", None, id="braces rejected"),
    pytest.param("a=b}", "unexpected open or close brace: a=b}", None, id="close brace"),
    pytest.param("", "bad matcher format: ", None, id="empty input"),
    pytest.param(' job =~ "a|b" ', ("job", RE, "a|b"), None, id="whitespace"),
]


@pytest.mark.parametrize(("text", "expected", "warning"), SINGLE_CASES)
def test_parse_single(
    text: str, expected: tuple[str, MatchType, str] | str, warning: str | None
) -> None:
    warnings: list[str] = []
    if isinstance(expected, str):
        with pytest.raises(MatcherParseError) as info:
            parse_matcher(text, on_warning=warnings.append)
        assert str(info.value) == expected
        return
    m = parse_matcher(text, on_warning=warnings.append)
    assert (m.name, m.type, m.value) == expected
    if warning is None:
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert ("has disagreement" if warning == "disagreement" else "instead") in warnings[0]


# ----------------------------------------------------------------------------------------------
# Match semantics: (matcher text, labels, expected)
# ----------------------------------------------------------------------------------------------

MATCH_CASES = [
    pytest.param('foo="bar"', {"foo": "bar"}, True, id="[matcher] = equal"),
    pytest.param('foo="bar"', {"foo": "foo-bar"}, False, id="[matcher] = different"),
    pytest.param('foo!="bar"', {"foo": "bar"}, False, id="[matcher] != equal"),
    pytest.param('foo!="bar"', {"foo": "foo-bar"}, True, id="[matcher] != different"),
    pytest.param('foo=~"bar"', {"foo": "bar"}, True, id="[matcher] =~ literal"),
    pytest.param('foo=~"bar"', {"foo": "foo-bar"}, False, id="[matcher] =~ anchored start"),
    pytest.param('foo=~"bar"', {"foo": "barfoo"}, False, id="=~ anchored end"),
    pytest.param('foo=~".*bar"', {"foo": "foo-bar"}, True, id="[matcher] =~ .*bar"),
    pytest.param('foo!~"bar"', {"foo": "bar"}, False, id="[matcher] !~ literal"),
    pytest.param('foo!~"bar"', {"foo": "foo-bar"}, True, id="[matcher] !~ anchored"),
    pytest.param('foo!~".*bar"', {"foo": "foo-bar"}, False, id="[matcher] !~ .*bar"),
    pytest.param('foo=~"foo.bar"', {"foo": "foo-bar"}, True, id="[matcher] dot"),
    pytest.param(r'foo=~"foo\\.bar"', {"foo": "foo-bar"}, False, id="[matcher] escaped dot"),
    pytest.param(r'foo=~"foo\\.bar"', {"foo": "foo.bar"}, True, id="[matcher] escaped dot ok"),
    pytest.param(r'foo="foo\nbar"', {"foo": "foo\nbar"}, True, id="[matcher] newline value"),
    pytest.param('foo=~"foo.bar"', {"foo": "foo\nbar"}, False, id="[matcher] dot not newline"),
    pytest.param('foo=~"(?s)foo.bar"', {"foo": "foo\nbar"}, True, id="[matcher] (?s) dot"),
    pytest.param('foo=~"bar"', {"foo": "bar\n"}, False, id="$ is end of text only"),
    pytest.param('foo=""', {}, True, id="missing label equals empty"),
    pytest.param('foo=""', {"foo": ""}, True, id="empty label equals empty"),
    pytest.param('foo=""', {"foo": "x"}, False, id="present label is not empty"),
    pytest.param('foo!=""', {}, False, id="!= empty requires the label"),
    pytest.param('foo!=""', {"foo": "x"}, True, id="!= empty with label"),
    pytest.param('foo=~".*"', {}, True, id=".* matches missing label"),
    pytest.param('foo=~".+"', {}, False, id=".+ needs the label"),
    pytest.param('foo!~".+"', {}, True, id="!~ .+ matches missing label"),
    pytest.param('foo="bar"', {"other": "bar"}, False, id="= on missing label"),
    pytest.param('foo!="bar"', {}, True, id="!= on missing label"),
    pytest.param('foo=~""', {}, True, id="empty regex matches missing"),
    pytest.param('foo=~""', {"foo": "x"}, False, id="empty regex needs empty"),
    pytest.param(r'foo=~"\\pL+"', {"foo": "héllo"}, True, id="RE2 \\pL"),
    pytest.param(r'foo=~"\\p{Greek}+"', {"foo": "αβγ"}, True, id="RE2 \\p{Greek}"),
    pytest.param(r'foo=~"\\d+"', {"foo": "١٢"}, False, id="\\d is ASCII only"),
    pytest.param('foo=~"(?i)bar"', {"foo": "BaR"}, True, id="(?i) flag"),
    pytest.param('foo=~"."', {"foo": "🙂"}, True, id="dot matches one code point"),
    pytest.param('foo=~"a)|(b"', {"foo": "axyz"}, True, id="Go quirk: a)|(b breaks anchor 1"),
    pytest.param('foo=~"a)|(b"', {"foo": "zzb"}, True, id="Go quirk: a)|(b breaks anchor 2"),
    pytest.param('foo=~"a)|(b"', {"foo": "zzz"}, False, id="Go quirk: a)|(b no match"),
    pytest.param('"foo.bar"="x"', {"foo.bar": "x"}, True, id="UTF-8 label name"),
    pytest.param('{"🙂"=~"🙂+"}', {"🙂": "🙂🙂"}, True, id="emoji name and value"),
]


@pytest.mark.parametrize(("text", "labels", "expected"), MATCH_CASES)
def test_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    (m,) = parse_matchers(text)
    assert m.matches(labels) is expected
    assert m.matches_value(labels.get(m.name, "")) is expected


def test_matches_special_characters_value() -> None:
    # [matcher] NewMatcher(MatchEqual, "", "~!=\"") matches its own value.
    m = Matcher("", EQ, '~!="')
    assert m.matches_value('~!="')


def test_matches_all() -> None:
    ms = parse_matchers('{env="prod", job=~"api.*", team!=""}')
    assert matches_all(ms, {"env": "prod", "job": "api-1", "team": "a"})
    assert not matches_all(ms, {"env": "prod", "job": "api-1"})
    assert not matches_all(ms, {"env": "dev", "job": "api-1", "team": "a"})
    assert matches_all([], {})


# ----------------------------------------------------------------------------------------------
# Regular expressions: RE2 like Go, errors in Go's wording
# ----------------------------------------------------------------------------------------------

REGEX_ERROR_CASES = [
    pytest.param("[a", "missing closing ]: `[a)$`", id="missing ]"),
    pytest.param("(a", "missing closing ): `^(?:(a)$`", id="missing )"),
    pytest.param("a)", "unexpected ): `^(?:a))$`", id="unexpected )"),
    pytest.param(r"(a)\1", r"invalid escape sequence: `\1`", id="backreference"),
    pytest.param("(?=a)", "invalid or unsupported Perl syntax: `(?=`", id="lookahead"),
    pytest.param("a**", "invalid nested repetition operator: `**`", id="nested repetition"),
    pytest.param("*", "missing argument to repetition operator: `*`", id="bare star"),
    pytest.param("x{1001}", "invalid repeat count: `{1001}`", id="repeat count"),
    pytest.param(r"\C", r"invalid escape sequence: `\C`", id="\\C is RE2-only"),
]


@pytest.mark.parametrize(("pattern", "message"), REGEX_ERROR_CASES)
def test_regex_errors(pattern: str, message: str) -> None:
    with pytest.raises(MatcherParseError) as info:
        Matcher.create("foo", RE, pattern)
    assert str(info.value) == f"error parsing regexp: {message}"


@pytest.mark.parametrize("pattern", [r"\pL", r"\Q\C\E", "(?P<x>a)", r"x{1000}", r"\12", "(?U)a*"])
def test_regex_accepted(pattern: str) -> None:
    assert Matcher.create("foo", NRE, pattern).type is NRE


# ----------------------------------------------------------------------------------------------
# Matcher: create, equality, String()
# ----------------------------------------------------------------------------------------------


def test_create_validates_name() -> None:
    with pytest.raises(MatcherParseError, match=r'^invalid label name ""$'):
        Matcher.create("", EQ, "x")
    assert Matcher.create("foo.bar", EQ, "x").name == "foo.bar"
    assert Matcher.create("🙂", "=~", "x").type is RE  # str types are converted


def test_unknown_type() -> None:
    with pytest.raises(MatcherParseError, match="unknown match type"):
        Matcher.create("a", "==", "x")  # type: ignore[arg-type]


def test_matcher_is_frozen_hashable_and_picklable() -> None:
    a = Matcher("job", RE, "api.*")
    b = Matcher.create("job", RE, "api.*")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Matcher("job", NRE, "api.*")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.value = "x"  # type: ignore[misc]
    for clone in (pickle.loads(pickle.dumps(a)), copy.deepcopy(a)):
        assert clone == a and clone.matches({"job": "api-1"})


STRING_CASES = [
    pytest.param("foo", EQ, "bar", 'foo="bar"', id="[matcher] ="),
    pytest.param("foo", NE, "bar", 'foo!="bar"', id="[matcher] !="),
    pytest.param("foo", RE, "bar", 'foo=~"bar"', id="[matcher] =~"),
    pytest.param("foo", NRE, "bar", 'foo!~"bar"', id="[matcher] !~"),
    pytest.param("foo", EQ, "back\\slash", 'foo="back\\\\slash"', id="[matcher] backslash"),
    pytest.param("foo", EQ, 'double"quote', 'foo="double\\"quote"', id="[matcher] quote"),
    pytest.param("foo", EQ, "new\nline", 'foo="new\\nline"', id="[matcher] newline"),
    pytest.param("foo", EQ, "tab\tstop", 'foo="tab\tstop"', id="[matcher] tab kept"),
    pytest.param("foo", EQ, "🙂", 'foo="🙂"', id="[matcher] emoji value"),
    pytest.param("foo!", NE, "bar", '"foo!"!="bar"', id="[matcher] reserved name quoted"),
    pytest.param("foo🙂", EQ, "bar", 'foo🙂="bar"', id="[matcher] emoji name bare"),
    pytest.param("foo bar", EQ, "baz", '"foo bar"="baz"', id="[matcher] space in name"),
    pytest.param("foo.bar", EQ, "x", 'foo.bar="x"', id="dotted name stays bare"),
    pytest.param("a b", EQ, "x\ty", '"a b"="x\\ty"', id="quoted form escapes tab (Go %q)"),
    pytest.param("a\u00a0b", EQ, "é\u200b", '"a\\u00a0b"="é\\u200b"', id="Go %q escapes"),
]


@pytest.mark.parametrize(("name", "match_type", "value", "want"), STRING_CASES)
def test_string(name: str, match_type: MatchType, value: str, want: str) -> None:
    m = Matcher(name, match_type, value)
    assert str(m) == want
    # Everything String() prints reads back as the same matcher, without warnings.
    warnings: list[str] = []
    assert parse_matchers(want, on_warning=warnings.append) == [m]
    assert warnings == []


def test_format_matchers() -> None:
    ms = parse_matchers('{a="b", c=~"d"}')
    assert format_matchers(ms) == '{a="b",c=~"d"}'
    assert format_matchers([]) == "{}"
    assert parse_matchers(format_matchers(ms)) == ms


label_names = st.text(min_size=1, max_size=8).filter(
    lambda s: not any("\ud800" <= ch <= "\udfff" for ch in s)
)
label_values = st.text(max_size=12).filter(
    lambda s: not any("\ud800" <= ch <= "\udfff" for ch in s)
)


@settings(max_examples=300, deadline=None)
@given(name=label_names, match_type=st.sampled_from([EQ, NE]), value=label_values)
def test_string_round_trip_property(name: str, match_type: MatchType, value: str) -> None:
    m = Matcher(name, match_type, value)
    warnings: list[str] = []
    assert parse_matchers(str(m), on_warning=warnings.append) == [m]
    assert warnings == []


# ----------------------------------------------------------------------------------------------
# Sort order and config lists
# ----------------------------------------------------------------------------------------------


def test_sort_order() -> None:
    ms = parse_matchers('{b="1", a!~"x", a=~"x", a!="x", a="x", a!="w", B="z", é="0"}')
    assert format_matchers(sort_matchers(ms)) == (
        '{B="z",a!="w",a="x",a!="x",a=~"x",a!~"x",b="1",é="0"}'
    )


def test_config_list_is_concatenated_and_sorted() -> None:
    warnings: list[str] = []
    ms = parse_matchers_config(['{c=~"d", a="b"}', "b!=x"], on_warning=warnings.append)
    assert format_matchers(ms) == '{a="b",b!="x",c=~"d"}'
    assert warnings == []
    with pytest.raises(MatcherParseError, match="bad matcher format"):
        parse_matchers_config(["a=b", "{foo!bar}"])
