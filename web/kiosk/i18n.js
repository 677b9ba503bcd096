// The kiosk's words, one JSON file per language in strings/ (en is the reference; the browser tests fail when a
// file lacks a key or has one more). Elements name their text with data-i18n (text), data-i18n-label (aria-label)
// and data-i18n-placeholder; scripts call t(key, values) with {name} placeholders.

let table = {};
let fallback = {};
export let language = "en";

export async function load(code) {
    const fetchTable = async (name) => {
        const response = await fetch(`/kiosk/strings/${name}.json`, { cache: "no-store" });
        if (!response.ok) throw new Error(`strings ${name}: HTTP ${response.status}`);
        return response.json();
    };
    if (!fallback.app) fallback = await fetchTable("en");
    table = code === "en" ? fallback : await fetchTable(code);
    language = code;
    document.documentElement.lang = code;
    apply(document);
}

export function t(key, values = {}) {
    const text = table[key] ?? fallback[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/// Whether the table has words for `key` (problem codes the kiosk knows).
export function has(key) {
    return key in table || key in fallback;
}

export function apply(root) {
    for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of root.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
    for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
}
