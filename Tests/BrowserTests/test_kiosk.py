"""The kiosk app in headless Chromium against the real enrolld, pcscd + vpcd and the virtual card: a wrong access
key, a card pulled mid-read, a face that does not match, a full enrollment to the signing tier, the idle timeout."""
import os
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from bench import KIOSK_UID, READER0, SALLEY, SALLEY_KEY, photo
from browser import check_screen, chromium, focus_is_visible, storage_is_empty, visible, wait, write_y4m

TOUCH = 64


@pytest.fixture(scope="module")
def kiosk(bench, cameras):
    gateway, url, port = bench.start_gateway("kiosk", KIOSK_UID)
    driver = chromium(cameras["holder"], bench.work)
    driver.get(url)
    wait(driver, lambda d: visible(d, "#screen-welcome"), message="the welcome screen")
    yield driver
    driver.quit()
    bench.stop(gateway)


def screen(driver, name, timeout=40):
    return wait(driver, lambda d: visible(d, f"#screen-{name}"), timeout, f"the {name} screen")


def type_key(driver, key):
    # Where the daemon offers card scanning the kiosk asks for a photo of the card first; the fake camera shows a
    # face, so these tests type the key.
    instead = visible(driver, "#scan-type-instead")
    if instead:
        instead.click()
    for field, value in (("document-number", key["documentNumber"]), ("birth-date", key["birthDate"]),
                         ("expiry-date", key["expiryDate"])):
        element = driver.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)


def error_code(driver, box):
    element = visible(driver, box)
    return element.get_attribute("data-code") if element and element.text.strip() else None


def test_start_screen_in_four_languages_by_keyboard(kiosk):
    check_screen(kiosk, "kiosk-1-welcome", TOUCH)
    titles = {}
    for language in ("zh-Hant", "vi", "pt", "en"):
        kiosk.find_element(By.CSS_SELECTOR, f'button[data-lang="{language}"]').click()
        wait(kiosk, lambda d: d.execute_script("return document.documentElement.lang") == language)
        titles[language] = kiosk.find_element(By.ID, "welcome-title").text
        if language == "zh-Hant":
            check_screen(kiosk, "kiosk-1-welcome-zh-Hant", TOUCH)
    assert len(set(titles.values())) == 4, titles
    assert kiosk.find_element(By.CSS_SELECTOR, 'button[data-lang="en"]').get_attribute("aria-pressed") == "true"
    # Keyboard: from the heading, Tab walks the languages, then Register; Enter starts.
    kiosk.find_element(By.ID, "welcome-title").click()
    heading = kiosk.find_element(By.ID, "welcome-title")
    kiosk.execute_script("arguments[0].focus()", heading)
    order = []
    for _ in range(5):
        kiosk.switch_to.active_element.send_keys(Keys.TAB)
        order.append(kiosk.switch_to.active_element.get_attribute("data-lang") or kiosk.switch_to.active_element.get_attribute("id"))
        assert focus_is_visible(kiosk), f"no visible focus on {order[-1]}"
    assert order == ["en", "zh-Hant", "vi", "pt", "choose-register"], order
    kiosk.switch_to.active_element.send_keys(Keys.ENTER)
    screen(kiosk, "access")
    assert kiosk.switch_to.active_element.get_attribute("id") == "access-title", "focus moves to the new screen"


def test_wrong_access_key_sends_the_person_back_with_the_chips_answer(kiosk):
    screen(kiosk, "access")
    wrong = dict(SALLEY_KEY, birthDate="900813")
    type_key(kiosk, wrong)
    # The live check-digit hints (ICAO 9303-3 §4.9): D23145890 → 7, 900813 → 5, 320415 → 3.
    assert "7" in kiosk.find_element(By.ID, "document-number-check").text
    assert "5" in kiosk.find_element(By.ID, "birth-date-check").text
    assert "3" in kiosk.find_element(By.ID, "expiry-date-check").text
    check_screen(kiosk, "kiosk-2-access", TOUCH)
    kiosk.find_element(By.ID, "mrz-continue").click()
    wait(kiosk, lambda d: error_code(d, "#mrz-error") == "access-key-rejected", 40, "access-key-rejected")
    assert kiosk.find_element(By.ID, "mrz-error").get_attribute("role") == "alert"
    assert "check the document number" in kiosk.find_element(By.ID, "mrz-error").text.lower()
    check_screen(kiosk, "kiosk-2-access-rejected", TOUCH)


def test_card_pulled_mid_read_says_keep_it_on_the_reader_and_retries(kiosk, bench):
    # Short reads (no extended length) make the portrait many READ BINARYs; the card leaves at the fourth.
    slow = bench.write_card_profile("salley-short.json", SALLEY, photo("John_Salley", 0), {"extendedLength": False})
    bench.insert_card(slow, faults=["card-removed:during=dg2:at=4"])
    type_key(kiosk, SALLEY_KEY)
    kiosk.find_element(By.ID, "mrz-continue").click()
    screen(kiosk, "reader")
    wait(kiosk, lambda d: error_code(d, "#reader-error") == "card-removed", 40, "card-removed")
    assert "hold it on the reader" in kiosk.find_element(By.ID, "reader-error").text.lower()
    check_screen(kiosk, "kiosk-3-card-removed", TOUCH)
    # The card comes back (enroll-vcard re-enters the field clean); "Try again" reads it.
    bench.wait_for(bench.card_present, "the card back on the reader")
    kiosk.find_element(By.ID, "reader-retry").click()
    screen(kiosk, "camera")
    kiosk.find_element(By.ID, "start-over").click()
    screen(kiosk, "welcome")
    bench.insert_card(bench.salley_profile)


