"""Media benchmark: the VP8 codec limit, echo-bot capacity and latency, and the recorder's cost.

(a) codec: aiortc's own ``Vp8Encoder`` + ``Vp8Decoder`` on 640x480 frames, one process pinned to one core;
    frames per CPU-second of encode + decode (the most one core can echo at all).
(b) echo capacity: a fresh ``noom serve`` (core 0) starts echo bots on the socket event ``echo-start`` (they
    run inside the server process; one per client address, so each asking socket comes from its own
    X-Forwarded-For address with --trust-proxy); a driver process of probes (core 1) runs N probe<->echo
    sessions at 640x480, 30 fps. N = 1, 2, 3, ... until some probe receives fewer than 25 fps.
(c) echo round trip: the probe's frame stamps carry the send time; p50/p99 over all sessions.
(d) recorder: N probes (320x240, core 1) in one room, ``noom record`` (core 0, 1280x720 at 15 fps); its
    CPU from /proc per second of recording per participant.

aiortc gathers no loopback ICE candidates, so the bench re-runs itself in a private network namespace
(``unshare --net`` + scripts/netns.sh, like the test suite): nothing outside it is reachable. Results go to
docs/bench/media.json, docs/bench/media_echo.png and the media-* sections of docs/benchmarks.md.

    .venv/bin/python scripts/bench/bench_media.py [--rounds 2] [--seconds 8] [--max-sessions 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from common import (
    DOCS,
    NOOM,
    PYTHON,
    ROOT,
    cpu_seconds,
    machine_description,
    pinned,
    rerun_in_namespace,
    write_section,
)

from tests.support import eventually, free_port, wait_for_port

SERVER_CORE, PROBE_CORE = 0, 1
FPS = 30
MIN_FPS = 25.0
WIDTH, HEIGHT = 640, 480
STARTED = time.monotonic()
# The benchmark's servers and bots share it: bots authenticate with it (the server admits no other bots).
BENCH_SECRET = "noom-bench-server-secret-0123456789"


def bench_credential() -> str:
    from noom.secret import ServerSecret

    return ServerSecret(BENCH_SECRET).bot_credential()


def say(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.0f}s] {text}", flush=True)


# ---- (a) the codec limit ---------------------------------------------------------------------------


def texture_frames(count: int, width: int, height: int) -> list[Any]:
    """A camera-like picture: a textured scene panning a few pixels per frame, plus a little sensor noise."""
    import numpy as np

    rng = np.random.default_rng(1)
    big_h, big_w = height + 64, width + 4 * count
    y, x = np.mgrid[0:big_h, 0:big_w]
    scene = 110 + 50 * np.sin(x / 23.0) * np.cos(y / 31.0) + 30 * np.sin((x + 2 * y) / 9.0)
    scene += rng.normal(0, 8, scene.shape)
    frames = []
    for i in range(count):
        luma = scene[(i % 32) : (i % 32) + height, 4 * i : 4 * i + width]
        luma = luma + rng.normal(0, 2, luma.shape)
        yuv = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
        yuv[:height] = np.clip(luma, 16, 235).astype(np.uint8)
        frames.append(yuv)
    return frames


def probe_frames(count: int, width: int, height: int) -> list[Any]:
    """The probe's own stamped pattern (what the echo sessions carry)."""
    import numpy as np

    from noom.media import pattern

    frames = []
    for i in range(count):
        yuv = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
        pattern.draw(yuv[:height], pattern.Stamp(7, i, (1_000_000 + i * 33) & 0xFFFFFFFF))
        frames.append(yuv)
    return frames


