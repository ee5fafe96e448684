// The demo dashboard: one pane per home, live over server-sent events, no framework.
"use strict";

const KIND_TEXT = {
  thinking_of_you: "thinking of you",
  celebrate: "proud of you",
  need_you: "I need you",
  felt_it: "felt it",
  shared_moment: "a shared moment",
};

function cookie(name) {
  const match = document.cookie.split("; ").find((part) => part.startsWith(`${name}=`));
  return match ? decodeURIComponent(match.slice(name.length + 1)) : "";
}

async function api(path, options = {}) {
  const method = (options.method || "GET").toUpperCase();
  const headers = { ...(options.headers || {}) };
  // A hub that requires a login also requires its CSRF token on every change.
  if (method !== "GET" && cookie("heartline_csrf")) headers["X-CSRF-Token"] = cookie("heartline_csrf");
  const response = await fetch(path, { ...options, headers, credentials: "same-origin" });
  if (response.status === 401) {
    window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
    throw new Error("login needed");
  }
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.status === 204 ? null : response.json();
}

function describe(signal) {
  const what = KIND_TEXT[signal.kind] || signal.kind;
  return signal.direction === "sent" ? `You sent “${what}”` : `${signal.sender}: “${what}”`;
}

function fateText(signal) {
  if (signal.fate === "delivered" && signal.channel) return `delivered · ${signal.channel}`;
  return signal.fate;
}

function renderSignal(feed, signal) {
  let item = feed.querySelector(`[data-id="${signal.id}"]`);
  if (!item) {
    item = document.createElement("li");
    item.dataset.id = signal.id;
    item.innerHTML = '<span class="what"></span><span class="fate"></span>';
    feed.prepend(item);
  }
  item.dataset.direction = signal.direction;
  item.dataset.fate = signal.fate;
  item.querySelector(".what").textContent = describe(signal);
  const fate = item.querySelector(".fate");
  fate.textContent = fateText(signal);
  fate.className = `fate ${signal.fate}`;
  if (signal.reason) fate.title = signal.reason;
}

async function refreshDevice(home, pane) {
  const button = home.buttons[0];
  const state = await api(`/${home.id}/api/sim/buttons/${button}`);
  const led = pane.querySelector(".led");
  const text = pane.querySelector(".device-state");
  const last = state.outputs[state.outputs.length - 1];
  if (last) {
    const [r, g, b] = last.rgb;
    led.style.background = `rgb(${r}, ${g}, ${b})`;
    led.style.setProperty("--glow", `rgb(${r}, ${g}, ${b})`);
    led.classList.add("glow");
    text.textContent = `buzzed: ${KIND_TEXT[last.pattern] || last.pattern} (${state.outputs.length} so far)`;
  }
}

async function refreshHealth(home, pane) {
  const health = await api(`/${home.id}/api/health`);
  pane.querySelector(".health").textContent = `hub: Bluetooth ${health.ble} · relay ${health.relay} · outbox ${health.outbox}`;
}

async function mount(home) {
  const pane = document.getElementById("home-template").content.firstElementChild.cloneNode(true);
  pane.id = `home-${home.id}`;
  pane.dataset.home = home.id;
  pane.querySelector(".home-name").textContent = home.name;
  pane.querySelector(".device-title").textContent = `${home.person}'s button`;
  document.getElementById("homes").append(pane);
  const feed = pane.querySelector(".feed");
  for (const signal of (await api(`/${home.id}/api/signals?limit=50`)).reverse()) renderSignal(feed, signal);

  for (const control of pane.querySelectorAll(".controls button")) {
    control.addEventListener("click", async () => {
      control.disabled = true;
      try {
        await api(`/${home.id}/api/sim/buttons/${home.buttons[0]}/press`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ gesture: control.dataset.gesture }),
        });
      } finally {
        control.disabled = false;
      }
    });
  }
  pane.querySelector(".away-toggle").addEventListener("change", async (event) => {
    await api(`/${home.id}/api/sim/wearables/${home.buttons[0]}/place`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ distance_m: event.target.checked ? 3000 : 2 }),
    });
  });

  const events = new EventSource(`/${home.id}/api/events`);
  events.addEventListener("signal", (event) => {
    renderSignal(feed, JSON.parse(event.data).signal);
    refreshDevice(home, pane);
  });
  await refreshDevice(home, pane);
  await refreshHealth(home, pane);
  setInterval(() => refreshHealth(home, pane).catch(() => {}), 5000);
}

api("/api/homes").then((homes) => Promise.all(homes.map(mount))).catch((error) => {
  document.getElementById("homes").textContent = `The demo is not answering: ${error.message}`;
});
