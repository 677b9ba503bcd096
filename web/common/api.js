// The daemon's API as the apps reach it: through the gateway, under /api/v1 (same origin, the session cookie goes
// along by itself). A refusal (the daemon's or the gateway's application/problem+json) becomes an ApiProblem that
// carries the typed code; the apps decide on the code, and show the detail only when they have no words of their own.

export class ApiProblem extends Error {
    constructor(status, problem) {
        super(problem.detail || `HTTP ${status}`);
        this.status = status;
        this.code = problem.code || `http-${status}`;
        this.title = problem.title || "";
        this.detail = problem.detail || "";
        this.body = problem;
    }
}

/// Sends a request; resolves with the parsed JSON body (null for an empty one), rejects with an ApiProblem.
export async function call(method, path, body, headers = {}) {
    const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin",
                   cache: "no-store" };
    if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
    }
    let response;
    try {
        response = await fetch(`/api${path}`, init);
    } catch (error) {
        throw new ApiProblem(0, { code: "gateway-unreachable", detail: String(error) });
    }
    const text = await response.text();
    let parsed = null;
    if (text) {
        try { parsed = JSON.parse(text); } catch { parsed = { detail: text.slice(0, 200) }; }
    }
    if (!response.ok) throw new ApiProblem(response.status, parsed || {});
    return parsed;
}

export const get = (path, headers) => call("GET", path, undefined, headers);
export const post = (path, body, headers) => call("POST", path, body ?? {}, headers);

/// The gateway's settings for this app: idle timeout, reader, languages, and which optional steps the daemon offers.
export async function settings() {
    const response = await fetch("/config.json", { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new ApiProblem(response.status, await response.json().catch(() => ({})));
    return response.json();
}

/// Live events (`GET /v1/events` passed through): calls `handler(type, data)` for each; returns a closer.
export function events(types, handler) {
    const source = new EventSource("/api/v1/events");
    for (const type of types) {
        source.addEventListener(type, (message) => {
            let data = {};
            try { data = JSON.parse(message.data); } catch { /* a malformed event is ignored */ }
            handler(type, data);
        });
    }
    return () => source.close();
}
