// Noise suppression for the microphone before it is sent: RNNoise (compiled to WebAssembly, shipped by the npm
// package @sapphi-red/web-noise-suppressor and served from /vendor like every other third-party file) runs in
// an AudioWorklet, off the page's main thread:
//   microphone track -> MediaStreamSource -> RNNoise worklet node -> MediaStreamDestination -> processed track.
// Anything missing (no AudioWorklet, WebAssembly refused, a file that does not load) leaves the raw track in
// place with a console warning: noise suppression is a nicety, the call must never lose its voice over it.

// Every file named here is vendored by scripts/vendor_assets.py (it scans for these /vendor/ URLs).
const LIBRARY_URL = "/vendor/noise-suppressor/index.js";
const WORKLET_URL = "/vendor/rnnoise/workletProcessor.js";
const WASM_URL = "/vendor/noise-suppressor/rnnoise.wasm";
const WASM_SIMD_URL = "/vendor/noise-suppressor/rnnoise_simd.wasm";
// RNNoise works on 10 ms frames of 48 kHz audio; a context at that rate resamples whatever the mic gives.
const SAMPLE_RATE = 48000;

const STORAGE_KEY = "noom.noiseSuppression";

/** Whether the person wants noise suppression (remembered per browser; on unless turned off, like Jitsi). */
export function noiseSuppressionWanted() {
  try {
    return localStorage.getItem(STORAGE_KEY) !== "off";
  } catch {
    return true; // storage refused (private mode): the default
  }
}

export function rememberNoiseSuppression(on) {
  try {
    localStorage.setItem(STORAGE_KEY, on ? "on" : "off");
  } catch {
    // Not remembered, still applied for this page.
  }
}

/**
 * The noise-suppressed version of microphone track `raw`.
 * Resolves to {track, raw, suppressed, reason, stop}: `track` is what to send (the processed track, or `raw`
 * itself when suppression could not start, then `suppressed` is false and `reason` says why); stop() ends
 * the processing (and the processed track) but leaves `raw` running, which stays the caller's to stop.
 */
export async function suppressNoise(raw) {
  let context = null;
  const unprocessed = (reason) => {
    console.warn(`noise suppression is off: ${reason}`);
    context?.close().catch(() => {});
    return { track: raw, raw, suppressed: false, reason, stop() {} };
  };
  if (typeof AudioWorkletNode === "undefined" || typeof WebAssembly === "undefined")
    return unprocessed("this browser has no AudioWorklet or WebAssembly");
  try {
    context = new AudioContext({ sampleRate: SAMPLE_RATE });
    const { RnnoiseWorkletNode, loadRnnoise } = await import(LIBRARY_URL);
    // The SIMD build where the browser validates SIMD (all current ones), the plain one elsewhere.
    const wasmBinary = await loadRnnoise({ url: WASM_URL, simdUrl: WASM_SIMD_URL });
    // The worklet compiles the module asynchronously and, should that fail, just outputs silence without a
    // word to this page; compiling here first turns a refusal (a CSP without 'wasm-unsafe-eval', a bad file)
    // into an error we can act on. The worklet shares this document's CSP.
    await WebAssembly.compile(wasmBinary);
    await context.audioWorklet.addModule(WORKLET_URL);
    const source = context.createMediaStreamSource(new MediaStream([raw]));
    const rnnoise = new RnnoiseWorkletNode(context, { wasmBinary, maxChannels: 1 });
    // One channel in: a microphone's source node may be stereo (the same voice twice), and the processor
    // would denoise only the first and leave the second silent, halving the level once mixed down.
    rnnoise.channelCount = 1;
    rnnoise.channelCountMode = "explicit";
    const destination = context.createMediaStreamDestination();
    destination.channelCount = 1; // a microphone is mono; do not send an up-mixed stereo copy
    source.connect(rnnoise).connect(destination);
    resumeWhenAllowed(context);
    const [track] = destination.stream.getAudioTracks();
    track.enabled = raw.enabled;
    return {
      track,
      raw,
      suppressed: true,
      reason: "",
      stop() {
        track.stop();
        source.disconnect();
        rnnoise.disconnect();
        rnnoise.destroy();
        context.close().catch(() => {});
      },
    };
  } catch (error) {
    return unprocessed(error?.message || String(error));
  }
}

/** An AudioContext made before the person touched the page starts suspended (autoplay policy), and a suspended
 * one sends silence; resume it now if allowed, else at the first click or key press. */
function resumeWhenAllowed(context) {
  if (context.state === "running") return;
  context.resume().catch(() => {});
  const resume = () => {
    if (context.state === "closed") return;
    context.resume().catch(() => {});
  };
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, resume, { once: true, capture: true });
}
