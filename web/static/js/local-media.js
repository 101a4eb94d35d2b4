// Our own media in the call: microphone, camera and screen tracks, the raised hand, device switching mid-call
// (replaceTrack, no renegotiation), noise suppression of what the microphone sends, the background effect on
// what the camera sends, the self tile and the bar's mic / camera / share / hand buttons.
import { processBackground } from "./background.js";
import { getCamera, getMic, LevelMeter } from "./devices.js";
import { t } from "./i18n.js";
import { suppressNoise } from "./noise.js";
import { setIcon, toast } from "./ui.js";

const $ = (id) => document.getElementById(id);

export class LocalMedia {
  /**
   * @param {import("./call.js").Call} call
   * @param {object} media from the pre-join page:
   *   {micTrack, camTrack, audioOn, videoOn, cameraId, micId, speakerId, noiseSuppression, background, backdrop}
   *   (`background`: "off", "blur" or "color"; `backdrop`: the preview's running effect, background.js)
   */
  constructor(call, { micTrack, camTrack, audioOn, videoOn, cameraId, micId, speakerId, noiseSuppression, background, backdrop }) {
    this.call = call;
    Object.assign(this, { micTrack, camTrack, audioOn, videoOn, cameraId, micId, speakerId, noiseSuppression, background });
    this.stream = new MediaStream([micTrack, camTrack].filter(Boolean));
    this.screenTrack = null;
    this.hand = false;
    this.handAt = null; // the server's time for our raised hand (its place in the queue), from the media ack
    this.meter = micTrack ? new LevelMeter(micTrack) : null;
    // micTrack stays the microphone itself (its device, the meter, mute); `noise` is its RNNoise-processed
    // copy (noise.js), which is what the peers get while noise suppression is on.
    this.noise = null;
    this.noiseChain = Promise.resolve();
    // The links made before the worklet is ready start with the raw track and move over by replaceTrack,
    // normally before their connection is up.
    this.refreshNoise();
    // Likewise camTrack stays the camera itself; `backdrop` is its copy with the background effect
    // (background.js), which is what the peers and our own tile get while an effect is chosen. The preview's
    // is taken over, so the call's first frames already have it.
    this.backdrop = backdrop?.raw === camTrack ? backdrop : null;
    if (backdrop && !this.backdrop) backdrop.stop();
    this.backdropChain = Promise.resolve();
    this.refreshBackground();
  }

  /** The camera track the peers get: with the background effect when that runs, else the camera. */
  sentCamera() {
    return this.backdrop?.track || this.camTrack;
  }

  /** Choose the background effect mid-call (the settings picker): replaceTrack, no renegotiation. */
  async setBackground(effect) {
    this.background = effect;
    await this.refreshBackground();
  }

  /** Like refreshNoise, for the camera and the background effect. */
  refreshBackground() {
    this.backdropChain = this.backdropChain.then(() => this.applyBackground()).catch((error) => console.warn("noom: background effect", error));
    return this.backdropChain;
  }

  async applyBackground() {
    const cam = this.camTrack;
    const want = this.background !== "off" && !!cam && cam.readyState === "live";
    if (want && this.backdrop?.raw === cam) {
      this.backdrop.setEffect(this.background); // blur <-> colour: the same track
      return;
    }
    // The new processing is ready before the old one goes, so a new camera never goes out unprocessed.
    let next = null;
    if (want) {
      next = await processBackground(cam, this.background);
      if (!next.applied) {
        toast(t("call.background_unavailable"), "info", 6000);
        next = null;
      } else if (cam !== this.camTrack || this.background === "off") {
        next.stop(); // the camera changed or the effect went off meanwhile; the next refresh is queued
        return;
      }
    }
    const old = this.backdrop;
    this.backdrop = next;
    if (!old && !next) return;
    await this.sendVideo();
    old?.stop();
    this.render();
  }

  /** The audio track the peers get: the noise-suppressed microphone when that runs, else the microphone. */
  sentAudio() {
    return this.noise?.track || this.micTrack;
  }

  /** Turn noise suppression on or off mid-call (the settings switch): replaceTrack, no renegotiation. */
  async setNoiseSuppression(on) {
    this.noiseSuppression = on;
    await this.refreshNoise();
  }

  /**
   * Make what the peers get match the wish for the current microphone: start or stop the processing, then
   * hand the result to every link. Serialised, so a quick toggle or device switch never leaves two running.
   */
  refreshNoise() {
    this.noiseChain = this.noiseChain.then(() => this.applyNoise()).catch((error) => console.warn("noom: noise suppression", error));
    return this.noiseChain;
  }

