// The kiosk app: one step per screen — choose (and language), access details (scan or type), the card on the
// reader, the camera (liveness prompts where the daemon offers them, else one photo), the result. Everything the
// visit collects lives in `visit` in this page's memory only; the idle timeout and "Start over" reload the page,
// which drops it all (nothing is written to cookies, localStorage, sessionStorage or IndexedDB).
import { ApiProblem, events, get, post, settings } from "/common/api.js";
import { Camera } from "/common/camera.js";
import { $, $$, announce, showScreen } from "/common/dom.js";
import { checkDigit, isMRZDate, normaliseDocumentNumber } from "/common/mrz.js";
import { has, load, t } from "/kiosk/i18n.js";
import { newSigningKey } from "/kiosk/keysource.js";
import { runLiveness } from "/kiosk/liveness.js";

const visit = {
    config: null,
    purpose: "register",
    accessKey: null,
    reader: null,
    session: null,
    readerState: "idle",
    busy: false,
};
const camera = new Camera($("#camera-video"));
const scanCamera = new Camera($("#scan-video"));
let closeEvents = () => {};

// Problems that send the person back to the access details, and those the reader step can retry.
const accessProblems = new Set(["access-key-rejected", "invalid-access-key", "invalid-mrz", "missing-access-key"]);
const readerProblems = new Set(["card-removed", "no-card", "reader-error", "card-read-timeout", "chip-error",
                                "chip-security-error", "reader-busy", "reader-not-found", "pcsc-unavailable"]);

/// Words for a refusal: the kiosk's own for the codes it knows, else the daemon's detail (what to do).
function describe(problem, values = {}) {
    const key = `problem.${problem.code}`;
    if (has(key)) return t(key, values);
    return problem.detail || t("problem.unknown");
}

function showError(target, problem, values) {
    const box = $(target);
    box.textContent = "";
    if (!problem) return;
    box.textContent = problem instanceof ApiProblem || problem.code ? describe(problem, values) : String(problem);
    box.dataset.code = problem.code || "";
}

// Step 1: choose, and the language.
async function chooseLanguage(code) {
    await load(code);
    for (const button of $$(".language")) button.setAttribute("aria-pressed", String(button.dataset.lang === code));
    document.title = t("app.title");
}

// Either choice starts with the card: the card says whether its holder has an account. A registration of an
// enrolled identity is refused with an upgrade token for that session (never the account's number), and the visit
// continues as the account's upgrade with it.
function begin(purpose) {
    visit.purpose = purpose;
    $("#start-over").hidden = false;
    showAccess();
}

// Step 2: the access key, scanned from the card or typed, with the check digits shown as people type.
// `typed`: the person typed the key that the chip refused, so the typed fields come back with the chip's answer.
function showAccess(typed = false) {
    const scanning = visit.config.features.scan && !typed;
    $("#scan-panel").hidden = !scanning;
    $("#typed-panel").hidden = scanning;
    showScreen("screen-access");
    if (scanning) scanCamera.start().catch((error) => showError("#scan-error", { code: "local.camera", detail: String(error) }));
}

function selectTab(which) {
    for (const [tab, form] of [["#tab-mrz", "#form-mrz"], ["#tab-can", "#form-can"]]) {
        const selected = tab === `#tab-${which}`;
        $(tab).setAttribute("aria-selected", String(selected));
        $(tab).tabIndex = selected ? 0 : -1;
        $(form).hidden = !selected;
    }
    $(`#tab-${which}`).focus();
}

function updateCheckDigit(input, hint, normalise, valid) {
    const value = normalise(input.value);
    if (input.value !== value) input.value = value;
    if (!value) {
        hint.textContent = "";
        return;
    }
    if (!valid(value)) {
        hint.textContent = t("access.incomplete");
        return;
    }
    hint.textContent = t("access.checkDigit", { digit: checkDigit(value) });
}

const digitsOnly = (text) => text.replace(/[^0-9]/g, "");
const checks = [
    ["#document-number", "#document-number-check", normaliseDocumentNumber, (v) => v.length >= 1],
    ["#birth-date", "#birth-date-check", digitsOnly, isMRZDate],
    ["#expiry-date", "#expiry-date-check", digitsOnly, isMRZDate],
];

