"""The schedules and people pages in a real browser: sign in with the API token, read who is on
call and the two-week timeline, add an override with the form (it then shows, in the table and
on the timeline), open a person's page. Screenshots under test-output/browser/ (paths printed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from alertrouter.app import Service
from alertrouter.config import load_config_file
from tests.browser.test_browser import TOKEN, Server, shoot
from tests.fakes.background import LoopThread
from tests.fakes.http import FakeHTTPServer
from tests.integration.conftest import FakeClock
from tests.integration.web.test_people_pages import PEOPLE
from tests.payloads import alert, payload

CONFIG = (
    PEOPLE
    + """
storage:
  url: 'sqlite:///{db}'
"""
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with LoopThread() as loop:
        path = tmp_path / "config.yml"
        auth = f"{{bearer_tokens: ['{TOKEN}']}}"  # a token only: the sign-in form
        path.write_text(CONFIG.format(auth=auth, evil="<i>Liddell</i>", db=tmp_path / "ar.db"))
        hook = loop.start(FakeHTTPServer())  # unused: the pages tell no receiver
        clock = FakeClock(int(time.time() * 1000))
        service = Service(load_config_file(path, environ={}), clock_ms=clock, run_scheduler=False)
        http = TestServer(service.build_app(), host="127.0.0.1")
        loop.run(http.start_server())
        try:
            yield Server(str(http.make_url("")).rstrip("/"), service, clock, loop, hook)
        finally:
            loop.run(http.close())


def page_someone(server: Server) -> None:
    """A P0 on the payments route: its first step pages whoever is on call."""
    body = payload(alert(alertname="CardsDeclined", service="payments", severity="critical"))
    server.api("POST", "/api/v1/alertmanager", body)
    assert server.service.pipeline is not None
    server.loop.run(server.service.pipeline.flush_due(server.clock()))
    server.loop.run(server.service.pipeline.escalate_due(server.clock()))
    server.clock.advance(60)


def test_schedules_override_form_and_a_persons_page(
    server: Server, browser: Any, screenshots: Path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    page_someone(server)
    browser.get(server.url + "/schedules")
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
    assert browser.current_url.endswith("/schedules")
    sections = browser.find_elements(By.CSS_SELECTOR, "section.schedule")
    assert [s.get_attribute("data-schedule") for s in sections] == ["payments"]
    payments = sections[0]
    on_call_now = payments.find_element(By.CSS_SELECTOR, "dd.now").text
    assert any(name in on_call_now for name in ("alice", "bob", "carol"))
    lanes = payments.find_elements(By.CSS_SELECTOR, "svg.chart.wide text.lane")
    assert [t.text for t in lanes] == ["weekly", "business-hour…", "overrides", "on call"]
    assert not payments.find_elements(By.CSS_SELECTOR, "svg.chart.wide rect.override")
    shoot(browser, screenshots, "6-schedules")

    form = payments.find_element(By.CSS_SELECTOR, "form.add-override")
    Select(form.find_element(By.NAME, "kind")).select_by_value("add")
    Select(form.find_element(By.NAME, "users")).select_by_value("carol")
    form.find_element(By.NAME, "comment").send_keys("shadowing alice <b>first week</b>")
    form.find_element(By.CSS_SELECTOR, "button[type='submit']").click()

    assert browser.find_element(By.ID, "outcome").text == "Override added."
    payments = browser.find_element(By.ID, "schedule-payments")
    (row,) = payments.find_elements(By.CSS_SELECTOR, "table.overrides tr[data-override]")
    assert "add" in row.text and "carol" in row.text
    assert "shadowing alice <b>first week</b>" in row.text  # shown as text, not markup
    marked = payments.find_elements(By.CSS_SELECTOR, "svg.chart.wide rect.override")
    assert len(marked) >= 2  # in the overrides lane, and wherever it decides the merged one
    shoot(browser, screenshots, "7-schedules-override-added")
    shoot(browser, screenshots, "7-schedules-phone", width=400)

    browser.set_window_size(1280, 900)
    row.find_element(By.LINK_TEXT, "carol").click()
    assert browser.current_url.endswith("/people/carol")
    shifts = browser.find_elements(By.CSS_SELECTOR, "#shifts tbody tr")
    assert shifts and "payments" in shifts[0].text
    assert "/calendar/users/carol.ics" in browser.page_source
    shoot(browser, screenshots, "8-person")

    browser.find_element(By.LINK_TEXT, "People").click()
    names = browser.find_elements(By.CSS_SELECTOR, "#people tr[data-user]")
    assert [n.get_attribute("data-user") for n in names] == ["alice", "bob", "carol"]
    assert "Alice <i>Liddell</i>" in names[0].text  # a name is text, not markup
    paged = [n for n in names if n.find_elements(By.CSS_SELECTOR, "td.num")[0].text == "1"]
    assert len(paged) == 1  # whoever was on call when the P0 fired
    shoot(browser, screenshots, "9-people")