def codec_run(kind: str, seconds: float, max_frames: int) -> dict[str, Any]:
    """What an echo bot's codec does per frame, with aiortc's VP8 classes and settings: decode the sender's
    frame and encode the decoded picture again. The sender's stream (``kind`` of picture) is encoded
    beforehand, untimed; the loop runs ``seconds`` (at most ``max_frames`` frames)."""
    import fractions

    import av
    from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder, vp8_depayload
    from aiortc.jitterbuffer import JitterFrame

    def video_frame(image: Any, index: int) -> av.VideoFrame:
        frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts, frame.time_base = index * 3000, fractions.Fraction(1, 90000)
        return frame

    images = (texture_frames if kind == "texture" else probe_frames)(150, WIDTH, HEIGHT)
    sender = Vp8Encoder()
    stream = []  # the sender's frames as the echo receives them: starts with a keyframe, so it can loop
    for i in range(300):
        payloads, timestamp = sender.encode(video_frame(images[i % len(images)], i), force_keyframe=i == 0)
        stream.append((b"".join(vp8_depayload(p) for p in payloads), timestamp))
    decoder, encoder = Vp8Decoder(), Vp8Encoder()
    frames = 0
    encode_s = decode_s = 0.0
    encoded_bytes = 0
    started = time.monotonic()
    while frames < max_frames and time.monotonic() - started < seconds:
        data, timestamp = stream[frames % len(stream)]
        t0 = time.thread_time()
        [picture] = decoder.decode(JitterFrame(data=data, timestamp=timestamp))
        t1 = time.thread_time()
        picture.pts, picture.time_base = frames * 3000, fractions.Fraction(1, 90000)
        payloads, _ = encoder.encode(picture, force_keyframe=frames == 0)
        t2 = time.thread_time()
        assert picture.width == WIDTH and payloads
        decode_s += t1 - t0
        encode_s += t2 - t1
        encoded_bytes += sum(len(p) for p in payloads)
        frames += 1
    wall = time.monotonic() - started
    return {
        "pattern": kind,
        "frames": frames,
        "wall_s": wall,
        "encode_ms": 1000 * encode_s / frames,
        "decode_ms": 1000 * decode_s / frames,
        "fps_per_core": frames / (encode_s + decode_s),
        "fps_wall": frames / wall,
        "kbit_per_frame": 8 * encoded_bytes / frames / 1000,
    }


def measure_codec(rounds: int, seconds: float) -> list[dict[str, Any]]:
    samples = []
    for round_ in range(rounds):
        for kind in ("probe", "texture"):
            out = subprocess.run(
                pinned(SERVER_CORE, [PYTHON, __file__, "_codec", kind, str(seconds)]),
                capture_output=True,
                text=True,
                timeout=seconds + 120,
                check=True,
            )
            sample = json.loads(out.stdout.strip().splitlines()[-1]) | {"round": round_}
            samples.append(sample)
            say(
                f"codec {kind:7} round {round_}: {sample['fps_per_core']:.0f} fps/core "
                f"(encode {sample['encode_ms']:.2f} ms + decode {sample['decode_ms']:.2f} ms)"
            )
    return samples


# ---- probes driven inside the namespace (the "_echo" and "_room" subcommands) ----------------------


def _process_cpu() -> float:
    return time.process_time()


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of a process, by native thread id."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(task.name)] = cpu_seconds(pid, int(task.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
    return out


