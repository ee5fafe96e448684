// The demo dashboard: one pane per home, live over server-sent events, no framework.
"use strict";

const KIND_TEXT = {
  thinking_of_you: "thinking of you",
  celebrate: "proud of you",
  need_you: "I need you",
  felt_it: "felt it",
  shared_moment: "a shared moment",
};
const FEED_SIZE = 6; // the newest signals; older ones move to the history list
const HISTORY_PAGE = 10;
const AWAY_FROM_M = 100; // a button further than this from its hub is "away"
const REFRESH_MS = 5000;
const STATS_REFRESH_MS = 30000;
const SVG_NS = "http://www.w3.org/2000/svg";

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

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// --- times, in the reader's words ----------------------------------------------------------

function clockTime(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function ago(iso) {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return `${Math.round(seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString([], { day: "numeric", month: "short" });
}

function duration(seconds) {
  const minutes = Math.round(seconds / 60);
  if (minutes < 1) return "under a minute";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function shortDate(date) {
  return date.toLocaleDateString([], { day: "numeric", month: "short" });
}

// --- signals: the live feed and the history ------------------------------------------------

function describe(signal) {
  const what = KIND_TEXT[signal.kind] || signal.kind;
  return signal.direction === "sent" ? `You sent “${what}”` : `${signal.sender}: “${what}”`;
}

function fateText(signal) {
  if (signal.fate === "delivered" && signal.channel) return `delivered · ${signal.channel}`;
  return signal.fate;
}

function signalItem(signal) {
  const item = el("li");
  item.dataset.id = signal.id;
  const line = el("div", "line");
  line.append(el("span", "what"), el("span", "fate"));
  item.append(line, el("p", "meta"));
  fillSignal(item, signal);
  return item;
}

function fillSignal(item, signal) {
  item.dataset.direction = signal.direction;
  item.dataset.fate = signal.fate;
  item.querySelector(".what").textContent = describe(signal);
  const fate = item.querySelector(".fate");
  fate.textContent = fateText(signal);
  fate.className = `fate ${signal.fate}`;
  // Held and failed signals say why, in the hub's own words (a hold names its release time).
  const meta = item.querySelector(".meta");
  const why = signal.fate === "held" || signal.fate === "failed" ? signal.reason : "";
  meta.textContent = why ? `${clockTime(signal.created_at)} · ${why}` : clockTime(signal.created_at);
  meta.classList.toggle("reason", Boolean(why));
  if (signal.reason) fate.title = signal.reason;
}

function renderSignal(pane, signal) {
  const existing = pane.querySelector(`li[data-id="${CSS.escape(signal.id)}"]`);
  if (existing) {
    fillSignal(existing, signal);
    return;
  }
  const feed = pane.querySelector(".feed");
  feed.prepend(signalItem(signal));
  while (feed.children.length > FEED_SIZE) {
    pane.querySelector(".history-list").prepend(feed.lastElementChild);
    pane.querySelector(".history-end").textContent = "";
  }
  pane.querySelector(".feed-empty").hidden = true;
}

async function loadHistory(home, pane, state) {
  const want = FEED_SIZE + state.historyShown;
  const signals = await api(`/${home.id}/api/signals?limit=${want}`);
  const list = pane.querySelector(".history-list");
  list.replaceChildren(...signals.slice(FEED_SIZE).map(signalItem));
  const everything = signals.length < want;
  pane.querySelector(".older").hidden = everything;
  const end = pane.querySelector(".history-end");
  end.textContent = everything ? (list.children.length ? "That is everything." : "Nothing older yet.") : "";
}

// --- charts: inline SVG bars, drawn here -------------------------------------------------

function niceMax(value) {
  if (value <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function formatValue(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

// series: [{name, cls, values}], labels: one per group. Draws into the <svg>'s 320×130 viewBox.
function barChart(target, series, labels, unit) {
  const [width, height, left, right, top, bottom] = [320, 130, 26, 4, 14, 20];
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const groupW = plotW / Math.max(1, labels.length);
  const barW = (groupW * 0.72) / series.length;
  const parts = [];
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotH * (1 - fraction);
    parts.push(svg("line", { class: "grid", x1: left, x2: width - right, y1: y, y2: y }));
    parts.push(svg("text", { class: "tick", x: left - 4, y: y + 3, "text-anchor": "end" }, formatValue(max * fraction)));
  }
  labels.forEach((label, i) => {
    const x0 = left + i * groupW + groupW * 0.14;
    series.forEach((s, j) => {
      const value = s.values[i] || 0;
      const h = (value / max) * plotH;
      const x = x0 + j * barW;
      const bar = svg("rect", { class: `bar ${s.cls}`, x, y: top + plotH - h, width: Math.max(1, barW - 2), height: h, rx: 2 });
      bar.append(svg("title", {}, `${label}: ${formatValue(value)} ${unit} ${s.name}`.trim()));
      parts.push(bar);
      if (value > 0) {
        parts.push(svg("text", { class: "value", x: x + (barW - 2) / 2, y: top + plotH - h - 3, "text-anchor": "middle" }, formatValue(value)));
      }
    });
    parts.push(svg("text", { class: "label", x: left + (i + 0.5) * groupW, y: height - 6, "text-anchor": "middle" }, label));
  });
  if (max === 1 && series.every((s) => s.values.every((v) => !v))) {
    parts.push(svg("text", { class: "empty", x: left + plotW / 2, y: top + plotH / 2, "text-anchor": "middle" }, `no ${unit} yet`));
  }
  target.replaceChildren(...parts);
  const spoken = labels.map((label, i) => `${label}: ${series.map((s) => `${formatValue(s.values[i] || 0)} ${s.name}`.trim()).join(", ")}`);
  target.setAttribute("aria-label", `${unit} per week. ${spoken.join("; ")}`);
}

function weekStarts(stats) {
  const first = new Date(`${stats.first_day}T00:00:00`);
  return stats.together_hours_by_week.map((_, i) => new Date(first.getTime() + i * 7 * 86400000));
}

function touchesByWeek(signals, starts) {
  const sent = starts.map(() => 0);
  const received = starts.map(() => 0);
  for (const signal of signals) {
    const t = new Date(signal.created_at).getTime();
    for (let i = starts.length - 1; i >= 0; i -= 1) {
      if (t >= starts[i].getTime()) {
        (signal.direction === "sent" ? sent : received)[i] += 1;
        break;
      }
    }
  }
  return { sent, received };
}

async function refreshStats(home, pane) {
  const [stats, signals] = await Promise.all([
    api(`/${home.id}/api/stats`),
    api(`/${home.id}/api/signals?limit=1000`),
  ]);
  const starts = weekStarts(stats);
  const labels = starts.map(shortDate);
  barChart(pane.querySelector(".together-chart svg"), [{ name: "", cls: "together", values: stats.together_hours_by_week }], labels, "hours together");
  const touches = touchesByWeek(signals, starts);
  barChart(
    pane.querySelector(".touches-chart svg"),
    [
      { name: "sent", cls: "sent", values: touches.sent },
      { name: "received", cls: "received", values: touches.received },
    ],
    labels,
    "touches",
  );
  pane.querySelector(".summary").replaceChildren(...stats.summary.map((line) => el("li", "", line)));
}

// --- presence, buttons, health, the simulated device ---------------------------------------

async function refreshPresence(home, pane) {
  const presence = await api(`/${home.id}/api/presence`);
  pane.querySelector(".people").replaceChildren(
    ...presence.people.map((person) => {
      const heard = person.devices > 0 && (person.present || person.since);
      const item = el("li", !heard ? "unknown" : person.present ? "present" : "absent");
      item.dataset.person = person.person;
      let text;
      if (person.devices === 0) text = `${person.person}: not tracked by this hub`;
      else if (person.present) text = `${person.person} is home${person.since ? ` since ${clockTime(person.since)}` : ""}`;
      else if (person.since) text = `${person.person} is away since ${clockTime(person.since)}`;
      else text = `${person.person}: not heard yet`;
      item.textContent = text;
      return item;
    }),
  );
  const sessions = presence.sessions_today.map((s) => {
    const until = s.left_at ? clockTime(s.left_at) : "now";
    const length = s.duration_s === null ? "" : ` · ${duration(s.duration_s)}`;
    return el("li", s.left_at ? "" : "open", `${s.person}: ${clockTime(s.arrived_at)} – ${until}${length}`);
  });
  if (!sessions.length) sessions.push(el("li", "empty", "No one has come home yet today."));
  pane.querySelector(".sessions").replaceChildren(...sessions);
}

async function refreshButtons(home, pane) {
  const buttons = await api(`/${home.id}/api/buttons`);
  const items = buttons.map((button) => {
    const item = el("li");
    item.dataset.address = button.address;
    const name = el("span", "name", `${button.owner}'s button`);
    const address = el("small", "address", ` ${button.address}`);
    const battery = el("span", "battery");
    if (button.battery === null) {
      battery.textContent = "battery: not reported yet";
    } else {
      const meter = el("meter");
      Object.assign(meter, { min: 0, max: 100, low: 20, high: 50, optimum: 100, value: button.battery });
      battery.append(meter, ` ${button.battery} %`);
      battery.classList.toggle("low", button.battery <= 20);
    }
    const seen = el("span", "seen", button.last_seen ? `seen ${ago(button.last_seen)}` : "not heard yet");
    if (button.rssi !== null) seen.textContent += ` · ${button.rssi} dBm`;
    item.append(name, address, el("br"), battery, " ", seen);
    return item;
  });
  if (!items.length) items.push(el("li", "empty", "No buttons registered."));
  pane.querySelector(".button-list").replaceChildren(...items);
}

