// Small DOM helpers shared by both apps: one screen visible at a time with focus moved to its heading (so a
// screen reader announces it and the keyboard starts there), polite announcements, and an element builder.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/// Shows the section `id` (a `.screen`), hides the others, focuses its heading.
export function showScreen(id) {
    for (const screen of $$(".screen")) screen.hidden = screen.id !== id;
    const screen = document.getElementById(id);
    const heading = screen && screen.querySelector("h1, h2");
    if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus({ preventScroll: false });
    }
    window.scrollTo(0, 0);
}

/// Says `text` through the polite live region.
export function announce(text) {
    const region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    setTimeout(() => { region.textContent = text; }, 30);
}

/// Builds an element: el("td", { className: "x" }, "text", child).
export function el(tag, properties = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(properties)) {
        if (name.startsWith("aria-") || name.startsWith("data-") || name === "role" || name === "for") {
            node.setAttribute(name, value);
        } else {
            node[name] = value;
        }
    }
    for (const child of children) {
        if (child === null || child === undefined) continue;
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
}
