// The lobby: remember the name, pick or generate a room, and show the live room list (protocol `rooms`).
import "./catalog.js";
import { t } from "./i18n.js";
import { randomRoom, roomPath } from "./joining.js";
import { connectClient } from "./socket.js";
import { el, icon } from "./ui.js";

const nameInput = document.getElementById("name");
const roomInput = document.getElementById("room");
const list = document.getElementById("room-list");

nameInput.value = localStorage.getItem("noom.name") || "";
nameInput.addEventListener("change", () => localStorage.setItem("noom.name", nameInput.value.trim()));

function goTo(room) {
  const name = nameInput.value.trim();
  if (name) localStorage.setItem("noom.name", name);
  location.href = roomPath(room, name);
}

document.getElementById("random-room").addEventListener("click", () => { roomInput.value = randomRoom(); });
document.getElementById("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  goTo(roomInput.value.trim());
});

function render(rooms) {
  list.replaceChildren();
  if (!rooms.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = t("lobby.no_rooms");
    list.append(li);
    return;
  }
  for (const { room, count, locked } of rooms) {
    const link = el(
      "a",
      { href: roomPath(room), class: "room-link" },
      el("span", { class: "room-name", text: room }),
      el(
        "span",
        { class: "meta" },
        locked ? el("span", { class: "locked", title: t("lobby.password_protected") }, icon("lock", "small"), t("lobby.password")) : null,
        el("span", { class: "count", title: t("lobby.in_call", { count }) }, icon("users", "small"), String(count)),
      ),
    );
    list.append(el("li", {}, link));
  }
}

const client = connectClient();
client.on("rooms", ({ rooms }) => render(rooms));
client.on("connect", async () => {
  const ack = await client.request("rooms", {});
  if (ack.ok) render(ack.rooms);
});
