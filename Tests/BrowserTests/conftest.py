import os
import shutil

import pytest

from bench import JOHNS, ROOT, SALLEY, Bench, photo
from browser import write_y4m


@pytest.fixture(scope="session")
def bench():
    # Each run's screenshots are its own: none of an earlier run (a failure's above all) is left to mislead.
    from browser import ARTEFACTS
    shutil.rmtree(ARTEFACTS, ignore_errors=True)
    binaries = os.environ.get("ENROLLD_BIN", os.path.join(ROOT, ".build", "debug"))
    if not os.path.isdir(JOHNS):
        pytest.fail(f"the shared faces are missing at {JOHNS}")
    bench = Bench(binaries)
    try:
        bench.start_pcscd()
        bench.start_daemon()
        bench.salley_profile = bench.write_card_profile("salley.json", SALLEY, photo("John_Salley", 0))
        bench.insert_card(bench.salley_profile)
        yield bench
    finally:
        bench.stop_all()


@pytest.fixture(scope="session")
def cameras(bench):
    """Fake camera files: the card holder's face (another photo than the chip's) and someone else's."""
    return {
        "holder": write_y4m(photo("John_Salley", 3), os.path.join(bench.work, "holder.y4m")),
        "stranger": write_y4m(photo("John_Savage", 1), os.path.join(bench.work, "stranger.y4m")),
    }


@pytest.fixture(scope="session")
def outcome():
    """What the kiosk enrollment produced, for the counter console's tests."""
    return {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, the screen each open browser shows is an artefact too (`failed-<test>.png`)."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    from browser import ARTEFACTS, open_drivers
    os.makedirs(ARTEFACTS, exist_ok=True)
    for index, driver in enumerate(open_drivers):
        try:
            driver.save_screenshot(os.path.join(ARTEFACTS, f"failed-{item.name}-{index}.png"))
        except Exception:  # noqa: BLE001 - a browser that died has no screen to keep
            pass


def pytest_collection_modifyitems(items):
    """The counter console works on what the kiosk enrolled: kiosk tests run first, in file order."""
    order = {"test_strings.py": 0, "test_gateway.py": 1, "test_kiosk.py": 2, "test_counter.py": 3}
    items.sort(key=lambda item: order.get(os.path.basename(str(item.fspath)), 9))
