// Liveness through the daemon, where it offers it: a fresh challenge (a nonce and 2-3 prompts), the prompts shown
// one after another while the camera records a burst (about 4 frames a second, unmirrored, with capture times),
// then the burst for the daemon to decide. Resolves when the daemon accepted the burst, "unavailable" when this
// daemon has no liveness step (the caller falls back to one photo), and rejects with the daemon's problem.
import { ApiProblem, post } from "/common/api.js";
import { t } from "/kiosk/i18n.js";

const framesPerSecond = 4;
const secondsPerPrompt = 2.5;

export async function runLiveness(visit, camera, show) {
    let challenge;
    try {
        challenge = await post(`/v1/enrollments/${visit.session.id}/liveness/challenge`, {});
    } catch (problem) {
        if (problem instanceof ApiProblem && problem.status === 404 && problem.code === "not-found") return "unavailable";
        if (problem instanceof ApiProblem && problem.code === "liveness-not-required") return "unavailable";
        throw problem;
    }
    const prompts = challenge.prompts ?? [];
    const frames = [];
    const record = async (seconds) => {
        const end = performance.now() + seconds * 1000;
        while (performance.now() < end) {
            frames.push({ image: await camera.capture(0.85), capturedAt: new Date().toISOString() });
            await new Promise((resolve) => setTimeout(resolve, 1000 / framesPerSecond));
        }
    };
    show.prompt(t("liveness.look"));
    await record(1);
    for (const prompt of prompts) {
        show.prompt(t(`liveness.${prompt}`));
        await record(secondsPerPrompt);
    }
    show.prompt("");
    show.status("camera.checking");
    visit.session = await post(`/v1/enrollments/${visit.session.id}/liveness`, { nonce: challenge.nonce, frames });
    return "live";
}
