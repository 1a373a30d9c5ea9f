"""`alertrouter check-config`, the installed command, over Alertmanager's own files
(tests/data/alertmanager_testdata: doc/examples/simple.yml and the config/testdata files of the
integrations alertrouter delivers to). What Alertmanager loads loads; what it refuses is refused
with its words (config/config_test.go); the one difference is `conf.good.yml`, whose VictorOps
and Pushover receivers alertrouter cannot deliver to."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ALLOW_UNSUPPORTED, DATA

TESTDATA = DATA / "alertmanager_testdata"

# Alertmanager loads these.
GOOD = [
    "simple.yml",
    "conf.empty-fields.yml",
    "conf.group-by-all.yml",
    "conf.http-config.good.yml",
    "conf.opsgenie-default-apikey.yml",
    "conf.opsgenie-default-apikey-file.yml",
    "conf.slack-default-api-url-file.yml",
    "conf.slack-default-app-token.yml",
    "conf.smtp-no-username-or-password.yml",
    "conf.smtp-password-global-and-local.yml",
    "conf.telegram-default-bot-token.yml",
    "conf.telegram-default-bot-token-file.yml",
]

# Alertmanager refuses these, with these words.
BAD = {
    "conf.opsgenie-both-file-and-apikey.yml": (
        "global (line 1): at most one of opsgenie_api_key & opsgenie_api_key_file must be "
        "configured"
    ),
    "conf.opsgenie-no-apikey.yml": "no global OpsGenie API Key set either inline or in a file",
    "conf.opsgenie-default-apikey-old-team.yml": (
        "receivers[0].opsgenie_configs[0].teams (line 16): unknown key"
    ),
    "conf.slack-both-file-and-token.yml": (
        "at most one of slack_app_token & slack_app_token_file must be configured"
    ),
    "conf.slack-both-file-and-url.yml": (
        "at most one of slack_api_url & slack_api_url_file must be configured"
    ),
    "conf.slack-both-url-and-token.yml": (
        "at most one of slack_app_token/slack_app_token_file & slack_api_url/slack_api_url_file "
        "must be configured"
    ),
    "conf.slack-no-api-url-or-token.yml": (
        "no Slack API URL nor App token set either inline or in a file"
    ),
    "conf.slack-update-message-and-webhook.yml": (
        "update_message can only be used with bot tokens. api_url must be set to "
        "https://slack.com/api/chat.postMessage"
    ),
    "conf.smtp-both-password-and-file.yml": (
        "at most one of smtp_auth_password & smtp_auth_password_file must be configured"
    ),
    "conf.telegram-both-bot-token-and-file.yml": (
        "at most one of telegram_bot_token & telegram_bot_token_file must be configured"
    ),
    "conf.telegram-valid-receiver-both-bot-token-and-file.yml": (
        "at most one of telegram_bot_token & telegram_bot_token_file must be configured"
    ),
    "conf.telegram-no-bot-token.yml": "missing bot_token or bot_token_file on telegram_config",
}


def check_config(*files: Path) -> tuple[int, list[dict]]:
    result = subprocess.run(
        [sys.executable, "-m", "alertrouter", "check-config", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    return result.returncode, json.loads(result.stdout)


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    """One run of the command over every file (a file's errors do not stop the others)."""
    names = [*GOOD, *BAD, "conf.good.yml"]
    code, found = check_config(*(TESTDATA / name for name in names))
    assert code == 1
    return {Path(report["file"]).name: report for report in found}


def test_every_stored_file_is_judged_here():
    stored = {path.name for path in TESTDATA.glob("*.yml")}
    assert stored == {*GOOD, *BAD, "conf.good.yml"}


@pytest.mark.parametrize("name", GOOD)
def test_what_alertmanager_loads_passes(reports, name):
    report = reports[name]
    assert report["valid"], report["errors"]


@pytest.mark.parametrize(("name", "words"), BAD.items())
def test_what_alertmanager_refuses_is_refused_in_its_words(reports, name, words):
    report = reports[name]
    assert not report["valid"]
    assert any(words in error for error in report["errors"]), report["errors"]


def test_simple_yml_has_every_receiver_and_the_inhibit_rule(reports):
    report = reports["simple.yml"]
    integrations = {r["name"]: r["integrations"] for r in report["receivers"]}
    assert integrations == {
        "team-X-mails": {"email": 1},
        "team-X-pager": {"pagerduty": 1, "email": 1},
        "team-Y-mails": {"email": 1},
        "team-Y-pager": {"pagerduty": 1},
        "team-DB-pager": {"pagerduty": 1},
    }
    assert report["routes"] == 8


def test_conf_good_is_refused_only_for_victorops_and_pushover(reports, tmp_path):
    """Alertmanager loads conf.good.yml; alertrouter cannot deliver to its VictorOps and
    Pushover receivers, and says so (No silent drops). Everything else in it loads: its Slack,
    Opsgenie and email receivers, and PagerDuty through the global proxy_url."""
    (victorops, pushover) = reports["conf.good.yml"]["errors"]
    assert "receivers[5].victorops_configs (line 104): receiver 'victorOps-receiver'" in victorops
    assert "receivers[7].pushover_configs (line 111): receiver 'pushover-receiver'" in pushover
    for error in (victorops, pushover):
        assert "alertrouter cannot deliver to this integration" in error

    allowed = tmp_path / "conf.good.yml"
    allowed.write_text((TESTDATA / "conf.good.yml").read_text() + ALLOW_UNSUPPORTED)
    code, (report,) = check_config(allowed)
    assert code == 0 and report["valid"], report
    assert not [w for w in report["warnings"] if "pagerduty" in w]