  async applyNoise() {
    const mic = this.micTrack;
    const want = this.noiseSuppression && !!mic && mic.readyState === "live";
    if (this.noise && (!want || this.noise.raw !== mic)) {
      const old = this.noise;
      this.noise = null;
      await this.sendAudio();
      old.stop();
    }
    if (!want || this.noise) return;
    const result = await suppressNoise(mic);
    if (!result.suppressed) {
      toast(t("call.noise_unavailable"), "info", 6000);
      return;
    }
    if (mic !== this.micTrack || !this.noiseSuppression) {
      result.stop(); // the microphone changed or the switch went off meanwhile; the next refresh is queued
      return;
    }
    result.track.enabled = mic.enabled;
    this.noise = result;
    await this.sendAudio();
  }

  async sendAudio() {
    const track = this.sentAudio();
    await Promise.all(this.links().map((link) => link.replace("audio", track)));
  }

  hasAudio() {
    return !!this.micTrack;
  }

  /** What we send each peer (PeerLink's ``local``): the screen replaces the camera on the one video sender. */
  current() {
    return { audio: this.sentAudio(), video: this.screenTrack || (this.videoOn ? this.sentCamera() : null), stream: this.stream };
  }

  /** Our flags as the others should see them. */
  state() {
    const showing = this.screenTrack || (this.videoOn && this.camTrack);
    return { audio: this.audioOn && this.hasAudio(), video: !!showing, screen: !!this.screenTrack, hand: this.hand, handAt: this.handAt };
  }

  links() {
    return [...this.call.peers.values()].map(({ link }) => link);
  }

  /** The self tile and the bar's buttons; then the layout and the People panel, which show our state too. */
  render() {
    const tile = this.call.selfTile;
    const showing = this.screenTrack || (this.videoOn && this.camTrack);
    // Our tile shows what the others get (the background effect included).
    tile.setStream(new MediaStream(showing ? [this.screenTrack || this.sentCamera()] : []));
    tile.node.classList.toggle("mirror", !this.screenTrack);
    tile.setState(this.state());
    const mic = $("btn-mic");
    const micOn = this.audioOn && this.hasAudio();
    mic.setAttribute("aria-pressed", String(micOn));
    mic.classList.toggle("off", !micOn);
    mic.dataset.tip = micOn ? t("bar.mute_tip") : t("bar.unmute_tip");
    setIcon(mic, micOn ? "mic" : "mic-off");
    const cam = $("btn-cam");
    const camOn = this.videoOn && !!this.camTrack;
    cam.setAttribute("aria-pressed", String(camOn));
    cam.classList.toggle("off", !camOn);
    cam.dataset.tip = camOn ? t("bar.cam_off_tip") : t("bar.cam_on_tip");
    setIcon(cam, camOn ? "video" : "video-off");
    const share = $("btn-share");
    share.setAttribute("aria-pressed", String(!!this.screenTrack));
    share.classList.toggle("active", !!this.screenTrack);
    share.dataset.tip = this.screenTrack ? t("bar.stop_share_tip") : t("bar.share_tip");
    setIcon(share, this.screenTrack ? "monitor-off" : "monitor-up");
    const hand = $("btn-hand");
    hand.setAttribute("aria-pressed", String(this.hand));
    hand.classList.toggle("active", this.hand);
    hand.dataset.tip = this.hand ? t("bar.lower_hand_tip") : t("bar.hand_tip");
    this.call.relayout();
    this.call.renderPeople();
  }

  /** Tell the server (and so the others) about a change of our flags. */
  async announce(change) {
    const ack = await this.call.client.request("media", change);
    if (ack.ok && ack.state && "hand" in change) {
      this.handAt = ack.state.handAt ?? null;
      this.call.relayout();
      this.call.renderPeople();
    }
  }

  async sendVideo() {
    const track = this.current().video;
    await Promise.all(this.links().map((link) => link.replace("video", track)));
    this.call.sizing.update(); // a new track: its capture size and encodings (screen or camera) follow the views
  }

  async toggleMic() {
    if (!this.micTrack) {
      try {
        this.micTrack = await getMic(this.micId);
      } catch {
        toast(t("call.no_mic"), "error", 6000);
        return;
      }
      this.stream.addTrack(this.micTrack);
      this.meter = new LevelMeter(this.micTrack);
      this.audioOn = true;
      await this.refreshNoise();
      await this.sendAudio();
    } else {
      this.audioOn = !this.audioOn;
    }
    // Muting disables the track (silence, no renegotiation); the meter's clone still hears us for the hint.
    this.micTrack.enabled = this.audioOn;
    if (this.noise) this.noise.track.enabled = this.audioOn;
    this.announce({ audio: this.audioOn });
    this.render();
  }

