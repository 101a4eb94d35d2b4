// Background effects for the camera before it is sent: blur the room behind the person, or replace it with a
// plain colour. A person-segmentation model finds the person in each frame and the page composites:
//   camera frames -> segmentation mask (MediaPipe, WebAssembly) -> canvas: person over the blurred (or
//   plain) background -> processed track, sent instead of the camera.
// The frames come from MediaStreamTrackProcessor and go out through MediaStreamTrackGenerator where the
// browser has them (Chromium); elsewhere (Firefox) from a <video> with requestVideoFrameCallback and out
// through canvas.captureStream().
//
// Why MediaPipe Tasks (@mediapipe/tasks-vision) on its CPU delegate, with the selfie-segmentation model that
// @mediapipe/selfie_segmentation ships: the older @mediapipe/selfie_segmentation "solution" runs its graph on
// WebGL only, which a machine without a GPU (headless Chromium here, many office laptops' blocklisted
// drivers) may not offer; the Tasks runtime runs the model on the CPU (XNNPACK, WebAssembly SIMD) in Chromium
// and Firefox alike, and accepts that .tflite file. The landscape variant (256x144 input) suits a 16:9 camera
// and is the cheaper one. (Both need WebGL for the image input, which every desktop browser has; the tests run
// Firefox under Xvfb for it.) Compositing is plain 2D canvas, measured on a machine without a GPU: the camera
// frame is drawn once into a canvas (each draw of the <video> converts the frame again); the blur is a
// blurred quarter-size copy scaled back up; the low-resolution mask's own bilinear scaling softens its edge.
// A full-size canvas filter costs more than the model.
//
// Anything missing (no WebAssembly SIMD, a file that does not load, a model error) leaves the raw camera in
// place with a console warning: the effect is a nicety, the call must never lose its picture over it.

// Every file named here is vendored by scripts/vendor_assets.py (it scans for these /vendor/ URLs). Only the
// SIMD build of the runtime is shipped: every browser that can hold a call here validates WebAssembly SIMD,
// and one that does not gets the raw camera (see above).
const VISION_URL = "/vendor/tasks-vision/vision_bundle.mjs";
const WASM_LOADER_URL = "/vendor/tasks-vision-wasm/vision_wasm_internal.js";
const WASM_BINARY_URL = "/vendor/tasks-vision-wasm/vision_wasm_internal.wasm";
const MODEL_URL = "/vendor/selfie-segmentation/selfie_segmentation_landscape.tflite";

const STORAGE_KEY = "noom.background";
export const EFFECTS = ["off", "blur", "color"];
const PLAIN_COLOR = "#33475b"; // a muted slate: reads as "a wall", keeps faces of every skin tone clear
const MASK_WIDTH = 256; // the model's input size (landscape variant); the mask comes back at this size
const MASK_HEIGHT = 144;
const BLUR_SCALE = 4; // the background is blurred at a quarter of the frame's size, then scaled up
const BLUR_PX = 4; // at that size: about 16 px of blur on the full frame
// The model runs on every other frame and the mask is reused in between: it costs more than the rest of the
// frame together, and a person moves little in 33 ms. On a busy machine it runs less often (up to every
// SEGMENT_EVERY_MAX-th frame), keeping its average cost per frame under MODEL_BUDGET_MS (a third of a
// 30 fps frame interval), so the camera's frame rate holds and the mask lags a little instead.
const SEGMENT_EVERY = 2;
const SEGMENT_EVERY_MAX = 5;
const MODEL_BUDGET_MS = 11;

/** The effect the person chose (remembered per browser; off unless chosen: it costs CPU on every frame). */
export function backgroundWanted() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    return EFFECTS.includes(stored) ? stored : "off";
  } catch {
    return "off"; // storage refused (private mode): the default
  }
}

export function rememberBackground(effect) {
  try {
    localStorage.setItem(STORAGE_KEY, effect);
  } catch {
    // Not remembered, still applied for this page.
  }
}

/**
 * One segmenter per page, made on first use: loading the runtime (13 MB of WebAssembly) and the model takes a
 * second or more, and the pre-join preview and the call use it one after the other. A failure is not kept, so
 * a later try may succeed.
 */
class Segmenters {
  constructor() {
    this.pending = null;
  }

  get() {
    this.pending ||= this.load().catch((error) => {
      this.pending = null;
      throw error;
    });
    return this.pending;
  }

  async load() {
    if (typeof WebAssembly === "undefined") throw new Error("this browser has no WebAssembly");
    const { FilesetResolver, ImageSegmenter } = await import(VISION_URL);
    if (!(await FilesetResolver.isSimdSupported())) throw new Error("this browser has no WebAssembly SIMD");
    return ImageSegmenter.createFromOptions(
      { wasmLoaderPath: WASM_LOADER_URL, wasmBinaryPath: WASM_BINARY_URL },
      {
        baseOptions: { modelAssetPath: MODEL_URL, delegate: "CPU" },
        runningMode: "VIDEO",
        outputConfidenceMasks: true,
        outputCategoryMask: false,
      },
    );
  }
}

const segmenters = new Segmenters();