function submitMRZ(event) {
    event.preventDefault();
    const documentNumber = normaliseDocumentNumber($("#document-number").value);
    const birthDate = $("#birth-date").value;
    const expiryDate = $("#expiry-date").value;
    const invalid = [["#document-number", documentNumber.length >= 1], ["#birth-date", isMRZDate(birthDate)],
                     ["#expiry-date", isMRZDate(expiryDate)]];
    for (const [field, ok] of invalid) $(field).setAttribute("aria-invalid", String(!ok));
    const first = invalid.find(([, ok]) => !ok);
    if (first) {
        showError("#mrz-error", { code: "local.mrz-fields" });
        $(first[0]).focus();
        return;
    }
    showError("#mrz-error", null);
    visit.accessKey = { documentNumber, birthDate, expiryDate };
    startReader();
}

function submitCAN(event) {
    event.preventDefault();
    const can = digitsOnly($("#can").value);
    const ok = can.length === 6;
    $("#can").setAttribute("aria-invalid", String(!ok));
    if (!ok) {
        showError("#can-error", { code: "local.can" });
        $("#can").focus();
        return;
    }
    showError("#can-error", null);
    visit.accessKey = { can };
    startReader();
}

async function scanCard() {
    showError("#scan-error", null);
    $("#scan-button").disabled = true;
    try {
        const image = await scanCamera.capture(0.92);
        // The daemon reads the key from the photo and tells what it found; the read and the enrollment take the
        // same photo (`accessKey: {scan}`) and try its best keys on the chip.
        const result = await post("/v1/cards/scan", { image });
        if (!result.candidates?.length) {
            throw { status: 422, code: "access-key-unreadable", detail: null };
        }
        visit.accessKey = { scan: image };
        scanCamera.stop();
        startReader();
    } catch (problem) {
        if (problem.status === 404 && problem.code === "not-found") {
            // The daemon does not offer scanning (any more): type the details.
            visit.config.features.scan = false;
            useTypedEntry();
        } else {
            showError("#scan-error", problem);
        }
    } finally {
        $("#scan-button").disabled = false;
    }
}

function useTypedEntry() {
    scanCamera.stop();
    $("#scan-panel").hidden = true;
    $("#typed-panel").hidden = false;
    $("#document-number").focus();
}

// Step 3: the card on the reader. Events say when a card arrives, when the read starts, ends or fails.
function readerStatus(key) {
    $("#reader-status").textContent = t(key);
}

function onEvent(type, data) {
    if (visit.reader && data.reader && data.reader !== visit.reader && visit.readerState !== "waiting") return;
    switch (type) {
    case "card-inserted":
        if (visit.readerState === "waiting" && (!visit.config.reader || data.reader === visit.config.reader)) {
            visit.reader = data.reader;
            readCard();
        }
        break;
    case "card-read-started":
        if (visit.readerState === "reading") readerStatus("reader.reading");
        break;
    case "card-read-completed":
        if (visit.readerState === "reading") readerStatus("reader.checking");
        break;
    case "card-removed":
        if (visit.readerState === "reading") readerStatus("reader.removed");
        break;
    default:
        break;
    }
}

async function startReader() {
    showScreen("screen-reader");
    showError("#reader-error", null);
    $("#reader-retry").hidden = true;
    $("#reader-progress").hidden = true;
    visit.readerState = "waiting";
    readerStatus("reader.waiting");
    try {
        const list = await get("/v1/readers");
        const wanted = visit.config.reader;
        const present = list.readers.find((reader) => reader.cardPresent && (!wanted || reader.name === wanted));
        if (present && visit.readerState === "waiting") {
            visit.reader = present.name;
            readCard();
        } else if (list.readers.length === 0) {
            readerStatus("reader.none");
        }
    } catch (problem) {
        showError("#reader-error", problem);
    }
}

/// Opens the session; an identity that has an account continues as that account's upgrade, with the token the
/// refusal handed over for this session.
async function openSession(body) {
    try {
        const session = await post("/v1/enrollments", body);
        visit.purpose = "register";
        return session;
    } catch (problem) {
        const offer = problem.body || {};
        if (problem.code !== "identity-already-enrolled" || !offer.upgradeToken || !offer.enrollmentId) throw problem;
        const session = await post(`/v1/enrollments/${offer.enrollmentId}/upgrade`, { upgradeToken: offer.upgradeToken });
        visit.purpose = "upgrade";
        return session;
    }
}

