// The camera through getUserMedia: a preview in a <video>, frames captured unmirrored (the daemon's liveness
// checks expect the camera's own view; only the preview is mirrored, by CSS, so people see themselves as in a
// mirror). Frames are JPEG, at most 1280x720, encoded in memory and handed over as base64; nothing is stored.

export class Camera {
    constructor(video) {
        this.video = video;
        this.stream = null;
        this.canvas = document.createElement("canvas");
    }

    async start() {
        if (this.stream) return;
        this.stream = await navigator.mediaDevices.getUserMedia({
            audio: false,
            video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
        });
        this.video.srcObject = this.stream;
        await this.video.play().catch(() => {});
        await new Promise((resolve) => {
            if (this.video.videoWidth > 0) resolve();
            else this.video.addEventListener("loadedmetadata", resolve, { once: true });
        });
    }

    stop() {
        if (this.stream) for (const track of this.stream.getTracks()) track.stop();
        this.stream = null;
        this.video.srcObject = null;
    }

    /// One frame as base64 JPEG.
    async capture(quality = 0.9) {
        const width = Math.min(this.video.videoWidth, 1280);
        const height = Math.round(this.video.videoHeight * (width / this.video.videoWidth));
        this.canvas.width = width;
        this.canvas.height = height;
        this.canvas.getContext("2d").drawImage(this.video, 0, 0, width, height);
        const blob = await new Promise((resolve) => this.canvas.toBlob(resolve, "image/jpeg", quality));
        const bytes = new Uint8Array(await blob.arrayBuffer());
        let binary = "";
        for (let index = 0; index < bytes.length; index += 0x8000) {
            binary += String.fromCharCode(...bytes.subarray(index, index + 0x8000));
        }
        return btoa(binary);
    }
}