async function refreshHealth(home, pane) {
  const health = await api(`/${home.id}/api/health`);
  const line = pane.querySelector(".health");
  line.textContent = `hub: Bluetooth ${health.ble} · relay ${health.relay} · outbox ${health.outbox}`;
  line.dataset.status = health.status;
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
  const where = pane.querySelector(".device-where");
  if (state.distance_m === null) {
    where.textContent = "";
    return;
  }
  const away = state.distance_m > AWAY_FROM_M;
  const metres = state.distance_m >= 1000 ? `${(state.distance_m / 1000).toFixed(1)} km` : `${Math.round(state.distance_m)} m`;
  where.textContent = away ? `away: ${metres} from home` : `at home: ${metres} from the hub`;
  where.classList.toggle("is-away", away);
  const toggle = pane.querySelector(".away-toggle");
  if (!toggle.disabled) toggle.checked = away; // the scripted day moves buttons too
}

// --- settings: one form per home; the hub validates and says what is wrong in one line ------

const GESTURE_KINDS = ["thinking_of_you", "celebrate", "need_you"];

function fillSettings(form, settings) {
  const fields = form.elements;
  fields.timezone.value = settings.timezone;
  fields.quiet_on.checked = settings.quiet_hours !== null;
  fields.quiet_start.value = settings.quiet_hours ? settings.quiet_hours.start : "22:00";
  fields.quiet_end.value = settings.quiet_hours ? settings.quiet_hours.end : "07:00";
  for (const gesture of ["tap", "double_tap", "long_press"]) {
    const select = fields[gesture];
    if (!select.options.length) select.append(...GESTURE_KINDS.map((kind) => new Option(KIND_TEXT[kind], kind)));
    select.value = settings.gesture_meanings[gesture];
  }
  fields.notify.value = settings.notify.join("\n");
  fields.retention_days.value = String(settings.retention_days);
  form.dataset.breakThrough = JSON.stringify(settings.quiet_hours ? settings.quiet_hours.break_through : ["need_you"]);
}

