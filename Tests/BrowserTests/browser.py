"""Headless Chromium (Debian's chromium and chromium-driver, through Selenium; no browser is downloaded) with a
fake camera fed from a Y4M file made at test time from a Johns face, plus the checks every screen gets: a
screenshot at 1080x1920 portrait and 1280x800 landscape, no sideways scrolling, touch targets, text contrast and
accessible names."""
import os
import tempfile

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ARTEFACTS = os.environ.get("ENROLLD_BROWSER_ARTEFACTS",
                           os.path.join(os.path.dirname(__file__), "..", "..", ".build", "browser-artefacts"))
SIZES = {"portrait": (1080, 1920), "landscape": (1280, 800)}
# The browsers open now, for the failure screenshots (conftest.py).
open_drivers = []


def write_y4m(face_path, out_path, width=640, height=480, frames=2):
    """A Y4M (4:2:0) of `frames` identical frames: the face chip scaled to 300x300 on a grey, lit background."""
    face = Image.open(face_path).convert("RGB").resize((300, 300), Image.LANCZOS)
    frame = Image.new("RGB", (width, height), (120, 124, 128))
    frame.paste(face, ((width - 300) // 2, (height - 300) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    cb = cb.resize((width // 2, height // 2), Image.BILINEAR)
    cr = cr.resize((width // 2, height // 2), Image.BILINEAR)
    with open(out_path, "wb") as file:
        file.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            file.write(b"FRAME\n")
            file.write(y.tobytes())
            file.write(cb.tobytes())
            file.write(cr.tobytes())
    return out_path


def chromium(camera_file, work):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                     f"--use-file-for-fake-video-capture={camera_file}", "--window-size=1280,800",
                     "--no-first-run", "--disable-extensions", "--lang=en-US",
                     f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-', dir=work)}"]:
        options.add_argument(argument)
    service = Service(executable_path="/usr/bin/chromedriver", log_output=os.path.join(work, "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    open_drivers.append(driver)
    original_quit = driver.quit

    def quit_and_forget():
        open_drivers.remove(driver)
        original_quit()
    driver.quit = quit_and_forget
    driver.set_script_timeout(30)
    viewport(driver, *SIZES["landscape"])
    return driver


def viewport(driver, width, height):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def wait(driver, condition, timeout=30, message=""):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition(d), message)


def visible(driver, css):
    elements = driver.find_elements(By.CSS_SELECTOR, css)
    return elements[0] if elements and elements[0].is_displayed() else None


# Runs in the page: every visible text element's contrast against the colour behind it (WCAG 2.x relative
# luminance), every visible control's size, and sideways overflow.
AUDIT_SCRIPT = """
const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
  const p = m[1].split(',').map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
const background = (node) => { const layers = [];
  for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
    const c = parse(getComputedStyle(n).backgroundColor); if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; } }
  let out = { r: 255, g: 255, b: 255 };
  for (const c of layers.reverse()) out = { r: c.r * c.a + out.r * (1 - c.a), g: c.g * c.a + out.g * (1 - c.a),
                                            b: c.b * c.a + out.b * (1 - c.a) };
  return out; };
const failures = [];
for (const node of document.querySelectorAll('body *')) {
  const style = getComputedStyle(node);
  if (style.visibility === 'hidden' || node.offsetParent === null && style.position !== 'fixed') continue;
  const ownText = Array.from(node.childNodes).some((c) => c.nodeType === 3 && c.textContent.trim());
  if (!ownText || node.closest('.visually-hidden')) continue;
  const fg = parse(style.color); const bg = background(node);
  const ratio = (Math.max(lum(fg), lum(bg)) + 0.05) / (Math.min(lum(fg), lum(bg)) + 0.05);
  if (ratio < 4.5) failures.push(`contrast ${ratio.toFixed(2)} of "${node.textContent.trim().slice(0, 40)}"`);
}
const small = [];
for (const node of document.querySelectorAll('button, input, select, textarea, a[href]')) {
  if (node.offsetParent === null) continue;
  const box = node.getBoundingClientRect();
  if (box.height < arguments[0] || box.width < arguments[0]) small.push(`${node.id || node.textContent.trim().slice(0, 30)} ${Math.round(box.width)}x${Math.round(box.height)}`);
}
return { failures, small, overflow: document.documentElement.scrollWidth - window.innerWidth };
"""


def check_screen(driver, name, min_target=44):
    """Screenshots the screen in both orientations and audits it; returns the audit (asserting its rules)."""
    os.makedirs(ARTEFACTS, exist_ok=True)
    for orientation, (width, height) in SIZES.items():
        viewport(driver, width, height)
        driver.execute_script("return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        driver.save_screenshot(os.path.join(ARTEFACTS, f"{name}-{orientation}.png"))
        audit = driver.execute_script(AUDIT_SCRIPT, min_target)
        assert audit["failures"] == [], f"{name} ({orientation}): {audit['failures']}"
        assert audit["small"] == [], f"{name} ({orientation}) touch targets too small: {audit['small']}"
        assert audit["overflow"] <= 0, f"{name} ({orientation}) scrolls sideways by {audit['overflow']} px"
    # A modal dialog makes the rest of the page inert (out of the accessibility tree): check what is reachable.
    scope = "dialog[open] " if driver.find_elements(By.CSS_SELECTOR, "dialog[open]") else ""
    controls = ", ".join(scope + tag for tag in ("button", "input", "select", "textarea"))
    for control in driver.find_elements(By.CSS_SELECTOR, controls):
        if control.is_displayed():
            assert control.accessible_name.strip(), f"{name}: a control without an accessible name ({control.get_attribute('id')})"
    viewport(driver, *SIZES["landscape"])


def focus_is_visible(driver):
    """The focused element, reached by keyboard, shows an outline of at least 3 px (WCAG 2.2 SC 2.4.7)."""
    return driver.execute_script("""
        const style = getComputedStyle(document.activeElement);
        return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 3;""")


def storage_is_empty(driver):
    return driver.execute_script(
        "return localStorage.length === 0 && sessionStorage.length === 0 && document.cookie === ''")
