// The camera and mic test (/echo): ask the server for an echo bot in a private room (the socket event
// "echo-start"; the test belongs to this socket and ends when it goes), join that room on the same socket,
// send the bot our camera and microphone, and show what comes back: the echoed video, our voice on request, the round trip's
// stats and the bot's report of what the server received (over the "echo-report" data channel).
import "./catalog.js";
import { serverText, t } from "./i18n.js";
import { PeerLink } from "./mesh.js";
import { echoProblems, roundTrip } from "./quality.js";
import { connectClient } from "./socket.js";

const $ = (id) => document.getElementById(id);
const startButton = $("start");
const stopButton = $("stop");
const playbackButton = $("playback");
const statusLine = $("status");
const verdict = $("verdict");
const problemList = $("problems");
const localVideo = $("local");
const echoedVideo = $("echoed");
const echoedAudio = $("echoed-audio");

let session = null; // { client, link, stream, timer, started }

function setStatus(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", isError);
}

function fillList(dl, entries) {
  dl.replaceChildren();
  for (const [term, value] of entries) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dl.append(dt, dd);
  }
}

function showReport(report) {
  const ready = report.seconds >= 3; // give the first frames time to arrive before judging
  verdict.classList.toggle("ok", ready && report.ok);
  verdict.classList.toggle("bad", ready && !report.ok);
  if (!ready) verdict.textContent = t("echo.verdict_checking");
  else if (report.ok) verdict.textContent = t("echo.verdict_ok");
  else verdict.textContent = t("echo.verdict_bad");
  problemList.replaceChildren();
  const video = report.video;
  const audio = report.audio;
  const loss = [report.video_loss_pct, report.audio_loss_pct].filter((v) => v !== null);
  if (ready) {
    for (const problem of echoProblems(report)) {
      const li = document.createElement("li");
      li.textContent = problem;
      problemList.append(li);
    }
  }
  fillList($("server-stats"), [
    [t("devices.camera"), video ? t("echo.video_received", { width: video.width, height: video.height, fps: video.fps.toFixed(0) }) : t("echo.nothing")],
    [t("devices.microphone"), audio ? (audio.silent ? t("echo.silent", { dbfs: audio.dbfs }) : `${audio.dbfs} dBFS`) : t("echo.nothing")],
    [t("echo.packet_loss"), loss.length ? `${Math.max(...loss).toFixed(1)}%` : "—"],
  ]);
}

let previous = null;

async function showStats(pc) {
  const now = roundTrip((await pc.getStats()).values(), previous, performance.now());
  const video = now.video;
  fillList($("stats"), [
    [t("echo.rtt"), now.rtt === null ? "—" : `${now.rtt.toFixed(0)} ms`],
    [t("echo.sending"), `${now.upKbps.toFixed(0)} kbit/s`],
    [t("echo.receiving"), `${now.downKbps.toFixed(0)} kbit/s`],
    [t("echo.lost_back"), now.lossPct === null ? "—" : `${now.lossPct.toFixed(1)}%`],
    [t("echo.echoed_video"), video && video.frameWidth ? `${video.frameWidth}×${video.frameHeight}` : "—"],
    [t("echo.echoed_fps"), video && video.framesPerSecond !== undefined ? `${video.framesPerSecond} fps` : "—"],
  ]);
  previous = now.sample;
}

async function start() {
  startButton.disabled = true;
  setStatus(t("echo.asking"));
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  } catch (err) {
    setStatus(t("echo.devices_failed", { reason: err.name }), true);
    startButton.disabled = false;
    return;
  }
  localVideo.srcObject = stream;
  setStatus(t("echo.starting"));
  const client = connectClient();
  session = { client, link: null, stream, timer: null, started: false };
  const name = localStorage.getItem("noom.name") || t("echo.default_name");
  client.on("connect_error", () => {
    if (session && !session.started) setStatus(t("echo.unreachable"), true);
  });
  client.on("connect", async () => {
    if (!session) return;
    if (session.started) {
      // A reconnect: the test belonged to our old socket, so the server ended it when that one dropped.
      stop();
      setStatus(t("echo.lost"), true);
      return;
    }
    session.started = true;
    setStatus(t("echo.starting"));
    const echo = await client.request("echo-start", {});
    if (!echo.ok) {
      stop();
      setStatus(echo.error.code === "timeout" ? t("echo.timeout") : serverText(echo.error), true);
      return;
    }
    // No re-join after a reconnect: the test ends with this socket (see above).
    const ack = await client.join({ room: echo.room, name, password: echo.password }, { rejoin: false });
    if (!ack.ok) {
      setStatus(t("echo.join_failed", { reason: serverText(ack.error) }), true);
      return;
    }
    const bot = [...client.peers.values()].find((p) => p.role === "echo");
    if (!bot) {
      setStatus(t("echo.ended_early"), true);
      return;
    }
    // We offer, toward a bot as a polite peer; ICE servers only from the server (with none, host candidates).
    const link = new PeerLink({
      peer: bot,
      selfId: ack.peerId,
      iceServers: ack.iceServers,
      initiator: true,
      send: (event, payload) => client.request(event, payload),
      local: () => ({ audio: stream.getAudioTracks()[0] || null, video: stream.getVideoTracks()[0] || null, stream }),
      onTrack: ({ stream: remote }) => {
        for (const media of [echoedVideo, echoedAudio]) if (media.srcObject !== remote) media.srcObject = remote;
      },
      onState: (state) => {
        if (state === "connected") setStatus(t("echo.connected"));
        else if (state === "failed") setStatus(t("echo.failed"), true);
      },
    });
    session.link = link;
    // Made in the same task as the link's transceivers, so the first offer negotiates it.
    const channel = link.pc.createDataChannel("echo-report");
    channel.onmessage = (event) => showReport(JSON.parse(event.data));
    for (const kind of ["offer", "answer", "ice"]) client.on(kind, (message) => message.from === bot.peerId && link.receive(kind, message));
    client.on("peer-left", ({ peer }) => {
      if (peer.peerId === bot.peerId) {
        setStatus(t("echo.ended"));
        stop();
      }
    });
    setStatus(t("echo.connecting"));
    session.timer = setInterval(() => showStats(link.pc).catch(() => {}), 1000);
    playbackButton.disabled = false;
  });
  stopButton.disabled = false;
}

function stop() {
  if (!session) return;
  const { client, link, stream, timer } = session;
  session = null;
  clearInterval(timer);
  previous = null;
  client.close();
  if (link) link.close();
  stream.getTracks().forEach((t) => t.stop());
  localVideo.srcObject = null;
  echoedVideo.srcObject = null;
  echoedAudio.srcObject = null;
  setPlayback(false);
  playbackButton.disabled = true;
  stopButton.disabled = true;
  startButton.disabled = false;
}

function setPlayback(on) {
  echoedAudio.muted = !on;
  playbackButton.setAttribute("aria-pressed", String(on));
  playbackButton.textContent = on ? t("echo.playback_stop") : t("echo.playback");
}

echoedAudio.muted = true; // your own voice only when asked: it echoes through speakers
startButton.addEventListener("click", start);
stopButton.addEventListener("click", () => {
  stop();
  setStatus(t("echo.stopped"));
});
playbackButton.addEventListener("click", () => {
  setPlayback(echoedAudio.muted);
  if (!echoedAudio.muted) setStatus(t("echo.playing"));
});
window.addEventListener("pagehide", stop);
