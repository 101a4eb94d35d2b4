import assert from "node:assert/strict";
import { test } from "node:test";

import { messages, useLanguage } from "./catalog.mjs";
import { refusal, stopRefusal } from "../../web/static/js/authority.js";
import { has, lang, serverText, t, useCatalog } from "../../web/static/js/i18n.js";
import { joinErrorText, roomStatusText } from "../../web/static/js/joining.js";
import { echoProblems, quality } from "../../web/static/js/quality.js";

const placeholders = (message) => new Set([...(typeof message === "object" ? Object.values(message) : [message]).join(" ").matchAll(/\{(\w+)\}/g)].map((m) => m[1]));

test("both catalogs have the same keys and fill the same placeholders", () => {
  const en = messages("en");
  const ko = messages("ko");
  assert.deepEqual(Object.keys(ko).sort(), Object.keys(en).sort());
  for (const key of Object.keys(en)) assert.deepEqual(placeholders(ko[key]), placeholders(en[key]), key);
});

test("t fills placeholders, picks English plural forms, and names a missing key", () => {
  useCatalog({ lang: "en", messages: { hi: "Hello {name}, {name}!", n: { one: "{count} person", other: "{count} people" } } });
  assert.equal(lang(), "en");
  assert.equal(t("hi", { name: "Ana" }), "Hello Ana, Ana!");
  assert.equal(t("hi"), "Hello {name}, {name}!");
  assert.equal(t("n", { count: 1 }), "1 person");
  assert.equal(t("n", { count: 0 }), "0 people");
  assert.equal(t("n", { count: 7 }), "7 people");
  assert.equal(t("absent"), "absent");
  assert.ok(has("hi") && !has("absent") && !has("toString"));
});

test("serverText: the server's own sentence in English, the code's words in Korean", () => {
  useLanguage("en");
  assert.equal(serverText({ code: "busy", message: "the recorder could not start" }), "the recorder could not start");
  assert.equal(serverText({ message: undefined }, "prejoin.declined"), "The host did not let you in.");
  useLanguage("ko");
  assert.equal(serverText({ code: "busy", message: "the recorder could not start" }), messages("ko")["error.busy"]);
  assert.equal(serverText({ message: "The host did not let you in this time." }, "prejoin.declined"), "호스트가 입장을 허락하지 않았어요.");
  assert.equal(serverText({ code: "made-up", message: "as the server says" }), "as the server says");
});

test("the client's words in Korean: join refusals, the room line, host refusals, the quality label", () => {
  useLanguage("ko");
  assert.equal(roomStatusText({ room: "r", count: 1, locked: false }), "1명 통화 중");
  assert.equal(roomStatusText({ room: "r", count: 3, locked: true }), "3명 통화 중 · 비밀번호로 보호됨");
  assert.match(joinErrorText({ code: "room-full", message: "this room already has 8 participants" }), /^회의실이 가득 찼어요/);
  assert.equal(joinErrorText({ code: "not-allowed", message: "the host removed you from this call" }), "지금은 이 통화에 참여할 수 없어요: 호스트에게 문의하세요.");
  assert.equal(joinErrorText({ code: "no-bots", message: "x" }), messages("ko")["error.no-bots"]);
  assert.equal(refusal({ ok: false, error: { code: "not-allowed", message: "x" } }), "호스트만 할 수 있어요.");
  assert.equal(stopRefusal({ recording: { by: "p2", name: "Jo" }, known: true, state: { host: "p1" }, selfId: "p3", nameOf: () => "Jo" }), "호스트나 Jo 님만 녹화를 멈출 수 있어요");
  assert.match(quality({ rtt: 20, loss: 0, fps: 30, state: "connected" }, true).detail, /^연결 좋음: 왕복 20 ms/);
});

test("echoProblems: the bot's sentences in English, Korean words from the problems' names and figures", () => {
  const report = {
    video: { width: 160, height: 120, fps: 4.6 },
    audio: null,
    video_loss_pct: 2.0,
    audio_loss_pct: 12.4,
    problems: ["Your video reaches the server at only 5 frames per second: …", "…", "…", "12% of your packets …"],
    problem_codes: ["low-fps", "low-resolution", "no-audio", "high-loss"],
  };
  useLanguage("en");
  assert.deepEqual(echoProblems(report), report.problems);
  useLanguage("ko");
  assert.deepEqual(echoProblems(report), [
    "영상이 서버에 초당 5프레임밖에 닿지 않아요. 카메라나 프로세서를 쓰는 다른 프로그램을 닫아 주세요.",
    "영상이 서버에 160x120 크기로밖에 닿지 않아요. 연결이나 카메라가 화질을 제한하고 있어요.",
    messages("ko")["echo.problem_no_audio"],
    "서버로 가는 패킷의 12%가 사라지고 있어요. 네트워크가 불안정해요.",
  ]);
  // An older server (no names) or a name this page does not know: the server's own sentences.
  assert.deepEqual(echoProblems({ ...report, problem_codes: undefined }), report.problems);
  assert.deepEqual(echoProblems({ ...report, problem_codes: ["new-kind"] }), report.problems);
});
