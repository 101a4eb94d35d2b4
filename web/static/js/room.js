// The room page: pre-join (preview, level meter, device pickers, name, password) and then the call.
import "./catalog.js";
import { connectClient } from "./socket.js";
import { Call } from "./call.js";
import { acquire, canShareScreen, fillPicker, getCamera, getMic, insecureProblem, LevelMeter } from "./devices.js";
import { noiseSuppressionWanted, rememberNoiseSuppression } from "./noise.js";
import { backgroundWanted, processBackground, rememberBackground } from "./background.js";
import { serverText, t } from "./i18n.js";
import { joinErrorText, roomStatusText } from "./joining.js";
import { hueClass, initials } from "./text.js";
import { setIcon, show } from "./ui.js";

const $ = (id) => document.getElementById(id);
const room = $("app").dataset.room;
const params = new URLSearchParams(location.search);

const media = {
  stream: null,
  micTrack: null,
  camTrack: null,
  audioOn: localStorage.getItem("noom.audioOn") !== "false",
  videoOn: localStorage.getItem("noom.videoOn") !== "false",
  cameraId: localStorage.getItem("noom.videoinput") || "",
  micId: localStorage.getItem("noom.audioinput") || "",
  speakerId: localStorage.getItem("noom.audiooutput") || "",
  noiseSuppression: noiseSuppressionWanted(), // applied to what the call sends (local-media.js)
  background: backgroundWanted(), // likewise; the preview shows it too
};
let backdrop = null; // the preview's background effect (background.js) while one is chosen
let backdropChain = Promise.resolve();
let meter = null;
let meterFrame = 0;
let roomLocked = false;
let roomExists = false;
let call = null;
let waiting = null; // {payload, name, password} while the host has us in the waiting room
let lastJoin = null; // {name, password} of the call we were in, for Rejoin

const client = connectClient();

// Controls this browser cannot do here are not offered (screen sharing on phones and on insecure pages).
show($("btn-share"), canShareScreen());

// ---- who is in the room (the `rooms` list, pushed while we are not in a call) -----------------------

function showRoomStatus(rooms) {
  const info = rooms.find((r) => r.room === room);
  roomExists = !!info;
  roomLocked = !!info?.locked;
  $("room-status").textContent = roomStatusText(info);
  show($("password-block"), roomLocked || !$("password-block").hidden);
  show($("lock-block"), !roomExists);
}

/** Ask for the room list (the answer is for the status line; the pushes that follow keep it current). */
async function askRooms() {
  const ack = await client.request("rooms", {});
  if (ack.ok && !call) showRoomStatus(ack.rooms);
}

client.on("rooms", ({ rooms }) => !call && showRoomStatus(rooms));
client.on("connect", () => {
  if (!call) askRooms();
});

// ---- preview ----------------------------------------------------------------------------------------

/** Run the chosen background effect on the preview's camera (or stop it), then show the result. Serialised
 * like local-media.js's, so a quick change never leaves two running. */
function refreshBackdrop() {
  backdropChain = backdropChain
    .then(async () => {
      if (call) return; // the call has taken the preview's effect over
      const cam = media.videoOn ? media.camTrack : null;
      const want = media.background !== "off" && cam?.readyState === "live";
      if (backdrop && (!want || backdrop.raw !== cam)) {
        backdrop.stop();
        backdrop = null;
      }
      if (backdrop) backdrop.setEffect(media.background);
      else if (want) {
        const result = await processBackground(cam, media.background);
        if (result.applied && !call && cam === media.camTrack && media.background !== "off") backdrop = result;
        else result.stop();
      }
      refreshPreview();
    })
    .catch((error) => console.warn("noom: background effect", error));
  return backdropChain;
}

function refreshPreview() {
  const video = $("preview-video");
  const camOn = media.videoOn && media.camTrack;
  // The preview shows what the call will send: with the background effect when one runs.
  const shown = backdrop?.raw === media.camTrack ? backdrop.track : media.camTrack;
  if (video.srcObject?.getVideoTracks()[0] !== (camOn ? shown : undefined)) video.srcObject = camOn ? new MediaStream([shown]) : null;
  show($("preview-off"), !camOn);
  const avatar = $("preview-avatar");
  const name = $("join-name").value.trim() || "?";
  avatar.textContent = initials(name);
  avatar.className = `avatar big ${hueClass(name)}`;
  const mic = $("pre-mic");
  const micOn = media.audioOn && !!media.micTrack;
  mic.setAttribute("aria-pressed", String(micOn));
  mic.setAttribute("aria-label", micOn ? t("prejoin.mic_turn_off") : t("prejoin.mic_turn_on"));
  mic.classList.toggle("off", !micOn);
  setIcon(mic, micOn ? "mic" : "mic-off");
  mic.disabled = !media.micTrack;
  const cam = $("pre-cam");
  cam.setAttribute("aria-pressed", String(!!camOn));
  cam.setAttribute("aria-label", camOn ? t("prejoin.cam_turn_off") : t("prejoin.cam_turn_on"));
  cam.classList.toggle("off", !camOn);
  setIcon(cam, camOn ? "video" : "video-off");
}