function readSettings(form) {
  const fields = form.elements;
  const days = fields.retention_days.value.trim();
  return {
    timezone: fields.timezone.value.trim(),
    quiet_hours: fields.quiet_on.checked
      ? { start: fields.quiet_start.value.trim(), end: fields.quiet_end.value.trim(), break_through: JSON.parse(form.dataset.breakThrough || '["need_you"]') }
      : null,
    gesture_meanings: { tap: fields.tap.value, double_tap: fields.double_tap.value, long_press: fields.long_press.value },
    notify: fields.notify.value.split("\n").map((line) => line.trim()).filter(Boolean),
    // Not a whole number: send it as typed, so the hub names the setting.
    retention_days: /^-?\d+$/.test(days) ? Number(days) : days,
  };
}

async function saveSettings(home, form) {
  const status = form.querySelector(".settings-status");
  const headers = { "content-type": "application/json" };
  if (cookie("heartline_csrf")) headers["X-CSRF-Token"] = cookie("heartline_csrf");
  const response = await fetch(`/${home.id}/api/settings`, {
    method: "PUT",
    headers,
    credentials: "same-origin",
    body: JSON.stringify(readSettings(form)),
  });
  const body = await response.json().catch(() => ({}));
  if (response.ok) {
    fillSettings(form, body);
    status.textContent = "Saved: applied now.";
    status.className = "settings-status saved";
  } else {
    status.textContent = typeof body.detail === "string" ? body.detail : `not saved (${response.status})`;
    status.className = "settings-status error";
  }
}