  async toggleCamera() {
    if (this.videoOn && this.camTrack) {
      // Off means off: stop the camera so its light goes out.
      this.videoOn = false;
      this.stream.removeTrack(this.camTrack);
      this.camTrack.stop();
      this.camTrack = null;
    } else {
      try {
        this.camTrack = await getCamera(this.cameraId);
      } catch {
        toast(t("call.no_camera"), "error", 6000);
        return;
      }
      this.stream.addTrack(this.camTrack);
      this.videoOn = true;
      await this.refreshBackground(); // the new camera's effect first: it never goes out without it
    }
    await this.sendVideo();
    if (!this.videoOn) await this.refreshBackground(); // the old camera's effect stops
    this.announce({ video: this.videoOn });
    this.render();
  }

  /** The host turned our microphone or camera off: exactly what pressing M or V does (the server has
   * already lowered our flag; our own ``media`` keeps it so). */
  async turnOff(kind) {
    if (kind === "video") {
      if (this.videoOn && this.camTrack) await this.toggleCamera();
    } else if (this.audioOn && this.micTrack) await this.toggleMic();
  }

  /** Switch camera, microphone or speaker mid-call: replaceTrack, no renegotiation. */
  async switchDevice(kind, deviceId) {
    try {
      if (kind === "videoinput") {
        this.cameraId = deviceId;
        if (!this.videoOn) return;
        const track = await getCamera(deviceId);
        const old = this.camTrack;
        this.camTrack = track;
        this.stream.addTrack(track);
        await this.refreshBackground(); // the new camera's effect, before it is sent
        await this.sendVideo();
        if (old) {
          // Only stop the old camera once every sender has moved to the new one.
          this.stream.removeTrack(old);
          old.stop();
        }
        this.render();
      } else if (kind === "audioinput") {
        this.micId = deviceId;
        const track = await getMic(deviceId);
        track.enabled = this.audioOn;
        if (this.micTrack) {
          this.stream.removeTrack(this.micTrack);
          this.micTrack.stop();
        }
        this.meter?.stop();
        this.micTrack = track;
        this.stream.addTrack(track);
        this.meter = new LevelMeter(track);
        await this.refreshNoise(); // the new microphone's own processing, handed to the links
        await this.sendAudio();
      } else {
        this.speakerId = deviceId;
        for (const { tile } of this.call.peers.values()) await tile.setSink(deviceId);
      }
      localStorage.setItem(`noom.${kind}`, deviceId);
    } catch (error) {
      toast(t("call.switch_failed", { reason: error.name || error }), "error", 6000);
    }
  }

  async toggleShare() {
    if (this.screenTrack) return this.stopShare();
    if (!navigator.mediaDevices?.getDisplayMedia) {
      toast(t("call.no_share"), "error", 6000);
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
    } catch (error) {
      if (error.name !== "NotAllowedError") toast(t("call.share_failed"), "error");
      return;
    }
    this.screenTrack = stream.getVideoTracks()[0];
    this.screenTrack.contentHint = "detail";
    // The browser's own "Stop sharing" button ends the track: stop cleanly from there too.
    this.screenTrack.addEventListener("ended", () => this.stopShare());
    await this.sendVideo();
    this.announce({ screen: true });
    this.render();
    toast(t("call.presenting"));
  }

  async stopShare() {
    if (!this.screenTrack) return;
    const track = this.screenTrack;
    this.screenTrack = null;
    track.stop();
    await this.sendVideo();
    this.announce({ screen: false });
    this.render();
  }

  toggleHand() {
    this.hand = !this.hand;
    if (!this.hand) this.handAt = null;
    this.announce({ hand: this.hand });
    this.render();
  }

  /** The host lowered our hand (the server already has). */
  handLowered() {
    this.hand = false;
    this.handAt = null;
    this.render();
  }

  /** Read-only view for tests: our microphone and camera as the browser has them (a muted mic is a disabled track),
   * whether the microphone goes out through noise suppression, and the camera through which background effect. */
  tracks() {
    return {
      noiseSuppressed: !!this.noise,
      background: this.backdrop ? this.backdrop.effect : "off",
      backgroundCost: this.backdrop?.stats() || null,
      audio: this.micTrack && { enabled: this.micTrack.enabled, readyState: this.micTrack.readyState },
      video: this.camTrack && { enabled: this.camTrack.enabled, readyState: this.camTrack.readyState },
    };
  }

  /** The call is over: every device goes off. */
  stop() {
    this.meter?.stop();
    this.noiseSuppression = false; // a refresh still queued starts nothing now
    this.noise?.stop();
    this.noise = null;
    this.background = "off";
    this.backdrop?.stop();
    this.backdrop = null;
    for (const track of [this.micTrack, this.camTrack, this.screenTrack]) track?.stop();
  }
}
