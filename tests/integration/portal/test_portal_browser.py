"""The portal in a real browser (Debian's chromium, headless, driven by Playwright).

Against the real stack: a live-clock worker on the real broker and database judges the
visits, the API (which serves the portal) runs on a loopback port, and people sign in
as each role and act. Each page's screenshot is written to docs/screenshots/ for the
README. Missed calls are due one minute after the planned start (a ContractRulesSetV2 in
the reference data), so alerts appear while the test runs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_stack import serve, settings_for
from pipeline import ROOT, Pipeline
from playwright import sync_api as playwright_api
from psycopg_pool import AsyncConnectionPool
from support import fresh_database

from ecm import contracts as c
from ecm.api.app import create_app
from ecm.api.keys import Role
from ecm.contracts.examples import examples
from ecm.portal.accounts import new_user
from ecm.portal.store import PgAccountStore
from ecm.simulate.reference import default_reason_codes
from ecm.topics import REFERENCE, route

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.browser, pytest.mark.slow]
CHROMIUM = os.environ.get("ECM_CHROMIUM_BIN", "/usr/bin/chromium")
SHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "portal-test-password"
USERS = (("p017-office", Role.PROVIDER, "P017"), ("cm-rpatel", Role.CONTRACT_MANAGER, None),
         ("duty-akhan", Role.DUTY_OFFICER, None), ("admin-jdoe", Role.ADMIN, None))
NOW = datetime.now(UTC).replace(microsecond=0)
LATER_MISSED_IN = timedelta(seconds=45)  # planned start of a visit missed while we watch
ROTA_DAY = (NOW.astimezone(ZoneInfo("Europe/London")) + timedelta(days=1)).date()
"""The rota visits' day: a carer's rota is judged by local day (docs/rules.md, "Rota
realism"), so both are placed on one day whatever the time the test runs (an hour ahead
of a run at 22:45 would put them either side of midnight, with no gap to judge)."""


def _reference() -> list[c.ContractEvent]:
    kept = [e for e in examples() if route(e).topic == REFERENCE
            and not isinstance(e, c.ContractRulesSet | c.AlertMonitoringSet
                               | c.ReasonCodesPublished)]
    rules = c.ContractRulesSetV2(
        event_id="ref-rules-portal-test", occurred_at=NOW - timedelta(days=1),
        rules_id="portal-test", effective_from=NOW.date() - timedelta(days=30),
        rules=c.ContractRulesV2(missed_after_minutes=1, not_arrived_after_minutes=1,
                                escalate_to_council_after_minutes=30,
                                escalate_to_manager_after_minutes=60))
    other = c.ProviderRegistered(event_id="ref-prov-p018", occurred_at=NOW - timedelta(days=1),
                                 effective_from=NOW.date() - timedelta(days=30),
                                 provider_id="P018", name="Other Care Ltd 018",
                                 kind=c.ProviderKind.FRAMEWORK, lot_ids=("DGS4",))
    far = c.ClientRegistered(event_id="ref-client-c04212-far", occurred_at=NOW - timedelta(days=1),
                             effective_from=NOW.date() - timedelta(days=30), client_id="C04212",
                             lot_id="DGS4", rurality=c.Rurality.URBAN,
                             location=c.Location(lat=51.2802, lon=1.0789, accuracy_m=10))
    return [*kept, default_reason_codes(), rules, other, far]


def _plan(visit_id: str, start: datetime, provider: str = "P017") -> c.VisitPlanned:
    return c.VisitPlanned(event_id=f"{visit_id}.plan", occurred_at=start - timedelta(hours=20),
                          provider_id=provider, visit_id=visit_id, client_id="C04211",
                          service=c.Service.HOME_CARE, planned_start=start,
                          planned_end=start + timedelta(minutes=30))


def _rota(visit_id: str, client_id: str, at: clock_time) -> c.VisitPlannedV2:
    """A visit planned for carer K0815 on ``ROTA_DAY`` (version 2 names the carer)."""
    start = datetime.combine(ROTA_DAY, at, ZoneInfo("Europe/London"))
    return c.VisitPlannedV2(
        event_id=f"{visit_id}.plan", occurred_at=NOW - timedelta(hours=2), provider_id="P017",
        visit_id=visit_id, client_id=client_id, service=c.Service.HOME_CARE,
        planned_start=start, planned_end=start + timedelta(minutes=30),
        planned_carer_ids=("K0815",))


def _call(visit_id: str, at: datetime, check_in: bool, method: c.CheckMethod,
          reason: str | None = None) -> c.ContractEvent:
    model = c.CarerCheckedIn if check_in else c.CarerCheckedOut
    return model(event_id=f"{visit_id}.{'in' if check_in else 'out'}", occurred_at=at,
                 provider_id="P017", visit_id=visit_id, client_id="C04211", carer_id="K0815",
                 method=method, reason_code=reason)


def _visits() -> list[c.ContractEvent]:
    done = NOW - timedelta(minutes=90)
    return [
        _plan("V-DONE", done),
        _call("V-DONE", done + timedelta(minutes=2), True, c.CheckMethod.MANUAL, "PHONE_DEAD"),
        _call("V-DONE", done + timedelta(minutes=31), False, c.CheckMethod.TELEPHONY),
        _plan("V-MISSED", NOW - timedelta(minutes=5)),
        _plan("V-LATER", NOW + LATER_MISSED_IN),
        _plan("V-OTHER", NOW - timedelta(minutes=50), provider="P018"),
        # back to back at homes ~60 km apart: an insufficient_travel_time finding
        _rota("V-ROTA-1", "C04211", clock_time(10, 0)),
        _rota("V-ROTA-2", "C04212", clock_time(10, 30)),
    ]


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, test_dsn: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[str, Pipeline]]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `deploy/local/stack.sh up browser`")
    state = tmp_path_factory.mktemp("portal")
    with fresh_database(test_dsn, prefix="ecm_portal") as dsn:
        # the sink's own recalculation, within seconds of a backdated rate, not a minute
        pipe = Pipeline(kafka_bootstrap, dsn, state, environment={
            "ECM_RECALC__SETTLE_SECONDS": "1", "ECM_RECALC__CHECK_SECONDS": "1"})
        pipe.create_topics()
        _add_users(dsn)
        pipe.send([*_reference(), *_visits()])
        pipe.start_worker("1", clock="live")
        try:
            with serve(create_app(settings_for(pipe.kafka, dsn, state))) as base_url:
                yield base_url, pipe
        finally:
            pipe.stop_all()


@pytest.fixture(scope="module")
def site(stack: tuple[str, Pipeline]) -> str:
    return stack[0]


def _add_users(dsn: str) -> None:
    async def run() -> None:
        async with AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False,
                                       kwargs={"autocommit": True}) as pool:
            store = PgAccountStore(pool)
            for user_id, role, provider in USERS:
                await store.add_user(new_user(user_id, user_id, role, provider, PASSWORD))

    asyncio.run(run())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _signed_in(browser: Any, site: str, user_id: str, **context: Any) -> Any:
    page = browser.new_context(base_url=site, **context).new_page()
    offsite: list[str] = []
    page.on("request", lambda r: offsite.append(r.url) if not r.url.startswith(site) else None)
    page.offsite = offsite
    page.goto("/portal/sign-in")
    page.get_by_label("User id").fill(user_id)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/portal/sign-in" not in page.url, page.content()[:2000]
    return page


def _until(check: Callable[[], bool], timeout_s: float, what: str, reload: Any = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            shown = reload.locator("main").inner_text()[:3000] if reload is not None else ""
            raise AssertionError(f"{what} not seen within {timeout_s:.0f} s; the page:\n{shown}")
        time.sleep(1)
        if reload is not None:
            reload.reload()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_sign_in_page(site: str, browser: Any) -> None:
    page = browser.new_context(base_url=site).new_page()
    page.goto("/portal/sign-in")
    assert page.get_by_role("heading", name="Sign in").is_visible()
    page.get_by_label("User id").fill("p017-office")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That user id and password")
    _shot(page, "sign-in")


def test_a_provider_explains_and_a_contract_manager_accepts(site: str, browser: Any) -> None:
    provider = _signed_in(browser, site, "p017-office")
    provider.goto("/portal/exceptions")
    _until(lambda: "V-DONE" in provider.content(), 90, "the manual-entry exception", provider)
    _shot(provider, "exceptions-provider")
    provider.get_by_text("Explain manual entry on V-DONE").click()
    row = provider.locator("tr", has_text="V-DONE").filter(has_text="manual entry")
    row.get_by_label("Reason").select_option("phone_battery_dead")
    row.get_by_label("Note").fill("Phone died at 08:50; time from the client's log book")
    row.get_by_role("button", name="Send explanation").click()
    assert "sent to the council" in provider.get_by_role("status").inner_text()

    manager = _signed_in(browser, site, "cm-rpatel")
    manager.goto("/portal/exceptions?status=explained")
    _until(lambda: "phone" in manager.content().lower(), 60, "the explanation", manager)
    _shot(manager, "exceptions-manager")
    manager.locator("tr", has_text="V-DONE").get_by_role("checkbox").check()
    manager.get_by_label("Decision").select_option("accepted")
    manager.get_by_label("Resolution").select_option("evidence_accepted")
    manager.get_by_role("button", name="Decide").click()
    assert "Accepted: 1" in manager.get_by_role("status").inner_text()

    manager.goto("/portal/visits/V-DONE")
    _until(lambda: "verified" in manager.locator("dl").inner_text()
           and "accepted" in manager.content().lower(), 150, "the verified visit", manager)
    timeline = manager.locator("ol.timeline").inner_text()
    assert timeline.index("Planned") < timeline.index("Checked in") < timeline.index("Explained")
    _shot(manager, "visit-timeline")
    assert provider.offsite == [] and manager.offsite == []


def test_a_rota_finding_is_listed_by_kind_and_says_the_rota_resolves_it(
        site: str, browser: Any) -> None:
    manager = _signed_in(browser, site, "cm-rpatel")
    manager.goto("/portal/exceptions?status=open&kind=insufficient_travel_time")
    _until(lambda: "V-ROTA-2" in manager.content(), 90, "the rota finding", manager)
    assert manager.get_by_label("Kind").input_value() == "insufficient_travel_time"
    assert manager.locator("caption").inner_text().startswith("1 exception (open)")
    row = manager.locator("tr", has_text="V-ROTA-2")
    assert "a rota finding is not decided" in row.inner_text()
    assert row.get_by_role("checkbox").is_disabled()
    _shot(manager, "exceptions-rota-finding")

    provider = _signed_in(browser, site, "p017-office")
    provider.goto("/portal/exceptions?kind=insufficient_travel_time")
    row = provider.locator("tr", has_text="V-ROTA-2")
    assert "changing the rota" in row.inner_text()
    assert row.get_by_role("button", name="Send explanation").count() == 0
    assert provider.offsite == [] and manager.offsite == []


def test_a_provider_is_refused_another_providers_visit_and_forms_need_their_token(
    site: str, browser: Any
) -> None:
    provider = _signed_in(browser, site, "p017-office")
    answer = provider.goto("/portal/visits/V-OTHER")
    assert answer.status == 404 and "no such visit" in provider.content().lower()
    provider.goto("/portal/exceptions")
    token = provider.locator("input[name=csrf_token]").first.get_attribute("value")
    crafted = provider.request.post("/portal/exceptions/explain", max_redirects=0, form={
        "exception_id": "V-OTHER:no_check_in", "reason_code": "phone_battery_dead",
        "csrf_token": token})
    assert crafted.status == 303 and "failed=" in crafted.headers["location"]
    assert "another provider" in crafted.headers["location"].replace("+", " ").replace("%27", "'")
    tokenless = provider.request.post("/portal/exceptions/explain", max_redirects=0, form={
        "exception_id": "V-DONE:manual_entry:K0815", "reason_code": "phone_battery_dead"})
    assert tokenless.status == 403


def test_the_duty_board_shows_a_new_alert_without_a_reload_and_takes_acts(
    site: str, browser: Any
) -> None:
    duty = _signed_in(browser, site, "duty-akhan")
    duty.goto("/portal/duty")
    _until(lambda: "V-MISSED" in duty.content(), 90, "the missed call", duty)
    loaded_at = duty.evaluate("performance.timeOrigin")
    duty.wait_for_selector("text=V-LATER", timeout=(LATER_MISSED_IN.total_seconds() + 150) * 1000)
    assert duty.evaluate("performance.timeOrigin") == loaded_at  # the same page, not reloaded
    _shot(duty, "duty-board")

    duty.get_by_text("Act on missed call V-MISSED").click()
    row = duty.locator("#alert-V-MISSED-missed")
    row.get_by_label("Action taken").fill("Phoned the provider: carer sent")
    row.get_by_role("button", name="Acknowledge").click()
    assert "Acknowledged" in duty.get_by_role("status").inner_text()
    _until(lambda: "Acknowledged by duty-akhan" in duty.locator("#alert-V-MISSED-missed")
           .inner_text(), 60, "the acknowledgement", duty)

    duty.get_by_text("Act on missed call V-LATER").click()
    row = duty.locator("#alert-V-LATER-missed")
    row.get_by_label("Escalate to").select_option("manager")
    row.get_by_role("button", name="Escalate").click()
    assert "Escalated" in duty.get_by_role("status").inner_text()
    _until(lambda: "Named manager" in duty.locator("#alert-V-LATER-missed").inner_text(),
           60, "the escalation", duty)

    phone = _signed_in(browser, site, "duty-akhan", viewport={"width": 390, "height": 844})
    phone.goto("/portal/duty")
    _shot(phone, "duty-board-phone")


def test_every_role_reaches_each_of_its_pages_and_nothing_loads_from_the_network(
    site: str, browser: Any
) -> None:
    for user_id, _, _ in USERS:
        page = _signed_in(browser, site, user_id)
        links = page.get_by_role("navigation", name="Portal").get_by_role("link")
        for href in [links.nth(i).get_attribute("href") for i in range(links.count())]:
            answer = page.goto(href)
            assert answer.status == 200, (user_id, href)
            assert page.get_by_role("heading", level=1).count() == 1
        page.goto("/portal/visits/V-DONE")
        assert page.offsite == [], (user_id, page.offsite)
        page.get_by_role("button", name="Sign out").click()
        assert page.url.endswith("/portal/sign-in")


def test_the_scorecard(site: str, browser: Any) -> None:
    manager = _signed_in(browser, site, "cm-rpatel")
    manager.goto("/portal/scorecard")
    _until(lambda: "P017" in manager.content(), 60, "the provider's row", manager)
    assert manager.locator("svg").count() >= 2
    manager.get_by_role("link", name="12-week trend").first.click()
    assert "Twelve-week trends: " in manager.content() and "all providers" not in \
        manager.get_by_role("heading", level=2).last.inner_text()
    with manager.expect_download() as download:
        manager.get_by_role("link", name="CSV").first.click()
    assert download.value.suggested_filename.startswith("payments-P017")
    _shot(manager, "scorecard")


def test_a_rate_published_for_the_past_is_recalculated_and_shown_before_it_is_applied(
    stack: tuple[str, Pipeline], browser: Any
) -> None:
    site, pipe = stack
    manager = _signed_in(browser, site, "cm-rpatel")
    manager.goto("/portal/visits/V-DONE")
    _until(lambda: "Payable" in manager.content(), 60, "V-DONE judged", manager)
    [card] = [e for e in examples() if isinstance(e, c.RateCardPublished)]
    since = NOW.date() - timedelta(days=7)
    uplift = card.model_copy(update={"event_id": "ref-rate-dgs4-hc-uplift", "occurred_at": NOW,
                                     "effective_from": since, "hourly_rate": Decimal("31.00")})
    pipe.send([uplift])
    manager.goto("/portal/recalculations")
    why = f"rate_card {card.rate_card_id} effective {since}"
    _until(lambda: why in manager.content(), 90, "the sink's recalculation", manager)
    row = manager.get_by_role("row").filter(has_text=why)
    assert "not applied" in row.inner_text()
    _shot(manager, "recalculations")
    row.get_by_role("link").click()
    assert "Nothing has changed yet" in manager.content()
    visits = manager.get_by_role("table").filter(has_text="Each visit whose figures change")
    done = visits.get_by_role("row").filter(has_text="V-DONE")
    assert "payable_gbp" in done.inner_text()
    assert manager.get_by_role("table").filter(has_text="Providers whose").get_by_role(
        "row").filter(has_text="P017").count() == 1
    _shot(manager, "recalculation")
    done.get_by_role("link", name="V-DONE").click()
    assert "/portal/visits/V-DONE" in manager.url
    provider = _signed_in(browser, site, "p017-office")
    assert provider.goto("/portal/recalculations").status == 403