function runMeter() {
  cancelAnimationFrame(meterFrame);
  const fill = $("meter-fill");
  const bar = fill.parentElement;
  let last = -1;
  const tick = () => {
    const level = meter && media.audioOn ? meter.level() : 0;
    const pct = Math.round(level * 100);
    if (pct !== last) {
      fill.style.setProperty("--level", String(level)); // CSSOM, allowed by the CSP
      bar.setAttribute("aria-valuenow", String(pct));
      last = pct;
    }
    meterFrame = requestAnimationFrame(tick);
  };
  tick();
}

function setMic(track) {
  meter?.stop();
  media.micTrack = track;
  meter = track ? new LevelMeter(track) : null;
}

async function startDevices() {
  const { stream, problem } = await acquire({ cameraId: media.cameraId, micId: media.micId });
  media.camTrack = stream?.getVideoTracks()[0] || null;
  setMic(stream?.getAudioTracks()[0] || null);
  const note = $("device-note");
  note.textContent = problem ? problem.message : "";
  note.classList.toggle("warn", !!problem);
  show(note, !!problem);
  if (media.camTrack && !media.videoOn) {
    media.camTrack.stop(); // camera chosen off before joining: keep its light off
    media.camTrack = null;
  }
  await Promise.all([
    fillPicker($("pick-camera"), "videoinput", media.camTrack?.getSettings().deviceId || media.cameraId),
    fillPicker($("pick-mic"), "audioinput", media.micTrack?.getSettings().deviceId || media.micId),
    fillPicker($("pick-speaker"), "audiooutput", media.speakerId),
  ]);
  refreshPreview();
  refreshBackdrop();
  runMeter();
}

$("pre-mic").addEventListener("click", () => {
  media.audioOn = !media.audioOn;
  localStorage.setItem("noom.audioOn", String(media.audioOn));
  refreshPreview();
});

$("pre-cam").addEventListener("click", async () => {
  if (media.videoOn && media.camTrack) {
    media.camTrack.stop();
    media.camTrack = null;
    media.videoOn = false;
  } else {
    try {
      media.camTrack = await getCamera(media.cameraId);
      media.videoOn = true;
    } catch {
      $("device-note").textContent =
        insecureProblem()?.message || t("prejoin.camera_failed");
      show($("device-note"), true);
    }
  }
  localStorage.setItem("noom.videoOn", String(media.videoOn));
  refreshPreview();
  refreshBackdrop();
});

$("pick-camera").addEventListener("change", async (event) => {
  media.cameraId = event.target.value;
  localStorage.setItem("noom.videoinput", media.cameraId);
  if (!media.videoOn) return;
  media.camTrack?.stop();
  media.camTrack = await getCamera(media.cameraId).catch(() => null);
  refreshPreview();
  refreshBackdrop();
});
$("pick-mic").addEventListener("change", async (event) => {
  media.micId = event.target.value;
  localStorage.setItem("noom.audioinput", media.micId);
  media.micTrack?.stop();
  setMic(await getMic(media.micId).catch(() => null));
  refreshPreview();
});
$("pre-noise").checked = media.noiseSuppression;
$("pre-noise").addEventListener("change", (event) => {
  media.noiseSuppression = event.target.checked;
  rememberNoiseSuppression(media.noiseSuppression);
});
$("pick-background").value = media.background;
$("pick-background").addEventListener("change", (event) => {
  media.background = event.target.value;
  rememberBackground(media.background);
  refreshBackdrop();
});
$("pick-speaker").addEventListener("change", (event) => {
  media.speakerId = event.target.value;
  localStorage.setItem("noom.audiooutput", media.speakerId);
});

// ---- joining ----------------------------------------------------------------------------------------

const nameInput = $("join-name");
nameInput.value = (params.get("name") || localStorage.getItem("noom.name") || "").slice(0, 40);
nameInput.addEventListener("input", refreshPreview);

