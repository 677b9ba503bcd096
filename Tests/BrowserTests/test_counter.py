"""The counter console in headless Chromium, through a gateway running as an operator's uid: find the account the
kiosk just enrolled, revoke its certificate after confirming, verify the audit chain; the daemon saw each gateway's
own uid and role."""
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from bench import KIOSK_UID, OPERATOR_UID, SALLEY_KEY
from browser import check_screen, chromium, visible, wait


@pytest.fixture(scope="module")
def counter(bench, cameras):
    gateway, url, _ = bench.start_gateway("counter", OPERATOR_UID)
    driver = chromium(cameras["holder"], bench.work)
    driver.get(url)
    wait(driver, lambda d: visible(d, "#find"), message="the console")
    yield driver
    driver.quit()
    bench.stop(gateway)


def answer(driver):
    try:
        element = visible(driver, "#answer-text > div")
        return (element.get_attribute("data-outcome"), element.text) if element else (None, "")
    except StaleElementReferenceException:
        return (None, "")


def test_finds_the_account_just_enrolled_by_its_id(counter, outcome):
    assert outcome, "the kiosk's full enrollment ran first"
    counter.find_element(By.ID, "find-id").send_keys(outcome["account"])
    counter.find_element(By.ID, "find-id-button").click()
    wait(counter, lambda d: visible(d, "#account"), 20, "the account")
    assert counter.find_element(By.ID, "account-summary").get_attribute("data-status") == "normal"
    row = counter.find_element(By.CSS_SELECTOR, f'#certificates tr[data-serial="{outcome["serial"]}"]')
    assert "issued" in row.text
    assert "kiosk-web" in counter.find_element(By.ID, "usage").text
    check_screen(counter, "counter-1-account")


def test_finds_the_account_by_reading_the_holders_card(counter, outcome):
    wait(counter, lambda d: "card present" in d.find_element(By.ID, "card-reader").text, 10, "the reader list")
    counter.find_element(By.ID, "card-number").send_keys(SALLEY_KEY["documentNumber"])
    counter.find_element(By.ID, "card-birth").send_keys(SALLEY_KEY["birthDate"])
    counter.find_element(By.ID, "card-expiry").send_keys(SALLEY_KEY["expiryDate"])
    counter.find_element(By.ID, "find-id").clear()
    counter.find_element(By.ID, "find-card-button").click()
    wait(counter, lambda d: d.find_element(By.ID, "find-id").get_attribute("value") == outcome["account"], 40,
         "the account found by card")
    assert counter.find_element(By.ID, "account-summary").get_attribute("data-status") == "normal"


def test_revokes_the_certificate_after_confirming_and_shows_the_answer(counter, outcome, bench):
    serial = outcome["serial"]
    counter.find_element(By.CSS_SELECTOR, f'button.revoke[data-serial="{serial}"]').click()
    wait(counter, lambda d: visible(d, "#confirm"), 5, "the confirmation")
    assert serial in counter.find_element(By.ID, "confirm-text").text
    assert counter.switch_to.active_element.get_attribute("id") == "revoke-reason", "focus moves into the dialog"
    status, view = bench.api("GET", f"/v1/accounts/{outcome['account']}")
    assert view["certificates"][0]["state"] == "issued", "nothing happens before the confirmation"
    Select(counter.find_element(By.ID, "revoke-reason")).select_by_value("key-compromise")
    check_screen(counter, "counter-2-confirm-revoke")
    counter.find_element(By.ID, "confirm-ok").click()
    wait(counter, lambda d: answer(d)[0] is not None, 20, "the daemon's answer")
    result, text = answer(counter)
    assert result == "ok" and "revoked" in text and "key-compromise" in text, text
    # The answer is announced (a status region) and the keyboard continues from it.
    assert counter.find_element(By.CSS_SELECTOR, "#answer-text > div").get_attribute("role") == "status"
    assert counter.switch_to.active_element.get_attribute("id") == "answer"
    check_screen(counter, "counter-3-revoked")
    status, view = bench.api("GET", f"/v1/accounts/{outcome['account']}/certificates")
    assert status == 200
    revoked = next(c for c in view if c["serial"] == serial)
    assert revoked["state"] == "revoked" and revoked["revocationReason"] == "key-compromise", revoked
    # A second revocation is the daemon's refusal, shown as it is.
    assert not counter.find_elements(By.CSS_SELECTOR, f'button.revoke[data-serial="{serial}"]')


def test_an_identity_change_needs_a_reason(counter, outcome):
    counter.find_element(By.ID, "invalidate-identity").click()
    wait(counter, lambda d: visible(d, "#confirm"), 5, "the confirmation")
    counter.find_element(By.ID, "confirm-ok").click()
    assert "Give a reason" in counter.find_element(By.ID, "confirm-error").text
    counter.find_element(By.ID, "confirm-back").click()
    wait(counter, lambda d: not visible(d, "#confirm"), 5, "the dialog to close")


def test_verifies_the_audit_chain(counter):
    counter.find_element(By.ID, "audit-verify").click()
    wait(counter, lambda d: visible(d, "#confirm"), 5, "the confirmation")
    counter.find_element(By.ID, "confirm-ok").click()
    wait(counter, lambda d: "audit chain" in answer(d)[1], 20, "the audit report")
    assert answer(counter)[0] == "ok" and "intact" in answer(counter)[1], answer(counter)


def test_the_daemon_saw_each_gateways_own_uid_and_role(bench, outcome):
    status, page = bench.api("GET", f"/v1/accounts/{outcome['account']}/usage?limit=100")
    assert status == 200
    by_channel = {}
    for record in page["records"]:
        by_channel.setdefault(record["channel"], set()).add((record["actorRole"], record["actorUid"]))
    assert by_channel.get("kiosk-web") == {("kiosk", KIOSK_UID)}, by_channel
    assert by_channel.get("counter-web") == {("operator", OPERATOR_UID)}, by_channel
    revocations = [r for r in page["records"] if r["channel"] == "counter-web" and "revo" in r["event"]]
    assert revocations, page["records"]