async def drive_echo(
    url: str, sessions: int, seconds: float, server_pid: int, profile: str | None = None
) -> dict[str, Any]:
    """Start ``sessions`` echo sessions through the API, a 640x480 probe in each; measure ``seconds``
    (and sample the server's stacks with py-spy meanwhile, into ``profile``)."""
    import numpy as np
    import socketio

    from noom.media.probe import ProbeBot

    # Each echo test belongs to the socket that asked (it ends when that socket goes), one per address:
    # the askers stay connected for the whole run, each from its own (documentation) address.
    askers = [socketio.AsyncClient(reconnection=False) for _ in range(sessions)]
    probes: list[ProbeBot] = []
    try:
        for i, asker in enumerate(askers):
            await asker.connect(url, transports=["websocket"], headers={"X-Forwarded-For": f"198.51.100.{i + 1}"})
            body = await asker.call("echo-start", {}, timeout=30)
            if not body.get("ok"):
                raise RuntimeError(f"the server refused an echo session: {body}")
            probe = ProbeBot(
                url, body["room"], f"probe{i}", tag=i, width=WIDTH, height=HEIGHT, fps=FPS,
                password=body["password"], bot_credential=bench_credential(),
            )  # fmt: skip
            probes.append(probe)
            await probe.start()  # within the echo bot's 10 s join timeout

        def own(probe: ProbeBot) -> int:
            return sum(r.own_frames for r in probe.received.values())

        await eventually(lambda: all(own(p) > 0 for p in probes), "every probe's first echoed frame", 60)
        await asyncio.sleep(3)  # let the bitrate settle
        for probe in probes:
            probe.reset()
        spy = None
        if profile:
            spy = await asyncio.create_subprocess_exec(
                str(ROOT / ".venv" / "bin" / "py-spy"),
                *["record", "--pid", str(server_pid), "--duration", str(int(seconds)), "--threads"],
                *["--format", "raw", "-o", profile, "--nonblocking"],
                stdout=asyncio.subprocess.DEVNULL,
                stderr=sys.stderr,
            )
        threads = thread_cpu(server_pid)
        server_cpu, own_cpu, started = cpu_seconds(server_pid), _process_cpu(), time.monotonic()
        await asyncio.sleep(seconds)
        after = thread_cpu(server_pid)
        threads = {tid: after[tid] - threads.get(tid, 0.0) for tid in after}
        if spy is not None:
            await asyncio.wait_for(spy.wait(), 60)
        elapsed = time.monotonic() - started
        server_cpu = cpu_seconds(server_pid) - server_cpu
        own_cpu = _process_cpu() - own_cpu
        fps, latencies = [], []
        for probe in probes:
            received = [r for r in probe.received.values() if r.own_frames]
            fps.append(sum(r.own_frames for r in received) / elapsed)
            latencies.extend(v for r in received for v in r.latencies)
    finally:
        for probe in probes:
            await probe.stop()
        for asker in askers:
            await asker.disconnect()
    values = np.array(latencies) if latencies else np.zeros(1)
    return {
        "sessions": sessions,
        "seconds": elapsed,
        "fps": fps,
        "min_fps": min(fps),
        "median_fps": statistics.median(fps),
        "rtt_p50_ms": float(np.percentile(values, 50)),
        "rtt_p99_ms": float(np.percentile(values, 99)),
        "rtt_count": len(latencies),
        "server_cpu_per_s": server_cpu / elapsed,
        "probe_cpu_per_s": own_cpu / elapsed,
        "server_thread_cpu_s": threads,
    }