async function mountSettings(home, pane) {
  const form = pane.querySelector(".settings-form");
  fillSettings(form, await api(`/${home.id}/api/settings`));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const save = form.querySelector(".save");
    save.disabled = true;
    try {
      await saveSettings(home, form);
    } catch (error) {
      const status = form.querySelector(".settings-status");
      status.textContent = `not saved: ${error.message}`;
      status.className = "settings-status error";
    } finally {
      save.disabled = false;
    }
  });
}

// --- one pane per home ----------------------------------------------------------------

function quietly(task) {
  return task().catch(() => {}); // a refresh that fails waits for the next one
}

async function mount(home) {
  const pane = document.getElementById("home-template").content.firstElementChild.cloneNode(true);
  pane.id = `home-${home.id}`;
  pane.dataset.home = home.id;
  pane.querySelector(".home-name").textContent = home.name;
  pane.querySelector(".device-title").textContent = `${home.person}'s button`;
  document.getElementById("homes").append(pane);
  const state = { historyShown: HISTORY_PAGE };

  const recent = await api(`/${home.id}/api/signals?limit=${FEED_SIZE}`);
  for (const signal of recent.reverse()) renderSignal(pane, signal);

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
  const toggle = pane.querySelector(".away-toggle");
  toggle.addEventListener("change", async () => {
    toggle.disabled = true;
    try {
      await api(`/${home.id}/api/sim/wearables/${home.buttons[0]}/place`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ distance_m: toggle.checked ? 3000 : 2 }),
      });
      await waitForPlace(home, pane, toggle.checked);
    } finally {
      toggle.disabled = false;
    }
  });
  pane.querySelector(".older").addEventListener("click", () => {
    state.historyShown += HISTORY_PAGE;
    quietly(() => loadHistory(home, pane, state));
  });

  let statsTimer = null;
  const events = new EventSource(`/${home.id}/api/events`);
  events.addEventListener("signal", (event) => {
    renderSignal(pane, JSON.parse(event.data).signal);
    quietly(() => refreshDevice(home, pane));
    quietly(() => refreshButtons(home, pane)); // a touch reports battery and "last seen"
    clearTimeout(statsTimer); // a burst of updates redraws the charts once
    statsTimer = setTimeout(() => quietly(() => refreshStats(home, pane)), 1500);
  });
  await Promise.all([
    refreshDevice(home, pane),
    refreshHealth(home, pane),
    quietly(() => refreshPresence(home, pane)),
    quietly(() => refreshButtons(home, pane)),
    quietly(() => refreshStats(home, pane)),
    quietly(() => loadHistory(home, pane, state)),
    quietly(() => mountSettings(home, pane)),
  ]);
  setInterval(() => {
    quietly(() => refreshHealth(home, pane));
    quietly(() => refreshPresence(home, pane));
    quietly(() => refreshButtons(home, pane));
    quietly(() => refreshDevice(home, pane));
  }, REFRESH_MS);
  setInterval(() => quietly(() => refreshStats(home, pane)), STATS_REFRESH_MS);
}

// The move travels over the simulated air; show it once the air has it.
async function waitForPlace(home, pane, away) {
  for (let i = 0; i < 20; i += 1) {
    await refreshDevice(home, pane);
    if (pane.querySelector(".device-where").classList.contains("is-away") === away) return;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

api("/api/homes").then((homes) => Promise.all(homes.map(mount))).catch((error) => {
  document.getElementById("homes").textContent = `The demo is not answering: ${error.message}`;
});
