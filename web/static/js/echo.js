// The camera and mic test (/echo): ask the server for an echo bot in a private room (the socket event
// "echo-start"; the test belongs to this socket and ends when it goes), join that room on the same socket,
// send the bot our camera and microphone, and show what comes back: the echoed video, our voice on request, the round trip's
// stats and the bot's report of what the server received (over the "echo-report" data channel).
import { PeerLink } from "./mesh.js";
import { roundTrip } from "./quality.js";
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
  if (!ready) verdict.textContent = "Checking what the server receives…";
  else if (report.ok) verdict.textContent = "Your camera and mic reach the server fine.";
  else verdict.textContent = "Something is wrong with what the server receives:";
  problemList.replaceChildren();
  if (ready) {
    for (const problem of report.problems) {
      const li = document.createElement("li");
      li.textContent = problem;
      problemList.append(li);
    }
  }
  const video = report.video;
  const audio = report.audio;
  const loss = [report.video_loss_pct, report.audio_loss_pct].filter((v) => v !== null);
  fillList($("server-stats"), [
    ["Camera", video ? `${video.width}×${video.height} at ${video.fps.toFixed(0)} frames per second` : "nothing received"],
    ["Microphone", audio ? (audio.silent ? `silent (${audio.dbfs} dBFS)` : `${audio.dbfs} dBFS`) : "nothing received"],
    ["Packet loss", loss.length ? `${Math.max(...loss).toFixed(1)}%` : "—"],
  ]);
}

let previous = null;

async function showStats(pc) {
  const now = roundTrip((await pc.getStats()).values(), previous, performance.now());
  const video = now.video;
  fillList($("stats"), [
    ["Round-trip time", now.rtt === null ? "—" : `${now.rtt.toFixed(0)} ms`],
    ["Sending", `${now.upKbps.toFixed(0)} kbit/s`],
    ["Receiving", `${now.downKbps.toFixed(0)} kbit/s`],
    ["Packets lost on the way back", now.lossPct === null ? "—" : `${now.lossPct.toFixed(1)}%`],
    ["Echoed video", video && video.frameWidth ? `${video.frameWidth}×${video.frameHeight}` : "—"],
    ["Echoed frame rate", video && video.framesPerSecond !== undefined ? `${video.framesPerSecond} fps` : "—"],
  ]);
  previous = now.sample;
}

async function start() {
  startButton.disabled = true;
  setStatus("Asking for your camera and microphone…");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  } catch (err) {
    setStatus(`We could not use your camera or microphone (${err.name}): allow them for this site and try again.`, true);
    startButton.disabled = false;
    return;
  }
  localVideo.srcObject = stream;
  setStatus("Starting an echo test on the server…");
  const client = connectClient();
  session = { client, link: null, stream, timer: null, started: false };
  const name = localStorage.getItem("noom.name") || "Echo test";
  client.on("connect_error", () => {
    if (session && !session.started) setStatus("We cannot reach the server: still trying…", true);
  });
  client.on("connect", async () => {
    if (!session) return;
    if (session.started) {
      // A reconnect: the test belonged to our old socket, so the server ended it when that one dropped.
      stop();
      setStatus("The connection to the server was lost, which ended the test: start it again.", true);
      return;
    }
    session.started = true;
    setStatus("Starting an echo test on the server…");
    const echo = await client.request("echo-start", {});
    if (!echo.ok) {
      stop();
      setStatus(echo.error.code === "timeout" ? "The server did not answer: check your connection and try again." : echo.error.message, true);
      return;
    }
    // No re-join after a reconnect: the test ends with this socket (see above).
    const ack = await client.join({ room: echo.room, name, password: echo.password }, { rejoin: false });
    if (!ack.ok) {
      setStatus(`Could not join the echo test: ${ack.error.message}`, true);
      return;
    }
    const bot = [...client.peers.values()].find((p) => p.role === "echo");
    if (!bot) {
      setStatus("The echo test ended before it started: press Stop and start again.", true);
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
        if (state === "connected") setStatus("Connected: this is you, back from the server.");
        else if (state === "failed") setStatus("The media connection to the server failed: your network may block it.", true);
      },
    });
    session.link = link;
    // Made in the same task as the link's transceivers, so the first offer negotiates it.
    const channel = link.pc.createDataChannel("echo-report");
    channel.onmessage = (event) => showReport(JSON.parse(event.data));
    for (const kind of ["offer", "answer", "ice"]) client.on(kind, (message) => message.from === bot.peerId && link.receive(kind, message));
    client.on("peer-left", ({ peer }) => {
      if (peer.peerId === bot.peerId) {
        setStatus("The echo test has ended. Start it again whenever you like.");
        stop();
      }
    });
    setStatus("Connecting to the echo test…");
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
  playbackButton.textContent = on ? "Stop playing my voice" : "Play my voice back";
}

echoedAudio.muted = true; // your own voice only when asked: it echoes through speakers
startButton.addEventListener("click", start);
stopButton.addEventListener("click", () => {
  stop();
  setStatus("Test stopped.");
});
playbackButton.addEventListener("click", () => {
  setPlayback(echoedAudio.muted);
  if (!echoedAudio.muted) setStatus("Playing your voice back: use headphones, or you will hear an echo.");
});
window.addEventListener("pagehide", stop);
