// Liveness through the daemon, where it offers it: a fresh challenge (a nonce and 2-3 prompts), the prompts shown
// one after another while the camera records a burst (about 3 frames a second, unmirrored, with capture times),
// then the burst for the daemon to decide. Resolves when the daemon accepted the burst, "unavailable" when this
// daemon has no liveness step (the caller falls back to one photo), and rejects with the daemon's problem.
import { ApiProblem, post } from "/common/api.js";
import { t } from "/kiosk/i18n.js";

// About 3 frames a second over 1 s + 2.5 s per prompt: 8 to 30 frames for 2 or 3 prompts, as the daemon takes.
const framesPerSecond = 3;
const secondsPerPrompt = 2.5;
const maximumFrames = 30;

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
        while (performance.now() < end && frames.length < maximumFrames) {
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
    // The daemon names the challenge by `nonceHex` (LivenessChallengeResponse, LivenessBurstBody).
    visit.session = await post(`/v1/enrollments/${visit.session.id}/liveness`,
                               { nonceHex: challenge.nonceHex, frames });
    return "live";
}
