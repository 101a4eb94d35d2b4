// Cameras, microphones and speakers: acquiring them with plain-words errors, listing them, metering the mic.
import { t } from "./i18n.js";

/** Why we ended up without some device, in words a person can act on. */
export class DeviceProblem {
  constructor(kind, message) {
    this.kind = kind; // "insecure" | "denied" | "no-camera" | "no-mic" | "no-devices" | "busy" | "other"
    this.message = message;
  }
}

const MESSAGES = {
  // Browsers give camera, microphone and screen sharing only to secure pages: https, or http on localhost.
  insecure: () => t("device.insecure"),
  denied: () => t("device.denied"),
  "no-camera": () => t("device.no_camera"),
  "no-mic": () => t("device.no_mic"),
  "no-devices": () => t("device.no_devices"),
  busy: () => t("device.busy"),
};

function problem(kind) {
  return new DeviceProblem(kind, MESSAGES[kind]());
}

/**
 * The browser gives this page no camera or microphone at all because it is not a secure context (plain http
 * on an address other than localhost). A browser too old to say (no isSecureContext) counts as insecure when
 * it has no navigator.mediaDevices either.
 */
export function insecureProblem() {
  const insecure = window.isSecureContext === false || (window.isSecureContext === undefined && !navigator.mediaDevices);
  return insecure ? problem("insecure") : null;
}

/** Whether this browser can share a screen here (phones and insecure pages cannot). */
export function canShareScreen() {
  return typeof navigator.mediaDevices?.getDisplayMedia === "function";
}

async function tryGet(constraints) {
  try {
    return { stream: await navigator.mediaDevices.getUserMedia(constraints) };
  } catch (error) {
    return { error };
  }
}

/**
 * Get what the machine has: camera and mic if possible, else whichever exists.
 * Returns {stream (may be null), problem (DeviceProblem or null)}.
 */
export async function acquire({ cameraId, micId } = {}) {
  const insecure = insecureProblem();
  if (insecure) return { stream: null, problem: insecure };
  if (!navigator.mediaDevices?.getUserMedia) return { stream: null, problem: problem("no-devices") };
  const video = cameraId ? { deviceId: { exact: cameraId } } : { width: { ideal: 1280 }, height: { ideal: 720 } };
  const audio = micId ? { deviceId: { exact: micId }, echoCancellation: true, noiseSuppression: true } : true;
  const both = await tryGet({ audio, video });
  if (both.stream) return { stream: both.stream, problem: null };
  const name = both.error?.name;
  if (name === "NotAllowedError" || name === "SecurityError") return { stream: null, problem: problem("denied") };
  if (name === "NotReadableError" || name === "AbortError") {
    const onlyAudio = await tryGet({ audio });
    return onlyAudio.stream ? { stream: onlyAudio.stream, problem: problem("busy") } : { stream: null, problem: problem("busy") };
  }
  // NotFoundError / OverconstrainedError: one of the two is missing.
  const onlyAudio = await tryGet({ audio });
  if (onlyAudio.stream) return { stream: onlyAudio.stream, problem: problem("no-camera") };
  const onlyVideo = await tryGet({ video });
  if (onlyVideo.stream) return { stream: onlyVideo.stream, problem: problem("no-mic") };
  return { stream: null, problem: problem("no-devices") };
}

/** Camera alone, e.g. when switching cameras or turning the camera back on. */
export async function getCamera(cameraId) {
  const video = cameraId ? { deviceId: { exact: cameraId } } : { width: { ideal: 1280 }, height: { ideal: 720 } };
  const stream = await navigator.mediaDevices.getUserMedia({ video });
  return stream.getVideoTracks()[0];
}

export async function getMic(micId) {
  const audio = micId ? { deviceId: { exact: micId }, echoCancellation: true, noiseSuppression: true } : true;
  const stream = await navigator.mediaDevices.getUserMedia({ audio });
  return stream.getAudioTracks()[0];
}

// A device without a label (before the browser allows it): "Camera 1".
const DEVICE_NUMBERED = { videoinput: "devices.camera_n", audioinput: "devices.microphone_n", audiooutput: "devices.speaker_n" };

/** Fill a <select> with the devices of one kind, keeping `current` selected. */
export async function fillPicker(select, kind, current) {
  const devices = (await navigator.mediaDevices?.enumerateDevices?.()) || [];
  const mine = devices.filter((d) => d.kind === kind);
  select.replaceChildren();
  mine.forEach((device, index) => {
    const option = document.createElement("option");
    option.value = device.deviceId;
    option.textContent = device.label || t(DEVICE_NUMBERED[kind], { number: index + 1 });
    if (device.deviceId === current) option.selected = true;
    select.append(option);
  });
  if (!mine.length) {
    const option = document.createElement("option");
    option.textContent = kind === "audiooutput" ? t("devices.system_default") : t("devices.none_found");
    option.value = "";
    select.append(option);
  }
  select.disabled = mine.length < (kind === "audiooutput" ? 1 : 1);
  if (kind === "audiooutput" && !("setSinkId" in HTMLMediaElement.prototype)) {
    select.disabled = true;
    select.title = t("devices.no_speaker_choice");
  }
}

let audioContext = null;
function context() {
  audioContext ??= new AudioContext();
  if (audioContext.state === "suspended") audioContext.resume().catch(() => {});
  return audioContext;
}

/**
 * Measures a microphone track's level (0..1) from a clone that stays enabled, so speaking while muted
 * can still be noticed. Call stop() when done.
 */
export class LevelMeter {
  constructor(track) {
    this.track = track.clone();
    this.track.enabled = true;
    const ctx = context();
    this.source = ctx.createMediaStreamSource(new MediaStream([this.track]));
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 512;
    this.source.connect(this.analyser);
    this.buffer = new Float32Array(this.analyser.fftSize);
  }

  level() {
    this.analyser.getFloatTimeDomainData(this.buffer);
    let sum = 0;
    for (const v of this.buffer) sum += v * v;
    const rms = Math.sqrt(sum / this.buffer.length);
    // Speech sits around 0.02-0.2 RMS; scale so normal talking fills most of the meter.
    return Math.min(1, rms * 6);
  }

  stop() {
    this.source.disconnect();
    this.track.stop();
  }
}
