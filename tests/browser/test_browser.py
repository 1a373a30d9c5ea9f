"""The web pages in a real browser: sign in with the API token, filter the incident list, open an
incident (its timeline first, each delivery once), acknowledge it, look at the statistics (a time
axis per P-level, no label over another). A screenshot of each page is saved under
test-output/browser/ (the paths are printed)."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from alertrouter.app import Service
from alertrouter.config import load_config_file
from tests.fakes.background import LoopThread
from tests.fakes.http import FakeHTTPServer, Reply
from tests.integration.conftest import FakeClock
from tests.payloads import alert, payload

TOKEN = "browser/test=token+1"  # characters a cookie value must quote
MINUTE, DAY = 60_000, 86_400_000

CONFIG = """
server:
  auth:
    api:
      bearer_tokens: ['{token}']  # only a token: the browser signs in with the form
route:
  receiver: ops
  group_by: [alertname, instance]
  group_wait: 0s
  group_interval: 1m
  routes:
    - receiver: db-team
      matchers: ['service="db"']
      repeat_interval: 5m  # today's database incident is notified again and again
receivers:
  - name: ops
    webhook_configs:
      - url: {hook}/hook
  - name: db-team
    webhook_configs:
      - url: {hook}/hook
incidents:
  default_escalation: {{P0: none, P1: none, P2: none, P3: none}}
storage:
  url: 'sqlite:///{db}'
