// The lobby: remember the name, pick or generate a room, and show the live room list (protocol `rooms`).
import { io } from "/vendor/socket.io/socket.io.esm.min.js";

const nameInput = document.getElementById("name");
const roomInput = document.getElementById("room");
const list = document.getElementById("room-list");

nameInput.value = localStorage.getItem("noom.name") || "";
nameInput.addEventListener("change", () => localStorage.setItem("noom.name", nameInput.value.trim()));

function randomRoom() {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return "r" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function goTo(room) {
  const name = nameInput.value.trim();
  if (name) localStorage.setItem("noom.name", name);
  location.href = "/r/" + encodeURIComponent(room);
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
    li.textContent = "No rooms yet: start one.";
    list.append(li);
    return;
  }
  for (const { room, count, locked } of rooms) {
    const li = document.createElement("li");
    const link = document.createElement("a");
    link.href = "/r/" + encodeURIComponent(room);
    link.textContent = room;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `${count} ${count === 1 ? "person" : "people"}${locked ? " · 🔒" : ""}`;
    li.append(link, meta);
    list.append(li);
  }
}

// The server says which transports it accepts (websocket only when several workers share the port).
const transports = (document.body.dataset.socketTransports || "websocket,polling").split(",");
const socket = io({ transports });
socket.on("rooms", ({ rooms }) => render(rooms));
socket.on("connect", () => socket.emit("rooms", {}, (ack) => ack.ok && render(ack.rooms)));