async def drive_room(url: str, participants: int, seconds: float, out: str) -> dict[str, Any]:
    """``participants`` probes (320x240) in one room, then ``noom record`` (core 0) joins; its CPU over ``seconds``.

    The probes send only to the recorder: a full mesh of N probes on one core (N x N encodes) could not keep
    30 fps for 4 of them, and the recorder would get fewer frames than from a real call."""
    from aiortc import MediaStreamTrack

    from noom.media.probe import PatternTrack, ProbeBot
    from noom.protocol import Peer

    class RecordedProbe(ProbeBot):
        tracks: list[PatternTrack]

        def outgoing_tracks(self, peer: Peer) -> list[MediaStreamTrack]:
            tracks = super().outgoing_tracks(peer)
            self.tracks = getattr(self, "tracks", []) + [t for t in tracks if isinstance(t, PatternTrack)]
            return tracks

        async def _offer_to(self, info: Peer) -> None:
            if info.role == "recorder":
                await super()._offer_to(info)

    room = f"bench-rec-{os.getpid()}"
    probes = [
        RecordedProbe(url, room, f"probe{i}", tag=i, bot_credential=bench_credential()) for i in range(participants)
    ]
    recorder = None
    try:
        for probe in probes:
            await probe.start()
        recorder = await asyncio.create_subprocess_exec(
            *pinned(
                SERVER_CORE,
                [
                    NOOM,
                    "record",
                    "--url",
                    url,
                    "--room",
                    room,
                    "--out",
                    out,
                    "--duration",
                    str(seconds + 30),
                    "--server-secret",
                    BENCH_SECRET,
                ],
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        await eventually(lambda: all(getattr(p, "tracks", None) for p in probes), "the recorder to connect", 60)
        await asyncio.sleep(4)  # connections up, the recorder's first frames decoded
        counts = [p.tracks[0]._count for p in probes]
        cpu, started = cpu_seconds(recorder.pid), time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(recorder.pid) - cpu
        # What the probes sent the recorder: under 30 fps, core 1 could not keep up.
        sent_fps = statistics.median((p.tracks[0]._count - c) / elapsed for p, c in zip(probes, counts, strict=True))
        recorder.terminate()
        output, _ = await asyncio.wait_for(recorder.communicate(), 30)
        size = await asyncio.to_thread(lambda: os.path.getsize(out) if os.path.exists(out) else 0)
        if size == 0:
            raise RuntimeError(f"the recorder wrote nothing: {output.decode(errors='replace')[-2000:]}")
    finally:
        if recorder is not None and recorder.returncode is None:
            recorder.kill()
            await asyncio.wait_for(recorder.wait(), 10)
        for probe in probes:
            await probe.stop()
    return {
        "participants": participants,
        "seconds": elapsed,
        "cpu_per_s": cpu / elapsed,
        "cpu_per_s_per_participant": cpu / elapsed / participants,
        "probe_fps": sent_fps,
        "mp4_bytes": size,
    }


# ---- running servers -------------------------------------------------------------------------------


def start_server(port: int, recordings: str) -> subprocess.Popen:
    argv = [NOOM, "serve", "--port", str(port), "--log-level", "warning", "--echo-max-sessions", "64"]
    # Every probe and echo bot is an authenticated bot; the echo askers come from X-Forwarded-For addresses.
    argv += ["--server-secret", BENCH_SECRET, "--bots-max", "256", "--trust-proxy", "true"]
    argv += ["--recordings-dir", recordings]
    proc = subprocess.Popen(pinned(SERVER_CORE, argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    asyncio.run(wait_for_port(port, proc))
    return proc


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def run_driver(args: list[str], timeout: float) -> dict[str, Any]:
    # stderr passes through: the driver's warnings and py-spy's messages show with the progress.
    out = subprocess.run(
        pinned(PROBE_CORE, [PYTHON, __file__, *args]), stdout=subprocess.PIPE, text=True, timeout=timeout, check=False
    )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"the probe driver failed with exit code {out.returncode} (its errors are above)")
    return json.loads(lines[-1])


def measure_echo(sessions: int, seconds: float, profile: Path | None = None) -> dict[str, Any]:
    port = free_port()
    with tempfile.TemporaryDirectory() as recordings:
        server = start_server(port, recordings)
        try:
            url, extra = f"http://127.0.0.1:{port}", [str(profile)] if profile else []
            timeout = seconds + 120 + 10 * sessions
            return run_driver(["_echo", url, str(sessions), str(seconds), str(server.pid), *extra], timeout)
        finally:
            stop_server(server)


def measure_recorder(participants: int, seconds: float) -> dict[str, Any]:
    port = free_port()
    with tempfile.TemporaryDirectory() as recordings:
        server = start_server(port, recordings)
        try:
            out = str(Path(recordings) / "bench.mp4")
            return run_driver(
                ["_room", f"http://127.0.0.1:{port}", str(participants), str(seconds), out], seconds + 180
            )
        finally:
            stop_server(server)


# ---- reporting -------------------------------------------------------------------------------------


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(codec: list[dict], echo: list[dict], recorder: list[dict]) -> dict[str, Any]:
    codec_fps = {k: med([s["fps_per_core"] for s in codec if s["pattern"] == k]) for k in ("probe", "texture")}
    by_n: dict[int, list[dict]] = {}
    for sample in echo:
        by_n.setdefault(sample["sessions"], []).append(sample)
    steps = []
    for n, samples in sorted(by_n.items()):
        steps.append(
            {
                "sessions": n,
                "runs": len(samples),
                "min_fps": med([s["min_fps"] for s in samples]),
                "median_fps": med([s["median_fps"] for s in samples]),
                "rtt_p50_ms": med([s["rtt_p50_ms"] for s in samples]),
                "rtt_p99_ms": med([s["rtt_p99_ms"] for s in samples]),
                "server_cpu_per_s": med([s["server_cpu_per_s"] for s in samples]),
                "probe_cpu_per_s": med([s["probe_cpu_per_s"] for s in samples]),
            }
        )
    capacity = 0
    for step in steps:
        if step["min_fps"] >= MIN_FPS:
            capacity = step["sessions"]
        else:
            break
    codec_sessions = codec_fps["probe"] / FPS
    cpu_per_session = [s["server_cpu_per_s"] / s["sessions"] for s in steps if s["min_fps"] >= MIN_FPS]
    per_session = med(cpu_per_session)
    codec_cpu_per_session = FPS / codec_fps["probe"]
    by_p: dict[int, list[dict]] = {}
    for sample in recorder:
        by_p.setdefault(sample["participants"], []).append(sample)
    rec = [
        {
            "participants": p,
            "runs": len(samples),
            "cpu_per_s": med([s["cpu_per_s"] for s in samples]),
            "cpu_per_s_per_participant": med([s["cpu_per_s_per_participant"] for s in samples]),
            "probe_fps": med([s.get("probe_fps", float("nan")) for s in samples]),
        }
        for p, samples in sorted(by_p.items())
    ]
    one = next((s for s in steps if s["sessions"] == 1), None)
    cpu_capacity = 1 / per_session if per_session == per_session and per_session > 0 else float("nan")
    return {
        "codec_fps_per_core": codec_fps,
        "codec_limit_sessions": codec_sessions,
        "echo_steps": steps,
        "echo_capacity": capacity,
        "capacity_ratio": capacity / codec_sessions if codec_sessions else float("nan"),
        "cpu_capacity": cpu_capacity,
        "cpu_capacity_ratio": cpu_capacity / codec_sessions if codec_sessions else float("nan"),
        "server_cpu_per_session": per_session,
        "codec_cpu_per_session": codec_cpu_per_session,
        "plumbing_factor": per_session / codec_cpu_per_session if codec_cpu_per_session else float("nan"),
        "rtt_p50_ms_1_session": one["rtt_p50_ms"] if one else None,
        "rtt_p99_ms_1_session": one["rtt_p99_ms"] if one else None,
        "recorder": rec,
    }


def tables(summary: dict[str, Any], codec: list[dict], command: str) -> dict[str, str]:
    header = f"Machine: {machine_description()}. Command: `{command}`. Medians over rounds.\n\n"
    lines = [
        header + "| pattern (640×480) | encode ms/frame | decode ms/frame | kbit/frame | fps per core (enc + dec) |",
        "|---|---|---|---|---|",
    ]
    for kind, words in (("probe", "probe's stamped pattern (what (b) sends)"), ("texture", "panning texture + noise")):
        samples = [s for s in codec if s["pattern"] == kind]
        lines.append(
            f"| {words} | {med([s['encode_ms'] for s in samples]):.2f} | {med([s['decode_ms'] for s in samples]):.2f} "
            f"| {med([s['kbit_per_frame'] for s in samples]):.1f} | {summary['codec_fps_per_core'][kind]:.0f} |"
        )
    lines.append(
        f"\nCodec limit for echo on one core: {summary['codec_fps_per_core']['probe']:.0f} fps / {FPS} fps = "
        f"**{summary['codec_limit_sessions']:.1f} sessions** (each echo session decodes and encodes {FPS} fps)."
    )
    codec_text = "\n".join(lines)

    lines = [
        header + "| sessions | runs | lowest probe fps | median probe fps | RTT p50 ms | RTT p99 ms "
        "| server CPU (cores) | CPU per session | probes' CPU (cores) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary["echo_steps"]:
        lines.append(
            f"| {s['sessions']} | {s['runs']} | {s['min_fps']:.1f} | {s['median_fps']:.1f} | {s['rtt_p50_ms']:.0f} "
            f"| {s['rtt_p99_ms']:.0f} | {s['server_cpu_per_s']:.2f} | {s['server_cpu_per_s'] / s['sessions']:.3f} "
            f"| {s['probe_cpu_per_s']:.2f} |"
        )
    ratio = summary["capacity_ratio"]
    p50 = summary["rtt_p50_ms_1_session"]
    lines += [
        "",
        f"- Echo capacity: **{summary['echo_capacity']} sessions** at >= {MIN_FPS:.0f} fps for every probe; "
        f"the codec limit is {summary['codec_limit_sessions']:.1f}: **{ratio:.0%}** of it (target >= 70%: "
        f"{'holds' if ratio >= 0.7 else 'falls short'}).",
        f"- By CPU: one core holds 1 / {summary['server_cpu_per_session']:.3f} = "
        f"**{summary['cpu_capacity']:.1f} sessions**, **{summary['cpu_capacity_ratio']:.0%}** of the codec limit "
        "(the search above also depends on what the shared machine's other processes leave of core 0).",
        f"- Server CPU per session (cores, sessions that held {MIN_FPS:.0f} fps): "
        f"{summary['server_cpu_per_session']:.3f}, against {summary['codec_cpu_per_session']:.3f} for the codec "
        f"alone: {summary['plumbing_factor']:.2f}× the codec.",
        f"- Round trip with one session: p50 **{p50:.0f} ms**, p99 {summary['rtt_p99_ms_1_session']:.0f} ms "
        f"(target p50 <= 60 ms: {'holds' if p50 is not None and p50 <= 60 else 'falls short'}).",
        "",
        "![echo fps against sessions](bench/media_echo.png)",
    ]
    echo_text = "\n".join(lines)

    lines = [
        header + "| participants | runs | fps each probe sent | recorder CPU (cores) "
        "| CPU-s per second per participant |",
        "|---|---|---|---|---|",
    ]
    for r in summary["recorder"]:
        verdict = "holds" if r["cpu_per_s_per_participant"] <= 0.3 else "falls short"
        lines.append(
            f"| {r['participants']} | {r['runs']} | {r['probe_fps']:.1f} | {r['cpu_per_s']:.2f} | "
            f"**{r['cpu_per_s_per_participant']:.3f}** (target <= 0.3: {verdict}) |"
        )
    return {"media-codec": codec_text, "media-echo": echo_text, "media-recorder": "\n".join(lines)}


def plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = summary["echo_steps"]
    xs = [s["sessions"] for s in steps]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.plot(xs, [s["median_fps"] for s in steps], "-o", label="median probe")
    ax.plot(xs, [s["min_fps"] for s in steps], "--s", label="lowest probe")
    ax.axhline(MIN_FPS, color="grey", linestyle=":", label=f"{MIN_FPS:.0f} fps threshold")
    ax.axvline(summary["codec_limit_sessions"], color="red", linestyle=":", label="codec limit (1 core)")
    ax.set_xlabel("concurrent echo sessions (640×480, 30 fps)")
    ax.set_ylabel("echoed frames per second")
    ax.set_ylim(0, 33)
    ax.set_xticks(xs)
    ax.legend(loc="lower left")
    ax.set_title("Echo bot: frames back per probe (server on one core)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---- profile ---------------------------------------------------------------------------------------

THREAD_ROLES = {
    "MainThread": "event loop: ICE, DTLS/SRTP, RTP/RTCP, jitter buffer, our tracks, signaling",
    "video-decoder": "VP8 decoding (aiortc's decoder thread)",
    "audio-decoder": "Opus decoding (aiortc's decoder thread)",
    "executor": "encoding: VP8 and Opus (the loop's default executor)",
}
# Frames where a sampled thread waits (py-spy counts a thread waiting for the GIL or a queue as active).
WAITS = ("Condition.wait", "_worker (concurrent/futures/thread.py:81)", "Queue.get", "Event.wait")


def read_stacks(path: Path) -> tuple[dict[int, str], list[tuple[list[str], int]]]:
    names: dict[int, str] = {}
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        head = re.match(r"thread \((\d+)\): (.*)", frames[0])
        if head:
            names[int(head.group(1))] = head.group(2)
        stacks.append((frames, int(count)))
    return names, stacks


def thread_group(name: str) -> str:
    if name in THREAD_ROLES:
        return name
    return "executor" if re.match(r"(uvloop|asyncio|ThreadPoolExecutor)", name) else "other"


def profile_text(sessions: int, samples: list[dict], raws: list[Path], command: str) -> str:
    groups: dict[str, list[float]] = {}
    for sample, raw in zip(samples, raws, strict=True):
        names, stacks = read_stacks(raw)  # thread ids differ from run to run
        per_group: dict[str, float] = {}
        for tid, cpu in sample["server_thread_cpu_s"].items():
            group = thread_group(names.get(int(tid), "other"))
            per_group[group] = per_group.get(group, 0.0) + cpu / sample["seconds"]
        for group, cores in per_group.items():
            groups.setdefault(group, []).append(cores)
    total = med([s["server_cpu_per_s"] for s in samples])
    lines = [
        f"Machine: {machine_description()}. Command: `{command}`. {sessions} echo session(s) at 640×480, 30 fps; "
        f"CPU per thread from /proc/PID/task over the measured seconds, median of {len(samples)} runs; "
        f"server total {total:.2f} cores ({total / sessions:.3f} per session).\n",
        "| thread | what it does | cores | per session |",
        "|---|---|---|---|",
    ]
    for group, values in sorted(groups.items(), key=lambda kv: -med(kv[1])):
        if med(values) < 0.001:
            continue  # threads that did nothing measurable (e.g. an idle executor thread's name)
        lines.append(f"| {group} | {THREAD_ROLES.get(group, '')} | {med(values):.3f} | {med(values) / sessions:.3f} |")
    self_time: dict[tuple[str, str], int] = {}
    active = 0
    for frames, count in stacks:
        leaf = frames[-1]
        if any(w in leaf for w in WAITS):
            continue
        group = (
            thread_group(names.get(int(m.group(1)), "other"))
            if (m := re.match(r"thread \((\d+)\)", frames[0]))
            else "?"
        )
        self_time[(group, leaf)] = self_time.get((group, leaf), 0) + count
        active += count
    lines += [
        "",
        f"py-spy (100 Hz, all threads, waits left out) over the last run: the top frames by own samples "
        f"(of {active}); raw stacks in `docs/bench/{raw.name}`.",
        "",
        "```",
    ]
    for (group, leaf), count in sorted(self_time.items(), key=lambda kv: -kv[1])[:15]:
        lines.append(f"{100 * count / max(1, active):5.1f}%  {group:13} {leaf}")
    lines.append("```")
    return "\n".join(lines)


# ---- main ------------------------------------------------------------------------------------------


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_codec":
        print(json.dumps(codec_run(sys.argv[2], float(sys.argv[3]), max_frames=20000)))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "_echo":
        url, n, seconds, pid = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
        print(json.dumps(asyncio.run(drive_echo(url, n, seconds, pid, *sys.argv[6:7]))))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "_room":
        url, n, seconds, out = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
        print(json.dumps(asyncio.run(drive_room(url, n, seconds, out))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="runs of every measurement (medians are reported)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run")
    parser.add_argument("--max-sessions", type=int, default=8, help="the echo search stops here at the latest")
    parser.add_argument("--participants", default="2,4", help="recorder: participant counts")
    parser.add_argument("--only", choices=["codec", "echo", "recorder"], help="measure one part (docs untouched)")
    parser.add_argument("--profile", type=int, metavar="N", help="instead: py-spy the server with N echo sessions")
    parser.add_argument("--no-docs", action="store_true", help="print results without writing docs/")
    args = parser.parse_args()
    if (code := rerun_in_namespace(__file__)) is not None:
        return code
    if args.profile:
        (DOCS / "bench").mkdir(parents=True, exist_ok=True)
        samples, raws = [], []
        for round_ in range(args.rounds):
            raws.append(DOCS / "bench" / f"media_profile_{args.profile}_{round_}.txt")
            samples.append(measure_echo(args.profile, args.seconds, profile=raws[-1]))
            cores = samples[-1]["server_cpu_per_s"]
            say(f"profiled {args.profile} session(s), round {round_}: server {cores:.2f} cores")
        command = "python scripts/bench/bench_media.py " + " ".join(sys.argv[1:])
        text = profile_text(args.profile, samples, raws, command.strip())
        print(text)
        if not args.no_docs:
            write_section("media-profile", text)
        return 0
    codec: list[dict] = []
    echo: list[dict] = []
    recorder: list[dict] = []
    if args.only in (None, "codec"):
        codec = measure_codec(args.rounds, args.seconds)
    if args.only in (None, "echo"):
        for n in range(1, args.max_sessions + 1):
            runs = []
            for round_ in range(args.rounds):
                sample = measure_echo(n, args.seconds) | {"round": round_}
                runs.append(sample)
                say(
                    f"echo {n} session(s) round {round_}: lowest probe {sample['min_fps']:.1f} fps, "
                    f"RTT p50 {sample['rtt_p50_ms']:.0f} ms p99 {sample['rtt_p99_ms']:.0f} ms, "
                    f"server {sample['server_cpu_per_s']:.2f} cores, probes {sample['probe_cpu_per_s']:.2f} cores"
                )
            echo += runs
            if med([s["min_fps"] for s in runs]) < MIN_FPS:
                break
    if args.only in (None, "recorder"):
        for round_ in range(args.rounds):
            for p in [int(x) for x in args.participants.split(",")]:
                sample = measure_recorder(p, args.seconds) | {"round": round_}
                recorder.append(sample)
                say(
                    f"recorder {p} participants round {round_}: {sample['cpu_per_s']:.2f} cores, "
                    f"{sample['cpu_per_s_per_participant']:.3f} CPU-s/s per participant"
                )
    if args.only:
        print(json.dumps({"codec": codec, "echo": echo, "recorder": recorder}, indent=1))
        return 0
    summary = summarize(codec, echo, recorder)
    command = "python scripts/bench/bench_media.py " + " ".join(sys.argv[1:])
    texts = tables(summary, codec, command.strip())
    for text in texts.values():
        print(text, "\n")
    if not args.no_docs:
        out = DOCS / "bench"
        out.mkdir(parents=True, exist_ok=True)
        raw = {"machine": machine_description(), "codec": codec, "echo": echo, "recorder": recorder}
        (out / "media.json").write_text(json.dumps(raw | {"summary": summary}, indent=1))
        plot(summary, out / "media_echo.png")
        for name, text in texts.items():
            write_section(name, text)
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