/**
 * Camera track `raw` with background effect `effect` ("blur" or "color").
 * Resolves to {track, raw, applied, reason, effect, setEffect(effect), stats(), stop()}: `track` is what to
 * send (the processed track, or `raw` itself when the effect could not start, then `applied` is false and
 * `reason` says why); setEffect switches between blur and colour without a new track; stats() gives the
 * frames drawn and the milliseconds they took ({frames, ms}), and of those the model's runs ({segments,
 * segmentMs}); stop() ends the processing (and the processed track) but leaves
 * `raw` running, which stays the caller's to stop.
 */
export async function processBackground(raw, effect) {
  const unprocessed = (reason) => {
    console.warn(`background effect is off: ${reason}`);
    const stats = () => ({ frames: 0, ms: 0, segments: 0, segmentMs: 0 });
    return { track: raw, raw, applied: false, reason, effect: "off", setEffect() {}, stats, stop() {} };
  };
  if (typeof HTMLCanvasElement === "undefined" || !HTMLCanvasElement.prototype.captureStream)
    return unprocessed("this browser cannot make a video track from a canvas");
  let segmenter;
  try {
    segmenter = await segmenters.get();
  } catch (error) {
    return unprocessed(error?.message || String(error));
  }
  if (raw.readyState !== "live") return unprocessed("the camera stopped meanwhile");
  const compositor = new Compositor(raw, segmenter, effect);
  try {
    await compositor.start();
  } catch (error) {
    compositor.stop();
    return unprocessed(error?.message || String(error));
  }
  return {
    track: compositor.track,
    raw,
    applied: true,
    reason: "",
    get effect() {
      return compositor.effect;
    },
    setEffect(next) {
      compositor.effect = next;
    },
    stats: () => ({
      frames: compositor.frames,
      ms: compositor.busyMs,
      segments: compositor.segments,
      segmentMs: compositor.segmentMs,
    }),
    stop: () => compositor.stop(),
  };
}

/** The per-frame loop: draws each new camera frame, with its background replaced, into the output canvas. */
class Compositor {
  constructor(raw, segmenter, effect) {
    this.raw = raw;
    this.segmenter = segmenter;
    this.effect = effect;
    this.frames = 0;
    this.busyMs = 0;
    this.segments = 0; // model runs, and their share of busyMs
    this.segmentMs = 0;
    this.stopped = false;
    this.timer = 0;
    this.lastTime = -1;
    this.lastStamp = 0;
    this.sinceSegment = SEGMENT_EVERY;
    this.segmentEvery = SEGMENT_EVERY;
    this.modelMs = 0; // a moving average of one model run
    this.video = document.createElement("video");
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.srcObject = new MediaStream([raw]);
    this.output = document.createElement("canvas");
    this.out = this.output.getContext("2d");
    this.frame = canvas(1, 1);
    // The model's input: the frame scaled down to its size (the runtime would scale it anyway, after copying
    // the whole frame).
    this.small = canvas(MASK_WIDTH, MASK_HEIGHT);
    this.mask = canvas(MASK_WIDTH, MASK_HEIGHT);
    this.maskPixels = this.mask.ctx.createImageData(MASK_WIDTH, MASK_HEIGHT);
    this.blurred = canvas(1, 1);
    this.onEnded = () => this.stop();
    raw.addEventListener("ended", this.onEnded);
  }

  async start() {
    if (typeof MediaStreamTrackProcessor !== "undefined" && typeof MediaStreamTrackGenerator !== "undefined") {
      this.startStreams();
      return;
    }
    await this.video.play();
    this.resize(this.video.videoWidth, this.video.videoHeight);
    // The canvas track gets a frame each time the canvas is drawn: at the camera's own rate.
    [this.track] = this.output.captureStream().getVideoTracks();
    this.track.contentHint = "motion";
    this.draw(this.video); // the first frame now, so the track never starts black
    this.schedule();
  }

  /**
   * Chromium: every camera frame as a VideoFrame (MediaStreamTrackProcessor), each processed frame into a
   * track of our own (MediaStreamTrackGenerator). Unlike a <video> element and its frame callbacks, this
   * does not depend on the page's rendering, which on a busy machine without a GPU skips frames.
   */
  startStreams() {
    this.video.srcObject = null;
    const processor = new MediaStreamTrackProcessor({ track: this.raw });
    const generator = new MediaStreamTrackGenerator({ kind: "video" });
    generator.contentHint = "motion";
    // A generated track reports no frame size, unlike a camera or a canvas track; the sizing of what is sent
    // (sizing.js) reads it from the sender's track, so report the size of the frames it carries.
    const settings = generator.getSettings.bind(generator);
    generator.getSettings = () => ({ ...settings(), width: this.output.width, height: this.output.height });
    this.track = generator;
    this.reader = processor.readable.getReader();
    const writer = generator.writable.getWriter();
    const pump = async () => {
      while (!this.stopped) {
        const { value: frame, done } = await this.reader.read();
        if (done) break;
        if (generator.readyState === "ended") {
          frame.close();
          break; // whoever held the processed track stopped it
        }
        let processed = null;
        try {
          this.resize(frame.displayWidth, frame.displayHeight);
          this.draw(frame);
          processed = new VideoFrame(this.output, { timestamp: frame.timestamp });
        } catch (error) {
          console.warn("noom: background effect frame", error);
        } finally {
          frame.close();
        }
        if (processed) await writer.write(processed); // the generator takes the frame over
      }
      this.stop();
    };
    pump().catch((error) => {
      console.warn("noom: background effect stopped", error);
      this.stop();
    });
  }