"""


@dataclass
class Server:
    url: str
    service: Service
    clock: FakeClock
    loop: LoopThread
    hook: FakeHTTPServer

    def api(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def step(self) -> None:
        assert self.service.pipeline is not None and self.service.delivery is not None
        self.loop.run(self.service.pipeline.flush_due(self.clock()))
        self.loop.run(self.service.delivery.deliver_due())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with LoopThread() as loop:
        hook = FakeHTTPServer()
        hook.route("POST", "/hook", lambda request: Reply(200, {"ok": True}))
        loop.start(hook)
        path = tmp_path / "config.yml"
        path.write_text(CONFIG.format(token=TOKEN, hook=hook.url, db=tmp_path / "ar.db"))
        clock = FakeClock(int(time.time() * 1000) - 6 * DAY)
        service = Service(load_config_file(path, environ={}), clock_ms=clock, run_scheduler=False)
        http = TestServer(service.build_app(), host="127.0.0.1")
        loop.run(http.start_server())
        try:
            yield Server(str(http.make_url("")).rstrip("/"), service, clock, loop, hook)
        finally:
            loop.run(http.close())


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


def day_of_alerts(day: int) -> list[dict[str, Any]]:
    """What fires on one day: a disk, an API's latency, a database's lag (every other day)
    and a certificate (every third day)."""
    found = [
        ("DiskFull", f"node-{day}", "critical", "storage", "Disk /var is 97% full"),
        ("HighLatency", f"api-{day}", "high", "api", "p99 latency above 2s for 10m"),
    ]
    if day % 2 == 0:
        found.append(("ReplicationLag", f"pg-{day}", "warning", "db", "replica 120s behind"))
    if day % 3 == 0:
        found.append(("CertExpiry", f"web-{day}", "info", "web", "certificate expires in 9 days"))
    return [
        {"alertname": n, "instance": i, "severity": s, "service": svc, "summary": text}
        for n, i, s, svc, text in found
    ]


def fire(server: Server, alerts: list[dict[str, Any]], starts: int, status: str = "firing") -> None:
    body = payload(
        *(
            alert(
                status,
                starts=iso(starts),
                ends=iso(server.clock()) if status == "resolved" else None,
                annotations={"summary": a["summary"]},
                **{k: v for k, v in a.items() if k != "summary"},
            )
            for a in alerts
        )
    )
    server.api("POST", "/api/v1/alertmanager", body)
    server.step()


def open_incidents(server: Server) -> dict[str, int]:
    found = server.api("GET", "/api/v1/incidents?status=open&limit=100")["incidents"]
    return {i["title"].split(":")[0]: i["id"] for i in found}


TODAY = [
    {
        "alertname": "DiskFull",
        "instance": "db-1",
        "severity": "critical",
        "service": "db",
        "summary": "Disk /var/lib/postgresql is 97% full",
    },
    {
        "alertname": "HighLatency",
        "instance": "api-7",
        "severity": "high",
        "service": "api",
        "summary": "p99 latency above 2s for 10m",
    },
    {
        "alertname": "CertExpiry",
        "instance": "web-2",
        "severity": "info",
        "service": "web",
        "summary": "certificate expires in 9 days",
    },
]


def seed(server: Server) -> None:
    """Six days of history (acknowledged after minutes, P3 after hours; resolved by their
    alerts), then today's incidents, still open: the database's is notified four times, the
    last time refused for good."""
    for day in range(6):
        alerts = day_of_alerts(day)
        started = server.clock() - MINUTE
        fire(server, alerts, started)
        ids = open_incidents(server)
        server.clock.advance(60 * (2 + 3 * day))
        server.api("POST", f"/api/v1/incidents/{ids['DiskFull']}/ack", {"by": "bob"})
        server.clock.advance(60 * (8 + 5 * day))
        server.api("POST", f"/api/v1/incidents/{ids['HighLatency']}/ack", {"by": "carol"})
        server.clock.advance(40 * 60)
        if "ReplicationLag" in ids:
            server.api("POST", f"/api/v1/incidents/{ids['ReplicationLag']}/ack", {"by": "dave"})
        if "CertExpiry" in ids:
            server.clock.advance(60 * (120 + 30 * day))
            server.api("POST", f"/api/v1/incidents/{ids['CertExpiry']}/ack", {"by": "erin"})
        fire(server, alerts, started, status="resolved")
        if day < 5:  # the next day, a little later each day
            server.clock.ms += DAY - (server.clock.ms % DAY) + (9 + day) * 3_600_000
    server.clock.ms = int(time.time() * 1000) - 20 * MINUTE
    fire(server, TODAY, server.clock() - 5 * MINUTE)
    for again in range(3):  # past the db-team route's repeat interval each time
        server.clock.advance(5 * 60 + 1)
        if again == 2:
            server.hook.fail(400)  # a client error: dead-lettered at once
        server.step()
    server.clock.ms = int(time.time() * 1000)


def shoot(driver: Any, directory: Path, name: str, width: int = 1280) -> Path:
    """A PNG of the whole page (the window is made as tall as the page first)."""
    driver.set_window_size(width, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height) + 140, 8000))
    path = directory / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def test_sign_in_filter_open_and_acknowledge(server: Server, browser: Any, screenshots: Path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    seed(server)
    browser.get(server.url + "/incidents")
    assert "Sign in" in browser.title  # the 401 page offers the token form
    shoot(browser, screenshots, "0-sign-in")
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()

    def rows() -> list[Any]:
        return browser.find_elements(By.CSS_SELECTOR, "#incidents tbody tr[data-id]")

    assert browser.current_url.endswith("/incidents")
    assert len(rows()) == sum(len(day_of_alerts(d)) for d in range(6)) + len(TODAY)
    shoot(browser, screenshots, "1-incidents")

    browser.find_element(By.CSS_SELECTOR, "input[name='severity'][value='P0']").click()
    status = browser.find_element(By.ID, "status")
    status.find_element(By.CSS_SELECTOR, "option[value='open']").click()
    browser.find_element(By.CSS_SELECTOR, "form.filters button[type='submit']").click()
    WebDriverWait(browser, 5).until(lambda b: "severity=P0" in b.current_url)
    assert "status=open" in browser.current_url
    (row,) = rows()
    assert "DiskFull" in row.text and "triggered" in row.text
    assert browser.find_element(By.ID, "total").text.startswith("1 incident matches")
    shoot(browser, screenshots, "2-incidents-filtered")

    incident_id = int(row.get_attribute("data-id"))
    row.find_element(By.CSS_SELECTOR, "td.title a").click()
    assert browser.current_url.endswith(f"/incidents/{incident_id}")
    assert browser.find_element(By.ID, "status").text == "triggered"
    assert_timeline_first_and_deliveries_once(browser)
    shoot(browser, screenshots, "3-incident")
    shoot(browser, screenshots, "3-incident-phone", width=400)

    browser.set_window_size(1280, 900)
    browser.find_element(By.ID, "comment").send_keys("looking at the disk")
    browser.find_element(By.ID, "ack").click()
    assert browser.find_element(By.ID, "outcome").text == "Acknowledged."
    assert browser.find_element(By.ID, "status").text == "acknowledged"
    buttons = browser.find_element(By.ID, "act").find_elements(By.TAG_NAME, "button")
    assert [b.text for b in buttons] == ["Un-acknowledge", "Resolve"]
    assert "looking at the disk" in browser.find_element(By.ID, "timeline").text
    shoot(browser, screenshots, "4-incident-acknowledged")

    answer = server.api("GET", f"/api/v1/incidents/{incident_id}")
    assert answer["status"] == "acknowledged"
    assert (answer["acknowledgedBy"], answer["acknowledgedVia"]) == ("web", "web")

    browser.get(server.url + "/stats")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect")
    assert_every_level_readable(browser, "svg.chart.wide")
    shoot(browser, screenshots, "5-stats")
    shoot(browser, screenshots, "5-stats-phone", width=400)
    assert_every_level_readable(browser, "svg.chart.narrow")  # the one a phone shows
    browser.set_window_size(1280, 900)
    chart = browser.find_element(By.CSS_SELECTOR, "svg.chart")
    chart.screenshot(str(screenshots / "5-stats-time-to-acknowledge.png"))
    print(f"screenshot: {screenshots / '5-stats-time-to-acknowledge.png'}")


def assert_timeline_first_and_deliveries_once(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    timeline = browser.find_element(By.ID, "timeline")
    alerts = browser.find_element(By.XPATH, "//h2[text()='Alerts']")
    table = browser.find_element(By.ID, "notifications")
    assert timeline.location["y"] < alerts.location["y"] < table.location["y"]
    kinds = [e.get_attribute("data-kind") for e in timeline.find_elements(By.TAG_NAME, "li")]
    assert "notification_sent" not in kinds and kinds.count("notification_failed") == 1
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == 4 and len(table.find_elements(By.CSS_SELECTOR, "tr.failed")) == 1
    chips = browser.find_element(By.ID, "group").find_elements(By.CLASS_NAME, "chip")
    assert [c.text for c in chips] == ['alertname="DiskFull"', 'instance="db-1"']
    assert browser.find_element(By.ID, "deliveries").text == "3 sent, 1 failed for good"


# The boxes of the time-to-acknowledge chart as drawn (CSS pixels): its labels, each level's
# bars, target line and axis.
CHART_BOXES = """
const svg = document.querySelector(arguments[0]);
const box = e => { const r = e.getBoundingClientRect();
  return {text: e.textContent, cls: e.getAttribute("class") || "",
          left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
return ["text", "rect", "line"].map(tag => Array.from(svg.querySelectorAll(tag), box));
"""


def assert_every_level_readable(browser: Any, chart: str) -> None:
    texts, rects, lines = browser.execute_script(CHART_BOXES, chart)
    assert texts and all(t["right"] > t["left"] for t in texts)  # drawn, not hidden
    for index, a in enumerate(texts):
        for b in texts[index + 1 :]:
            apart = (
                a["right"] <= b["left"]
                or b["right"] <= a["left"]
                or a["bottom"] <= b["top"]
                or b["bottom"] <= a["top"]
            )
            assert apart, f"{a['text']!r} overlaps {b['text']!r}"
    axes = [line for line in lines if line["cls"] == "axis"]
    targets = [line for line in lines if line["cls"] == "target"]
    levels = {r["cls"].split()[0] for r in rects}
    assert levels == {"p0", "p1", "p2", "p3"}
    for level in sorted(levels):
        bars = [r for r in rects if r["cls"].split()[0] == level]
        (axis,) = [a for a in axes if a["top"] <= bars[0]["top"] <= a["bottom"]]
        (target,) = [t for t in targets if t["top"] <= bars[0]["top"] <= t["bottom"]]
        assert target["left"] - axis["left"] >= 40, level
        for bar in bars:
            assert bar["right"] - bar["left"] >= 40, (level, bar["cls"])
