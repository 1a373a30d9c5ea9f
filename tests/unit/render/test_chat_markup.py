"""Escaping for Teams, Discord and Telegram, links, and cutting text to limits. Pure."""

from __future__ import annotations

import pytest

from alertrouter.render.escaping import (
    ZERO_WIDTH_SPACE,
    escape_discord,
    escape_markdown,
    escape_telegram_html,
    escape_telegram_markdown,
    escape_telegram_markdown_v2,
    label_pairs,
    markdown_link,
    neutralise_mentions,
    unescape_markdown,
)
from alertrouter.render.limits import truncate, truncate_html, utf16_len


@pytest.mark.parametrize(
    "text",
    [
        "**bold**",
        "_it_",
        "[x](https://evil)",
        "<@123>",
        "`code`",
        "# head",
        "a\\*b",
        "~~s~~",
        "|x|",
    ],
)
def test_markdown_escaping_leaves_no_markup_and_round_trips(text):
    escaped = escape_markdown(text)
    assert unescape_markdown(escaped) == text
    # every special character is preceded by a backslash: nothing is read as markup
    stripped = escaped
    for char in "\\`*_~|<>[]()#":
        stripped = stripped.replace("\\" + char, "")
    assert not any(char in stripped for char in "`*_~|<>[]()#")


def test_discord_mass_mentions_are_broken_whatever_the_case():
    assert escape_discord("hi @everyone and @Here") == (
        f"hi @{ZERO_WIDTH_SPACE}everyone and @{ZERO_WIDTH_SPACE}Here"
    )
    assert neutralise_mentions("mail me@here.example") == f"mail me@{ZERO_WIDTH_SPACE}here.example"
    assert "@everyone" not in escape_discord("@everyone")


def test_telegram_escapes():
    assert escape_telegram_html('<b>&"') == "&lt;b&gt;&amp;&quot;"
    assert escape_telegram_markdown_v2("a.b-c!(x)") == "a\\.b\\-c\\!\\(x\\)"
    assert escape_telegram_markdown("*a_b*[c]") == "\\*a\\_b\\*\\[c]"


@pytest.mark.parametrize(
    ("url", "text", "expected"),
    [
        (
            "https://runbooks.example/db_(x)",
            "Runbook",
            "[Runbook](https://runbooks.example/db_%28x%29)",
        ),
        # values arrive escaped: the URL is unescaped before it is checked and linked
        (escape_markdown("https://x.example/a_b"), "Dash", "[Dash](https://x.example/a_b)"),
        ("javascript:alert(1)", "Runbook", "Runbook (javascript:alert\\(1\\))"),
        ("data:text/html,x", "", "data:text/html,x"),
        ("", "Runbook", ""),
        ("https://x.example", "*bold*", "[\\*bold\\*](https://x.example)"),
    ],
)
def test_markdown_links_only_for_http_urls(url, text, expected):
    assert markdown_link(url, text) == expected


def test_label_pairs_escape_names_and_sort():
    assert label_pairs({"b*": "2", "a": "1"}) == "a=1, b\\*=2"


def test_truncate_counts_utf16_and_never_splits_a_pair_or_an_escape():
    assert truncate("short", 10) == "short"
    cut = truncate("😀" * 10, 7)
    assert utf16_len(cut) <= 7 and cut == "😀😀😀…"
    assert truncate("abc\\*def", 5) == "abc…"  # no dangling backslash escaping the ellipsis
    assert truncate("abc\\\\def", 6) == "abc\\\\…"
    assert utf16_len(truncate("x" * 5000, 2000)) == 2000


def test_truncate_html_cuts_between_tags_and_closes_them():
    html = '<b>bold &amp; <a href="https://x">linked text</a></b> tail'
    assert truncate_html(html, 100) == html
    cut = truncate_html(html, 10)
    assert cut == '<b>bold &amp; <a href="https://x">li…</a></b>'
    long = "<i>" + "&lt;" * 5000 + "</i>"
    cut = truncate_html(long, 4096)
    assert cut.endswith("…</i>") and cut.count("&lt;") == 4095