function showError(text) {
  const box = $("join-error");
  box.textContent = text;
  show(box, !!text);
}

$("join-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (waiting) return;
  const name = nameInput.value.trim();
  if (!name) {
    showError(t("prejoin.name_needed"));
    nameInput.focus();
    return;
  }
  localStorage.setItem("noom.name", name);
  const password = roomLocked || !$("password-block").hidden ? $("join-password").value : roomExists ? "" : $("new-password").value;
  const payload = { room, name };
  if (password) payload.password = password;
  await tryJoin(payload, name, password);
});

/** Send ``join`` and act on the answer: enter the call, wait for the host, or say why not. */
async function tryJoin(payload, name, password) {
  const button = $("join-button");
  button.disabled = true;
  showError("");
  await devicesReady;
  const ack = await client.join(payload);
  button.disabled = false;
  if (ack.ok) {
    showWaiting(null);
    enterCall(ack, name, password);
    return;
  }
  const code = ack.error.code;
  if (code === "waiting") {
    showWaiting({ payload, name, password });
    return;
  }
  showWaiting(null);
  if (code === "wrong-password") {
    show($("password-block"), true);
    show($("lock-block"), false);
    showError($("join-password").value ? joinErrorText(ack.error) : t("prejoin.password_needed"));
    $("join-password").focus();
  } else {
    showError(joinErrorText(ack.error));
  }
}

// ---- the waiting room: the host admits (a ticket to join with) or declines ---------------------------

function showWaiting(state) {
  waiting = state;
  show($("waiting-block"), !!state);
  show($("join-button"), !state);
  for (const id of ["join-name", "join-password", "new-password"]) $(id).disabled = !!state;
  if (state) $("waiting-cancel").focus();
}

client.on("admitted", ({ ticket } = {}) => {
  if (!waiting || call) return;
  const { payload, name, password } = waiting;
  tryJoin({ ...payload, ticket }, name, password);
});

client.on("declined", ({ message } = {}) => {
  if (!waiting || call) return;
  showWaiting(null);
  showError(serverText({ message }, "prejoin.declined"));
});

// The server forgets a waiting socket that loses its connection: get back in the queue when it returns.
client.on("connect", () => {
  if (waiting && !call) tryJoin(waiting.payload, waiting.name, waiting.password);
});

$("waiting-cancel").addEventListener("click", () => {
  if (!waiting) return;
  showWaiting(null);
  client.leave();
  $("join-button").focus();
});

function enterCall(ack, name, password) {
  lastJoin = { name, password };
  cancelAnimationFrame(meterFrame);
  meter?.stop();
  meter = null;
  if (media.micTrack) media.micTrack.enabled = media.audioOn;
  $("preview-video").srcObject = null;
  const running = backdrop; // the call takes the preview's effect over (local-media.js)
  backdrop = null;
  show($("prejoin"), false);
  show($("call"), true);
  document.body.classList.add("in-call");
  document.title = `${room} · Noom`;
  call = new Call({
    client,
    room,
    name,
    password,
    media: { ...media, backdrop: running },
    onEnd: (reason, title) => {
      call = null;
      show($("call"), false);
      document.body.classList.remove("in-call");
      document.title = `${room} · Noom`;
      $("left-title").textContent = title || t("left.title");
      $("left-reason").textContent = reason;
      show($("left"), true);
      askRooms();
    },
  });
  call.start(ack);
}

// Rejoin goes back through the pre-join page with the same name and password, so whatever the server
// answers (let in, waiting room, or a refusal such as "removed a moment ago") shows as for a first join.
// A removed or ended call closed the socket, which socket.io-client never reopens by itself.
$("rejoin").addEventListener("click", async () => {
  show($("left"), false);
  show($("prejoin"), true);
  media.noiseSuppression = $("pre-noise").checked = noiseSuppressionWanted(); // the call's switch may have moved it
  media.background = $("pick-background").value = backgroundWanted(); // and the call's background picker
  if (!client.socket.connected) client.socket.connect(); // the join below is sent once it is connected
  devicesReady = startDevices().catch((error) => console.warn("noom: device set-up failed", error));
  const { name, password } = lastJoin || { name: nameInput.value.trim(), password: "" };
  const payload = { room, name };
  if (password) payload.password = password;
  await tryJoin(payload, name, password);
});

// Joining waits for this, so a quick click cannot start the call before the camera and mic are ready.
let devicesReady = startDevices().catch((error) => console.warn("noom: device set-up failed", error));