async function readCard() {
    visit.readerState = "reading";
    visit.busy = true;
    readerStatus("reader.keep");
    announce(t("reader.keep"));
    $("#reader-progress").hidden = false;
    $("#reader-back").disabled = true;
    const body = { reader: visit.reader, accessKey: visit.accessKey, purpose: "register" };
    try {
        visit.session = await openSession(body);
        visit.readerState = "done";
        readerStatus("reader.done");
        announce(t("reader.done"));
        startCamera();
    } catch (problem) {
        visit.readerState = "failed";
        $("#reader-progress").hidden = true;
        if (accessProblems.has(problem.code)) {
            const scanned = Boolean(visit.accessKey.scan);
            showAccess(!scanned);
            const target = scanned ? "#scan-error" : visit.accessKey.can ? "#can-error" : "#mrz-error";
            if (visit.accessKey.can) selectTab("can");
            showError(target, problem);
            $(target).scrollIntoView();
        } else if (readerProblems.has(problem.code)) {
            readerStatus("reader.failed");
            showError("#reader-error", problem);
            $("#reader-retry").hidden = false;
            $("#reader-retry").focus();
        } else {
            finalError(problem);
        }
    } finally {
        visit.busy = false;
        $("#reader-back").disabled = false;
    }
}

// Step 4: the camera. Liveness prompts where the daemon offers them and this session needs them (the session's
// `livenessRequired`, from `[liveness] required_for`), else one photo.
const livenessStep = () => visit.config.features.liveness && visit.session?.livenessRequired !== false;

async function startCamera() {
    showScreen("screen-camera");
    showError("#camera-error", null);
    $("#camera-status").textContent = "";
    $("#camera-capture").disabled = true;
    $("#camera-capture").textContent = t(livenessStep() ? "camera.start" : "camera.capture");
    try {
        await camera.start();
        $("#camera-capture").disabled = false;
    } catch (error) {
        showError("#camera-error", { code: "local.camera", detail: String(error) });
    }
}

async function capture() {
    visit.busy = true;
    $("#camera-capture").disabled = true;
    showError("#camera-error", null);
    try {
        if (livenessStep()) {
            const outcome = await runLiveness(visit, camera, {
                prompt: (text) => { $("#camera-prompt").hidden = !text; $("#camera-prompt").textContent = text; },
                status: (key) => { $("#camera-status").textContent = t(key); },
            });
            if (outcome === "unavailable") {
                visit.config.features.liveness = false;
                await takePhoto();
            } else if (visit.session.state !== "face-matched") {
                // Live, but the burst did not settle the match with the chip portrait: one photo does.
                await takePhoto();
            }
        } else {
            await takePhoto();
        }
        camera.stop();
        await complete();
    } catch (problem) {
        $("#camera-prompt").hidden = true;
        $("#camera-status").textContent = "";
        if (problem.code === "attempts-exhausted" || problem.code === "enrollment-expired") {
            camera.stop();
            finalError(problem);
            return;
        }
        let attemptsLeft = "";
        try {
            attemptsLeft = (await get(`/v1/enrollments/${visit.session.id}`)).photoAttemptsLeft;
        } catch { /* the count is a courtesy */ }
        showError("#camera-error", problem, { attemptsLeft });
        $("#camera-capture").textContent = t("action.tryAgain");
        $("#camera-capture").disabled = false;
        $("#camera-capture").focus();
    } finally {
        visit.busy = false;
    }
}

async function takePhoto() {
    $("#camera-status").textContent = t("camera.checking");
    const photo = await camera.capture();
    visit.session = await post(`/v1/enrollments/${visit.session.id}/photo`, { photo });
}