def walk_to_camera(driver):
    driver.find_element(By.ID, "choose-register").click()
    screen(driver, "access")
    type_key(driver, SALLEY_KEY)
    driver.find_element(By.ID, "mrz-continue").click()
    # The reader screen passes by quickly when the card is already on the reader.
    screen(driver, "camera")
    wait(driver, lambda d: d.find_element(By.ID, "camera-capture").is_enabled(), 20, "the camera")


def test_a_face_that_does_not_match_is_refused_with_attempts_left(bench, cameras):
    gateway, url, _ = bench.start_gateway("kiosk", KIOSK_UID)
    driver = chromium(cameras["stranger"], bench.work)
    try:
        driver.get(url)
        screen(driver, "welcome")
        walk_to_camera(driver)
        driver.find_element(By.ID, "camera-capture").click()
        wait(driver, lambda d: error_code(d, "#camera-error") == "face-mismatch", 60, "face-mismatch")
        text = driver.find_element(By.ID, "camera-error").text
        assert "did not match" in text and "2 attempts left" in text, text
        check_screen(driver, "kiosk-5-face-mismatch", TOUCH)
    finally:
        driver.quit()
        bench.stop(gateway)


def test_full_enrollment_reaches_the_signing_tier(kiosk, bench, outcome):
    walk_to_camera(kiosk)
    check_screen(kiosk, "kiosk-4-camera", TOUCH)
    kiosk.find_element(By.ID, "camera-capture").click()
    wait(kiosk, lambda d: visible(d, "#result-success"), 90, "the result")
    serial = kiosk.find_element(By.ID, "result-serial").text.strip()
    account = kiosk.find_element(By.ID, "result-account").text.strip()
    assert kiosk.find_element(By.ID, "result-tier").text == "Signing"
    check_screen(kiosk, "kiosk-6-result", TOUCH)
    assert storage_is_empty(kiosk), "nothing personal in browser storage (and the cookie is HttpOnly)"
    status, view = bench.api("GET", f"/v1/accounts/{account}")
    assert status == 200 and view["tier"] == "signing", view
    assert [c["serial"] for c in view["certificates"]] == [serial]
    outcome.update(serial=serial, account=account)


ENROLLED = ["I<UTOQ987654328<<<<<<<<<<<<<<<", "9001011M3612314UTO<<<<<<<<<<<2", "SCHNEIDER<<JOHN<<<<<<<<<<<<<<<"]
ENROLLED_KEY = {"documentNumber": "Q98765432", "birthDate": "900101", "expiryDate": "361231"}


def test_an_enrolled_holder_upgrades_with_the_refusals_token_not_an_account_number(bench, cameras):
    """"Upgrade my account" asks for no account number: the card's identity has a basic account, the registration is
    refused with an upgrade token for that session, and the kiosk continues as that account's upgrade."""
    bench.insert_card(bench.write_card_profile("enrolled.json", ENROLLED, photo("John_Schneider", 0)))
    camera = write_y4m(photo("John_Schneider", 3), os.path.join(bench.work, "schneider.y4m"))
    gateway, url, _ = bench.start_gateway("kiosk", KIOSK_UID)
    driver = chromium(camera, bench.work)
    try:
        status, started = bench.api("POST", "/v1/enrollments", {"reader": READER0, "accessKey": ENROLLED_KEY})
        assert status == 201, started
        status, basic = bench.api("POST", f"/v1/enrollments/{started['id']}/complete", {})
        assert status == 200 and basic["tier"] == "basic", basic
        driver.get(url)
        screen(driver, "welcome")
        driver.find_element(By.ID, "choose-upgrade").click()
        screen(driver, "access")
        type_key(driver, ENROLLED_KEY)
        driver.find_element(By.ID, "mrz-continue").click()
        screen(driver, "camera")
        wait(driver, lambda d: d.find_element(By.ID, "camera-capture").is_enabled(), 20, "the camera")
        driver.find_element(By.ID, "camera-capture").click()
        wait(driver, lambda d: visible(d, "#result-success"), 90, "the result")
        assert driver.find_element(By.ID, "result-account").text.strip() == basic["accountID"]
        assert driver.find_element(By.ID, "result-summary").text.strip() == "Your account is upgraded."
        assert driver.find_element(By.ID, "result-tier").text == "Signing"
        status, view = bench.api("GET", f"/v1/accounts/{basic['accountID']}")
        assert status == 200 and view["tier"] == "signing", view
    finally:
        driver.quit()
        bench.stop(gateway)
        bench.insert_card(bench.salley_profile)


def test_idle_timeout_returns_to_the_start_and_forgets(bench, cameras):
    gateway, url, _ = bench.start_gateway("kiosk", KIOSK_UID, ["--idle-seconds", "5"])
    driver = chromium(cameras["holder"], bench.work)
    try:
        driver.get(url)
        screen(driver, "welcome")
        driver.find_element(By.CSS_SELECTOR, 'button[data-lang="pt"]').click()
        driver.find_element(By.ID, "choose-register").click()
        screen(driver, "access")
        instead = visible(driver, "#scan-type-instead")
        if instead:
            instead.click()
        driver.find_element(By.ID, "document-number").send_keys("D23145890")
        started = time.monotonic()
        wait(driver, lambda d: visible(d, "#idle-dialog"), 15, "the idle warning")
        assert time.monotonic() - started >= 4
        check_screen(driver, "kiosk-7-idle", TOUCH)
        wait(driver, lambda d: visible(d, "#screen-welcome") and not visible(d, "#idle-dialog"), 30, "the reset")
        assert driver.execute_script("return document.documentElement.lang") == "en"
        assert driver.find_element(By.ID, "document-number").get_attribute("value") == ""
        assert storage_is_empty(driver)
    finally:
        driver.quit()
        bench.stop(gateway)