  resize(videoWidth, videoHeight) {
    const width = videoWidth || 640;
    const height = videoHeight || 360;
    if (this.output.width === width && this.output.height === height) return;
    this.output.width = this.frame.node.width = width;
    this.output.height = this.frame.node.height = height;
    this.blurred.node.width = Math.max(1, Math.round(width / BLUR_SCALE));
    this.blurred.node.height = Math.max(1, Math.round(height / BLUR_SCALE));
  }

  /** Wake for every new camera frame: requestVideoFrameCallback where the browser has it (Chromium, Firefox
   * 132+), else a timer at the camera's frame rate that skips frames already drawn. */
  schedule() {
    if (this.stopped) return;
    if (this.video.requestVideoFrameCallback) {
      this.video.requestVideoFrameCallback(() => this.tick());
    } else {
      const fps = this.raw.getSettings().frameRate || 30;
      this.timer = setTimeout(() => this.tick(), 1000 / fps);
    }
  }

  tick() {
    if (this.stopped) return;
    if (this.track.readyState === "ended") {
      this.stop(); // whoever held the processed track stopped it
      return;
    }
    if (this.video.currentTime !== this.lastTime) {
      this.lastTime = this.video.currentTime;
      try {
        this.resize(this.video.videoWidth, this.video.videoHeight);
        this.draw(this.video);
      } catch (error) {
        console.warn("noom: background effect frame", error);
      }
    }
    this.schedule();
  }

  /** Draw camera frame `source` (a <video> or a VideoFrame) with its background replaced. */
  draw(source) {
    const started = performance.now();
    const { width, height } = this.output;
    const out = this.out;
    const frame = this.frame.node;
    this.frame.ctx.drawImage(source, 0, 0, width, height);
    if (++this.sinceSegment >= this.segmentEvery) {
      this.sinceSegment = 0;
      this.segment(frame);
    }
    // Person: the mask scaled up (smoothed, so its edge is soft), then the frame kept only where the mask is.
    out.globalCompositeOperation = "copy";
    out.drawImage(this.mask.node, 0, 0, width, height);
    out.globalCompositeOperation = "source-in";
    out.drawImage(frame, 0, 0);
    // Background: under the person.
    out.globalCompositeOperation = "destination-over";
    if (this.effect === "color") {
      out.fillStyle = PLAIN_COLOR;
      out.fillRect(0, 0, width, height);
    } else {
      const small = this.blurred;
      small.ctx.filter = `blur(${BLUR_PX}px)`;
      small.ctx.drawImage(frame, 0, 0, small.node.width, small.node.height);
      small.ctx.filter = "none";
      out.drawImage(small.node, 0, 0, width, height);
    }
    out.globalCompositeOperation = "source-over";
    this.frames += 1;
    this.busyMs += performance.now() - started;
  }

  /** Run the model on `frame` and keep its person mask, as the alpha of the mask canvas. */
  segment(frame) {
    const started = performance.now();
    this.small.ctx.drawImage(frame, 0, 0, MASK_WIDTH, MASK_HEIGHT);
    // The runtime wants strictly increasing timestamps (ms).
    const stamp = Math.max(performance.now(), this.lastStamp + 1);
    this.lastStamp = stamp;
    const result = this.segmenter.segmentForVideo(this.small.node, stamp);
    try {
      const confidence = result.confidenceMasks?.[0];
      if (!confidence) return;
      const values = confidence.getAsFloat32Array();
      const pixels = this.maskPixels.data;
      // Confidence to opacity through a steep ramp: fully the person from 0.7, fully background below 0.3,
      // so the face is never partly see-through and the edge stays a few pixels wide.
      for (let i = 0, j = 3; i < values.length; i++, j += 4) pixels[j] = (values[i] - 0.3) * 637.5;
      this.mask.ctx.putImageData(this.maskPixels, 0, 0);
    } finally {
      result.close?.();
      const took = performance.now() - started;
      this.segments += 1;
      this.segmentMs += took;
      this.modelMs = this.modelMs ? 0.9 * this.modelMs + 0.1 * took : took;
      const every = Math.ceil(this.modelMs / MODEL_BUDGET_MS);
      this.segmentEvery = Math.min(SEGMENT_EVERY_MAX, Math.max(SEGMENT_EVERY, every));
    }
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.raw.removeEventListener("ended", this.onEnded);
    this.reader?.cancel().catch(() => {});
    this.track?.stop();
    this.video.srcObject = null;
  }
}

function canvas(width, height) {
  const node = document.createElement("canvas");
  node.width = width;
  node.height = height;
  return { node, ctx: node.getContext("2d") };
}