// Step 5: the result.
async function complete() {
    showScreen("screen-result");
    $("#result-title").textContent = t("result.working");
    announce(t("result.working"));
    visit.busy = true;
    try {
        const key = await newSigningKey();
        const outcome = await post(`/v1/enrollments/${visit.session.id}/complete`, {
            csr: key.csr, deviceId: key.deviceId, devicePublicKey: key.publicKey, deviceLabel: "kiosk",
        });
        $("#result-title").textContent = t(outcome.tier === "signing" ? "result.titleSigning" : "result.titleBasic");
        $("#result-summary").textContent = t(visit.purpose === "upgrade" ? "result.upgraded" : "result.registered");
        $("#result-tier").textContent = t(`tier.${outcome.tier}`);
        $("#result-serial").textContent = outcome.certificateSerial ?? "—";
        $("#result-account").textContent = outcome.accountID;
        $("#result-success").hidden = false;
        $("#result-done").hidden = false;
        $("#result-title").focus();
    } catch (problem) {
        finalError(problem);
    } finally {
        visit.busy = false;
    }
}

function finalError(problem) {
    camera.stop();
    showScreen("screen-result");
    $("#result-title").textContent = t("result.failedTitle");
    $("#result-success").hidden = true;
    showError("#result-error", problem);
    $("#result-done").hidden = false;
    $("#result-done").textContent = t("action.startOver");
    $("#result-title").focus();
}

// Leaving: a reload drops every value the visit held.
function startOver() {
    camera.stop();
    scanCamera.stop();
    closeEvents();
    window.location.replace("/");
}

function watchIdle(seconds) {
    let last = Date.now();
    let warned = false;
    // The warning lasts a quarter of the idle time, 10 to 20 s: long enough to notice it and touch "Continue".
    const warning = Math.max(10, Math.min(20, Math.round(seconds / 4)));
    const dialog = $("#idle-dialog");
    const touch = () => {
        last = Date.now();
        if (warned) {
            warned = false;
            dialog.close();
        }
    };
    for (const type of ["pointerdown", "keydown", "input", "wheel"]) document.addEventListener(type, touch, true);
    $("#idle-continue").addEventListener("click", touch);
    setInterval(() => {
        const idle = (Date.now() - last) / 1000;
        const onStart = !$("#screen-welcome").hidden && !visit.accessKey && visit.purpose === "register"
            && document.documentElement.lang === "en";
        if (visit.busy || onStart) {
            last = Date.now();
            return;
        }
        if (!warned && idle >= seconds) {
            warned = true;
            dialog.showModal();
            $("#idle-continue").focus();
        } else if (warned && idle >= seconds + warning) {
            startOver();
        }
    }, 500);
}

async function main() {
    try {
        visit.config = await settings();
        await chooseLanguage("en");
    } catch (problem) {
        $("#loading-error").textContent = problem.detail || String(problem);
        return;
    }
    for (const button of $$(".language")) button.addEventListener("click", () => chooseLanguage(button.dataset.lang));
    $("#choose-register").addEventListener("click", () => begin("register"));
    $("#choose-upgrade").addEventListener("click", () => begin("upgrade"));
    $("#start-over").addEventListener("click", startOver);
    for (const button of $$(".back")) {
        button.addEventListener("click", () => {
            if (!$("#screen-reader").hidden) showAccess();
            else startOver();
        });
    }
    $("#tab-mrz").addEventListener("click", () => selectTab("mrz"));
    $("#tab-can").addEventListener("click", () => selectTab("can"));
    for (const tab of ["#tab-mrz", "#tab-can"]) {
        $(tab).addEventListener("keydown", (event) => {
            if (event.key === "ArrowRight" || event.key === "ArrowLeft") selectTab(tab === "#tab-mrz" ? "can" : "mrz");
        });
    }
    for (const [input, hint, normalise, valid] of checks) {
        $(input).addEventListener("input", () => updateCheckDigit($(input), $(hint), normalise, valid));
    }
    $("#form-mrz").addEventListener("submit", submitMRZ);
    $("#form-can").addEventListener("submit", submitCAN);
    $("#scan-button").addEventListener("click", scanCard);
    $("#scan-type-instead").addEventListener("click", useTypedEntry);
    $("#reader-retry").addEventListener("click", startReader);
    $("#camera-capture").addEventListener("click", capture);
    $("#result-done").addEventListener("click", startOver);
    closeEvents = events(["card-inserted", "card-removed", "card-read-started", "card-read-completed",
                          "card-read-failed"], onEvent);
    watchIdle(visit.config.idleSeconds);
    showScreen("screen-welcome");
}

main();
