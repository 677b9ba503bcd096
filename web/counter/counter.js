// The counter console (operator role: the gateway runs as an operator's uid). Find an account by its id or by
// reading the holder's card; show its status and history, document, devices, certificates and usage records;
// revoke a certificate, cancel or invalidate the identity with a reason, verify the audit chain. Every action asks
// for confirmation first and then shows the daemon's answer (or its problem detail) in a live region.
import { events, get, post } from "/common/api.js";
import { $, announce, el } from "/common/dom.js";

let account = null;
let pending = null;

function showAnswer(ok, text) {
    const box = $("#answer");
    box.hidden = false;
    const message = el("div", { className: ok ? "success" : "alert", role: ok ? "status" : "alert" }, text);
    message.dataset.outcome = ok ? "ok" : "refused";
    $("#answer-text").replaceChildren(message);
    box.focus();
}

const problemText = (problem) => `${problem.title || "Refused"}: ${problem.detail || problem.message} (${problem.code})`;

function cell(text, className) {
    return el("td", className ? { className } : {}, text ?? "—");
}

function fill(tbody, rows, empty) {
    $(tbody).replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colSpan: 6 }, empty))]));
}

async function loadAccount(id) {
    const [view, devices, history, usage] = await Promise.all([
        get(`/v1/accounts/${id}`), get(`/v1/accounts/${id}/devices`), get(`/v1/accounts/${id}/status-history`),
        get(`/v1/accounts/${id}/usage?limit=100`),
    ]);
    account = view;
    $("#account").hidden = false;
    $("#account-title").textContent = `Account ${view.id}`;
    const facts = [["Name", `${view.givenNames} ${view.surname}`], ["Tier", view.tierName || view.tier],
                   ["Status", view.status], ["Created", view.createdAt], ["Updated", view.updatedAt]];
    $("#account-summary").replaceChildren(...facts.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
    $("#account-summary").dataset.status = view.status;
    fill("#documents", [el("tr", {}, cell(view.documentType), cell(view.issuingState), cell(view.documentExpiry))], "");
    fill("#certificates", view.certificates.map((certificate) => {
        const action = certificate.state === "issued"
            ? el("button", { type: "button", className: "danger revoke", "data-serial": certificate.serial,
                             "aria-label": `Revoke certificate ${certificate.serial}` }, "Revoke…")
            : "";
        const row = el("tr", { "data-serial": certificate.serial }, cell(certificate.serial, "mono"),
                       cell(certificate.state), cell(`${certificate.notBefore} – ${certificate.notAfter}`),
                       cell(certificate.revokedAt ? `${certificate.revokedAt} (${certificate.revocationReason})` : "—"),
                       el("td", {}, action));
        return row;
    }), "No certificates.");
    fill("#devices", devices.map((device) => el("tr", {}, cell(device.deviceId, "mono"), cell(device.label),
                                                   cell(device.boundAt),
                                                   cell(device.active ? "bound" : `unbound ${device.unboundAt ?? ""}`))),
         "No devices.");
    fill("#history", history.history.map((change) => el("tr", {}, cell(change.at), cell(`${change.from} → ${change.to}`),
                                                        cell(change.reason),
                                                        cell(`${change.actorRole} (uid ${change.actorUid}), ${change.channel}`))),
         "No status changes.");
    fill("#usage", usage.records.map((record) => el("tr", {}, cell(record.sequence), cell(record.at), cell(record.event),
                                                   cell(record.outcome), cell(record.channel),
                                                   cell(`${record.actorRole} (uid ${record.actorUid})`))),
         "No usage records.");
    const cancelled = view.status === "cancelled";
    $("#cancel-identity").disabled = cancelled;
    $("#invalidate-identity").disabled = cancelled || view.status === "invalid";
    announce(`Account ${view.id} shown`);
}

async function findById(event) {
    event.preventDefault();
    const id = $("#find-id").value.trim().toLowerCase();
    $("#find-id-error").textContent = "";
    if (!/^[0-9a-f-]{36}$/.test(id)) {
        $("#find-id").setAttribute("aria-invalid", "true");
        $("#find-id-error").textContent = "An account id is 36 characters: hexadecimal digits and dashes.";
        $("#find-id").focus();
        return;
    }
    $("#find-id").setAttribute("aria-invalid", "false");
    try {
        await loadAccount(id);
        $("#account-title").focus();
    } catch (problem) {
        $("#find-id-error").textContent = problemText(problem);
    }
}

async function findByCard(event) {
    event.preventDefault();
    $("#find-card-error").textContent = "";
    const can = $("#card-can").value.trim();
    const accessKey = can ? { can } : { documentNumber: $("#card-number").value.trim().toUpperCase(),
                                        birthDate: $("#card-birth").value.trim(), expiryDate: $("#card-expiry").value.trim() };
    const reader = $("#card-reader").value;
    if (!reader) {
        $("#find-card-error").textContent = "No reader: connect one and place the card on it.";
        return;
    }
    $("#find-card-button").disabled = true;
    $("#card-reader-state").textContent = "Reading the card: keep it on the reader…";
    try {
        const found = await post("/v1/accounts/lookup", { reader, accessKey });
        $("#card-reader-state").textContent = "Card read.";
        $("#find-id").value = found.accountId;
        await loadAccount(found.accountId);
        $("#account-title").focus();
    } catch (problem) {
        $("#card-reader-state").textContent = "";
        $("#find-card-error").textContent = ["not-found", "method-not-allowed"].includes(problem.code)
            ? "This enrolld cannot look accounts up by card: enter the account id instead."
            : problemText(problem);
    } finally {
        $("#find-card-button").disabled = false;
    }
}

async function refreshReaders() {
    try {
        const list = await get("/v1/readers");
        const select = $("#card-reader");
        const current = select.value;
        select.replaceChildren(...list.readers.map((reader) =>
            el("option", { value: reader.name }, `${reader.name}${reader.cardPresent ? " (card present)" : ""}`)));
        const withCard = list.readers.find((reader) => reader.cardPresent);
        select.value = list.readers.some((reader) => reader.name === current) ? current : (withCard?.name ?? "");
    } catch (problem) {
        $("#card-reader-state").textContent = problemText(problem);
    }
}

// Confirmation first, then the call, then the daemon's answer.
function confirmAction(action) {
    pending = action;
    $("#confirm-title").textContent = action.title;
    $("#confirm-text").textContent = action.text;
    $("#confirm-reason-select").hidden = action.reason !== "select";
    $("#confirm-reason-text").hidden = action.reason !== "text";
    $("#confirm-ok").textContent = action.confirm;
    $("#status-reason").value = "";
    $("#confirm-error").textContent = "";
    $("#confirm").showModal();
    (action.reason === "select" ? $("#revoke-reason") : action.reason === "text" ? $("#status-reason") : $("#confirm-back")).focus();
}

async function confirmed(event) {
    event.preventDefault();
    const action = pending;
    let reason = null;
    if (action.reason === "select") reason = $("#revoke-reason").value;
    if (action.reason === "text") {
        reason = $("#status-reason").value.trim();
        if (!reason) {
            $("#confirm-error").textContent = "Give a reason: it is recorded with the change.";
            $("#status-reason").focus();
            return;
        }
    }
    $("#confirm").close();
    try {
        const answer = await action.run(reason);
        showAnswer(true, action.describe(answer));
    } catch (problem) {
        showAnswer(false, problemText(problem));
    }
    if (account) await loadAccount(account.id).catch(() => {});
}

function revoke(serial) {
    confirmAction({
        title: "Revoke this certificate?", confirm: "Revoke",
        text: `Certificate ${serial} of account ${account.id} will be revoked for good and listed on the CRL.`,
        reason: "select",
        run: (reason) => post(`/v1/certificates/${serial}/revoke`, { reason }),
        describe: (answer) => `Certificate ${answer.serial} is ${answer.state}${answer.revocationReason ? ` (${answer.revocationReason})` : ""}.`,
    });
}

function changeStatus(status) {
    const final = status === "cancelled";
    confirmAction({
        title: final ? "Cancel this identity?" : "Invalidate this identity?", confirm: final ? "Cancel the identity" : "Invalidate",
        text: final ? `Account ${account.id} will be cancelled for good and every certificate revoked.`
            : `Account ${account.id} will be marked invalid until the holder re-verifies with card and face.`,
        reason: "text",
        run: (reason) => post(`/v1/accounts/${account.id}/status`, { status, reason }),
        describe: (answer) => `The identity is now ${answer.status ?? status}.`,
    });
}

function verifyAudit() {
    confirmAction({
        title: "Verify the audit chain?", confirm: "Verify",
        text: "Every usage record's hash is checked against its predecessor. This reads the whole chain.",
        reason: "none",
        run: () => post("/v1/audit/verify", {}),
        describe: (report) => report.ok
            ? `The audit chain is intact: ${report.records} records up to #${report.headSequence}.`
            : `The audit chain is broken: ${report.problems.map((p) => `#${p.sequence} ${p.kind}`).join(", ")}.`,
    });
}

function main() {
    $("#find-by-id").addEventListener("submit", findById);
    $("#find-by-card").addEventListener("submit", findByCard);
    $("#certificates").addEventListener("click", (event) => {
        const button = event.target.closest("button.revoke");
        if (button) revoke(button.dataset.serial);
    });
    $("#cancel-identity").addEventListener("click", () => changeStatus("cancelled"));
    $("#invalidate-identity").addEventListener("click", () => changeStatus("invalid"));
    $("#reload-account").addEventListener("click", () => account && loadAccount(account.id));
    $("#audit-verify").addEventListener("click", verifyAudit);
    $("#confirm-form").addEventListener("submit", confirmed);
    $("#confirm-back").addEventListener("click", () => $("#confirm").close());
    events(["card-inserted", "card-removed", "reader-added", "reader-removed"], () => refreshReaders());
    refreshReaders();
    $("#find-id").focus();
}

main();
