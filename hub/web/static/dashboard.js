// One hub's dashboard, live over server-sent events, no framework. Every URL is relative, so the
// page works at "/" on a real hub and at "/{home}/" where the demo mounts a hub.
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
const PAIR_TIMEOUT_S = 60; // how long the hub looks for a button in pairing mode
const SVG_NS = "http://www.w3.org/2000/svg";
const pane = document.getElementById("hub");
// Until the feed is loaded, live signals wait in `pending` (so they land above the loaded ones).
const state = { hub: null, historyShown: HISTORY_PAGE, partnerPresence: null, presence: null, pending: null, buttons: [], listening: {} };

function cookie(name) {
  const match = document.cookie.split("; ").find((part) => part.startsWith(`${name}=`));
  return match ? decodeURIComponent(match.slice(name.length + 1)) : "";
}

// The hub's one-line reason: {"detail": "..."}, or pydantic's list of errors (field: message).
function detailOf(body, status) {
  if (body && typeof body.detail === "string") return body.detail;
  if (body && Array.isArray(body.detail) && body.detail.length) {
    const first = body.detail[0];
    const where = Array.isArray(first.loc) ? first.loc.filter((part) => part !== "body").join(".") : "";
    return where ? `${where}: ${first.msg}` : String(first.msg);
  }
  return `the hub answered ${status}`;
}

function loginRedirect() {
  window.location.assign(`login?next=${encodeURIComponent(window.location.pathname)}`);
}

async function api(path, options = {}) {
  const method = (options.method || "GET").toUpperCase();
  const headers = { ...(options.headers || {}) };
  if (options.json !== undefined) headers["content-type"] = "application/json";
  // A hub that requires a login also requires its CSRF token on every change.
  if (method !== "GET" && cookie("heartline_csrf")) headers["X-CSRF-Token"] = cookie("heartline_csrf");
  const body = options.json !== undefined ? JSON.stringify(options.json) : undefined;
  const response = await fetch(path, { method, headers, body, credentials: "same-origin" });
  if (response.status === 401) {
    loginRedirect();
    throw new Error("login needed");
  }
  if (response.status === 204) return null;
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new Error(detailOf(answer, response.status));
  return answer;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function $(selector) {
  return pane.querySelector(selector);
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
  const text = signal.direction === "sent" ? `You sent “${what}”` : `${signal.sender}: “${what}”`;
  // A touch the button kept while no hub heard it: when it was made ("at 14:02, while away").
  if (!signal.made_at) return text;
  return `${text} at ${clockTime(signal.made_at)}${signal.made_away ? ", while away" : ""}`;
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

// How far along a fate is; the hub's own order (hub/signals/exchange.py), where a fate never
// moves back.
const FATE_RANK = { queued: 0, sent: 1, received: 2, held: 3, delivered: 4, failed: 4 };

// The answer to "Send a touch" and the live stream race: the stream may already have moved the
// line on to sent or delivered when the (older) answer lands. An older copy never moves it back.
function isOlderThanShown(item, signal) {
  const shown = Date.parse(item.dataset.updatedAt);
  const incoming = Date.parse(signal.updated_at);
  if (incoming !== shown) return incoming < shown; // false when either is unreadable
  return (FATE_RANK[signal.fate] ?? 0) < (FATE_RANK[item.dataset.fate] ?? 0);
}

function fillSignal(item, signal) {
  item.dataset.direction = signal.direction;
  item.dataset.fate = signal.fate;
  item.dataset.updatedAt = signal.updated_at;
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

function renderSignal(signal) {
  const existing = pane.querySelector(`li[data-id="${CSS.escape(signal.id)}"]`);
  if (existing) {
    if (!isOlderThanShown(existing, signal)) fillSignal(existing, signal);
    return;
  }
  const feed = $(".feed");
  feed.prepend(signalItem(signal));
  while (feed.children.length > FEED_SIZE) {
    $(".history-list").prepend(feed.lastElementChild);
    $(".history-end").textContent = "";
  }
  $(".feed-empty").hidden = true;
}

async function loadFeed() {
  const recent = await api(`api/signals?limit=${FEED_SIZE}`);
  for (const signal of recent.reverse()) renderSignal(signal);
}

async function loadHistory() {
  const want = FEED_SIZE + state.historyShown;
  const signals = await api(`api/signals?limit=${want}`);
  const list = $(".history-list");
  list.replaceChildren(...signals.slice(FEED_SIZE).map(signalItem));
  const everything = signals.length < want;
  $(".older").hidden = everything;
  $(".history-end").textContent = everything ? (list.children.length ? "That is everything." : "Nothing older yet.") : "";
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

async function refreshStats() {
  const [stats, signals] = await Promise.all([api("api/stats"), api("api/signals?limit=1000")]);
  const starts = weekStarts(stats);
  const labels = starts.map(shortDate);
  barChart($(".together-chart svg"), [{ name: "", cls: "together", values: stats.together_hours_by_week }], labels, "hours together");
  const touches = touchesByWeek(signals, starts);
  barChart(
    $(".touches-chart svg"),
    [
      { name: "sent", cls: "sent", values: touches.sent },
      { name: "received", cls: "received", values: touches.received },
    ],
    labels,
    "touches",
  );
  $(".summary").replaceChildren(...stats.summary.map((line) => el("li", "", line)));
}

// --- presence: this hub's view, and what the partner's hub shares ---------------------------

function personText(person, shared) {
  // Their own hub may have told us where they are (home or away, at their home).
  const told = shared && shared.person === person.person && (shared.present || shared.since);
  const theirHubSays = () => {
    const since = shared.since ? ` since ${clockTime(shared.since)}` : "";
    return { cls: shared.present ? "present shared" : "absent shared", text: `${person.person} is ${shared.present ? "home" : "away"}${since} (their hub says)` };
  };
  if (person.devices === 0) {
    // This hub cannot hear them.
    return told ? theirHubSays() : { cls: "unknown", text: `${person.person}: not tracked by this hub` };
  }
  // One truth: while the hub is confirming a departure it says so, not "home" beside an empty room.
  if (person.state === "leaving") return { cls: "present leaving", text: `${person.person} is leaving…` };
  const since = person.since ? ` since ${clockTime(person.since)}` : "";
  const visitor = person.person === state.hub.partner;
  if (person.present) return { cls: "present", text: visitor ? `${person.person} is here, visiting${since}` : `${person.person} is home${since}` };
  if (visitor && told) return theirHubSays(); // not here: where their own hub says they are
  if (person.since) return { cls: "absent", text: `${person.person} is away since ${clockTime(person.since)}` };
  return { cls: "unknown", text: `${person.person}: not heard yet` };
}

function renderPresence() {
  const presence = state.presence;
  if (!presence) return;
  // The stream's update and the last answer of api/presence: the newer of the two (their seq).
  const live = state.partnerPresence;
  const shared = live && (!presence.partner || live.seq > presence.partner.seq) ? live : presence.partner;
  $(".people").replaceChildren(
    ...presence.people.map((person) => {
      const { cls, text } = personText(person, shared);
      const item = el("li", cls, text);
      item.dataset.person = person.person;
      return item;
    }),
  );
  const sessions = presence.sessions_today.map((s) => {
    const until = s.left_at ? clockTime(s.left_at) : "now";
    const length = s.duration_s === null ? "" : ` · ${duration(s.duration_s)}`;
    return el("li", s.left_at ? "" : "open", `${s.person}: ${clockTime(s.arrived_at)} – ${until}${length}`);
  });
  if (!sessions.length) sessions.push(el("li", "empty", "No one has come home yet today."));
  $(".sessions").replaceChildren(...sessions);
}

async function refreshPresence() {
  state.presence = await api("api/presence");
  renderPresence();
}

// --- buttons: battery, last seen, alerts, pairing and removing ------------------------------

function buttonItem(button) {
  const item = el("li");
  item.dataset.address = button.address;
  item.dataset.id = String(button.id);
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
  item.append(name, address);
  if (button.alert) {
    const badge = el("span", `alert ${button.alert}`, button.alert_text || button.alert.replace("_", " "));
    badge.setAttribute("role", "status");
    item.append(" ", badge);
  }
  const remove = el("button", "remove", "Remove");
  remove.type = "button";
  remove.addEventListener("click", () => removeButton(button, remove));
  item.append(el("br"), battery, " ", seen, " ", remove);
  if (button.listen_period_s) {
    item.append(el("br"), el("small", "listen", listenText(button.listen_period_s)), el("br"), listenControl(button));
  }
  return item;
}

// A sleepy wearable hears the hub only in its listen windows: say what that costs a signal.
function everyText(seconds) {
  return seconds % 60 ? `${seconds} s` : seconds === 60 ? "60 s" : `${seconds / 60} min`;
}

function withinText(seconds) {
  return seconds < 50 ? `about ${seconds} s` : seconds <= 90 ? "about a minute" : seconds < 3600 ? `about ${Math.round(seconds / 60)} minutes` : "about an hour";
}

function listenText(seconds) {
  return `sleeps between listen windows (every ${everyText(seconds)}): a touch reaches it within ${withinText(seconds)}`;
}

// The periods offered, each with its cost; the button's own period is offered too if it is another.
const LISTEN_CHOICES = [30, 60, 300, 900];

function listenChoiceText(seconds) {
  return `every ${everyText(seconds)} · a touch reaches it within ${withinText(seconds)}`;
}

// A new period travels in the button's next listen window, so the answer can take that long; the
// list is redrawn meanwhile, so what is under way is kept in state.listening by button id.
function listenControl(button) {
  const pending = state.listening[button.id];
  const control = el("span", "listen-set");
  const select = el("select");
  select.name = "listen_period";
  select.setAttribute("aria-label", `How often ${button.owner}'s button listens`);
  const choices = new Set([...LISTEN_CHOICES, button.listen_period_s]);
  for (const seconds of [...choices].sort((a, b) => a - b)) {
    const option = el("option", "", listenChoiceText(seconds));
    option.value = String(seconds);
    select.append(option);
  }
  select.value = String(pending ? pending.period : button.listen_period_s);
  const set = el("button", "set-listen", "Set");
  set.type = "button";
  set.disabled = Boolean(pending && pending.kind === "working");
  set.addEventListener("click", () => setListenPeriod(button, Number(select.value)));
  const status = el("small", `listen-status ${pending ? pending.kind : ""}`, pending ? pending.text : "");
  status.setAttribute("role", "status");
  control.append(select, " ", set, " ", status);
  return control;
}

async function setListenPeriod(button, period) {
  state.listening[button.id] = { period, kind: "working", text: "applies at its next listen window…" };
  renderButtons();
  try {
    const changed = await api(`api/buttons/${button.id}/listen_period`, { method: "PUT", json: { period_s: period } });
    const now = changed.listen_period_s;
    state.listening[button.id] = { period: now, kind: "saved", text: `Set: it listens every ${everyText(now)} now.` };
  } catch (error) {
    state.listening[button.id] = { period: button.listen_period_s, kind: "error", text: `Not changed: ${error.message}` };
  }
  await quietly(refreshButtons);
}

function renderButtons() {
  // The partner's buttons are here because their hub shares them (a visit is seen, its touches
  // read); they are their hub's to manage, so they are named, not listed with this home's.
  const mine = state.buttons.filter((button) => button.owner !== state.hub.partner);
  const theirs = state.buttons.filter((button) => button.owner === state.hub.partner);
  const items = mine.map(buttonItem);
  if (!items.length) items.push(el("li", "empty", "No buttons registered."));
  $(".button-list").replaceChildren(...items);
  const shared = $(".shared-buttons");
  shared.textContent = theirs.length
    ? `Known here for ${state.hub.partner}'s visits (their hub shares them): ${theirs.map((button) => button.address).join(", ")}`
    : "";
  shared.hidden = !theirs.length;
}

async function refreshButtons() {
  state.buttons = await api("api/buttons");
  renderButtons();
}

// Two clicks: the first asks, the second removes (no dialog to dismiss on a phone).
async function removeButton(button, control) {
  if (!control.classList.contains("confirm")) {
    control.classList.add("confirm");
    control.textContent = "Remove for good?";
    setTimeout(() => {
      control.classList.remove("confirm");
      control.textContent = "Remove";
    }, 5000);
    return;
  }
  control.disabled = true;
  try {
    await api(`api/buttons/${button.id}`, { method: "DELETE" });
  } catch (error) {
    $(".pair-status").textContent = `Not removed: ${error.message}`;
  }
  await quietly(refreshButtons);
}

function mountPairing() {
  const form = $(".pair-form");
  form.elements.owner.value = state.hub.person;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = $(".pair-status");
    const owner = form.elements.owner.value.trim();
    if (!owner) {
      status.textContent = "Say whose button it is.";
      status.className = "pair-status error";
      return;
    }
    const submit = form.querySelector(".pair");
    submit.disabled = true;
    status.textContent = "Looking for a button in pairing mode… hold its pad 10 s, then let go.";
    status.className = "pair-status working";
    // A button this hub already knows is re-keyed only when asked: the hub refuses it once, and
    // the next Pair (while the button is still in pairing mode) says replace.
    const replace = form.dataset.replace === "yes";
    delete form.dataset.replace;
    try {
      const json = { owner, timeout_s: PAIR_TIMEOUT_S, ...(replace ? { replace: true } : {}) };
      const button = await api("api/buttons/pair", { method: "POST", json });
      status.textContent = `Paired: ${button.owner}'s button ${button.address}.`;
      status.className = "pair-status saved";
      await quietly(refreshButtons);
    } catch (error) {
      if (error.message.includes("already registered")) {
        form.dataset.replace = "yes";
        status.textContent = `Not paired: ${error.message.split(";")[0]}. Press Pair again to replace its key and owner.`;
      } else {
        status.textContent = `Not paired: ${error.message}`;
      }
      status.className = "pair-status error";
    } finally {
      submit.disabled = false;
    }
  });
}

// --- health, the partner's hub ---------------------------------------------------------------

function renderPartnerHub(partner) {
  const line = $(".partner-hub");
  const who = `${state.hub.partner}'s hub`;
  line.hidden = false;
  if (!partner || partner.online === null || partner.online === undefined) {
    line.textContent = `${who}: not heard yet`;
    line.dataset.online = "unknown";
    return;
  }
  const seen = partner.last_seen ? ` · last seen ${ago(partner.last_seen)}` : "";
  line.textContent = `${who}: ${partner.online ? "online" : "offline"}${seen}`;
  line.dataset.online = partner.online ? "yes" : "no";
}

async function refreshHealth() {
  const health = await api("api/health");
  const line = $(".health");
  line.textContent = `hub: Bluetooth ${health.ble} · relay ${health.relay} · outbox ${health.outbox}`;
  line.dataset.status = health.status;
  const reason = $(".health-reason");
  reason.textContent = health.reason || "";
  reason.hidden = !health.reason;
  renderPartnerHub(health.partner);
}

// --- the simulated button (the demo only) ----------------------------------------------------

async function refreshDevice() {
  if (!state.hub.sim || !state.hub.sim.buttons.length) return;
  const deviceState = await api(`api/sim/buttons/${state.hub.sim.buttons[0]}`);
  const led = $(".led");
  const last = deviceState.outputs[deviceState.outputs.length - 1];
  if (last) {
    const [r, g, b] = last.rgb;
    led.style.background = `rgb(${r}, ${g}, ${b})`;
    led.style.setProperty("--glow", `rgb(${r}, ${g}, ${b})`);
    led.classList.add("glow");
    $(".device-state").textContent = `buzzed: ${KIND_TEXT[last.pattern] || last.pattern} (${deviceState.outputs.length} so far)`;
  }
  const where = $(".device-where");
  if (deviceState.distance_m === null) {
    where.textContent = "";
    return;
  }
  const away = deviceState.distance_m > AWAY_FROM_M;
  const metres = deviceState.distance_m >= 1000 ? `${(deviceState.distance_m / 1000).toFixed(1)} km` : `${Math.round(deviceState.distance_m)} m`;
  where.textContent = away ? `away: ${metres} from home` : `at home: ${metres} from the hub`;
  if (away && $(".visit-toggle").checked) where.textContent = `visiting ${state.hub.partner}'s home`;
  where.classList.toggle("is-away", away);
  const toggle = $(".away-toggle");
  if (!toggle.disabled) toggle.checked = away; // the scripted day moves buttons too
}

// The move travels over the simulated air; show it once the air has it.
async function waitForPlace(away) {
  for (let i = 0; i < 20; i += 1) {
    await refreshDevice();
    if ($(".device-where").classList.contains("is-away") === away) return;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

function mountSimulator() {
  const buttonId = state.hub.sim.buttons[0];
  $(".device").hidden = false;
  $(".device-title").textContent = `${state.hub.person}'s button (simulated)`;
  for (const control of pane.querySelectorAll(".controls button")) {
    control.addEventListener("click", async () => {
      control.disabled = true;
      try {
        await api(`api/sim/buttons/${buttonId}/press`, { method: "POST", json: { gesture: control.dataset.gesture } });
      } finally {
        control.disabled = false;
      }
    });
  }
  mountVisit(buttonId);
  const toggle = $(".away-toggle");
  toggle.addEventListener("change", async () => {
    toggle.disabled = true;
    try {
      await api(`api/sim/wearables/${buttonId}/place`, { method: "POST", json: { distance_m: toggle.checked ? 3000 : 2 } });
      await waitForPlace(toggle.checked);
    } finally {
      toggle.disabled = false;
    }
  });
}

// A visit: the button is carried to the partner's home, whose hub knows it (the hubs share
// their people's wearables), so a touch there buzzes the partner's button beside it.
async function mountVisit(buttonId) {
  const homes = await api("../api/homes").catch(() => null); // the demo page's list of homes
  const host = Array.isArray(homes) ? homes.find((home) => home.person === state.hub.partner) : null;
  if (!host) return;
  $(".visit").hidden = false;
  $(".visit-host").textContent = state.hub.partner;
  const visit = $(".visit-toggle");
  visit.addEventListener("change", async () => {
    visit.disabled = true;
    try {
      const json = visit.checked ? { distance_m: 3, at: host.id } : { distance_m: 2 };
      await api(`api/sim/wearables/${buttonId}/place`, { method: "POST", json });
      await waitForPlace(visit.checked);
    } finally {
      visit.disabled = false;
    }
  });
}

// --- sending from the page -------------------------------------------------------------------

function mountSending() {
  for (const control of pane.querySelectorAll(".send-buttons button")) {
    control.addEventListener("click", async () => {
      const status = $(".send-status");
      control.disabled = true;
      try {
        renderSignal(await api("api/signals", { method: "POST", json: { kind: control.dataset.kind } }));
        status.textContent = "";
      } catch (error) {
        status.textContent = `Not sent: ${error.message}`;
      } finally {
        control.disabled = false;
      }
    });
  }
}

// --- settings: the hub validates and says what is wrong in one line ----------------------------

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
  fields.arrived_glow.checked = settings.arrived_glow;
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
    arrived_glow: fields.arrived_glow.checked,
  };
}

async function mountSettings() {
  const form = $(".settings-form");
  fillSettings(form, await api("api/settings"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const save = form.querySelector(".save");
    const status = form.querySelector(".settings-status");
    save.disabled = true;
    try {
      fillSettings(form, await api("api/settings", { method: "PUT", json: readSettings(form) }));
      status.textContent = "Saved: applied now.";
      status.className = "settings-status saved";
    } catch (error) {
      status.textContent = error.message;
      status.className = "settings-status error";
    } finally {
      save.disabled = false;
    }
  });
}

// --- live updates ------------------------------------------------------------------------------

function quietly(task) {
  return task().catch(() => {}); // a refresh that fails waits for the next one
}

function listen() {
  let statsTimer = null;
  let dropped = false;
  const events = new EventSource("api/events");
  events.addEventListener("open", () => {
    $(".live-status").hidden = true;
    if (dropped) quietly(loadFeed); // updates sent while the stream was down
    dropped = false;
  });
  events.addEventListener("error", () => {
    dropped = true;
    $(".live-status").hidden = false;
    // A closed stream is not retried by the browser: usually an expired login.
    if (events.readyState === EventSource.CLOSED) quietly(() => api("api/hub"));
  });
  events.addEventListener("signal", (event) => {
    const signal = JSON.parse(event.data).signal;
    if (state.pending) {
      state.pending.push(signal);
      return;
    }
    renderSignal(signal);
    quietly(refreshDevice);
    quietly(refreshButtons); // a touch reports battery and "last seen"
    clearTimeout(statsTimer); // a burst of updates redraws the charts once
    statsTimer = setTimeout(() => quietly(refreshStats), 1500);
  });
  events.addEventListener("touch", () => quietly(refreshButtons));
  events.addEventListener("button", () => quietly(refreshButtons));
  events.addEventListener("partner_presence", (event) => {
    state.partnerPresence = JSON.parse(event.data).presence;
    renderPresence();
  });
  // The partner's hub came online or went offline: say so at once, not at the next refresh.
  events.addEventListener("partner_hub", (event) => renderPartnerHub(JSON.parse(event.data).partner));
}

async function start() {
  state.hub = await api("api/hub");
  document.title = `Heartline — ${state.hub.name}`;
  $(".home-name").textContent = state.hub.name;
  const csrf = cookie("heartline_csrf"); // only set when this hub asked for a login
  if (csrf) {
    const logout = $(".logout");
    logout.elements.csrf_token.value = csrf;
    logout.hidden = false;
  }
  mountSending();
  mountPairing();
  if (state.hub.sim) mountSimulator();
  $(".older").addEventListener("click", () => {
    state.historyShown += HISTORY_PAGE;
    quietly(loadHistory);
  });
  state.pending = [];
  listen();
  try {
    await loadFeed();
  } finally {
    for (const signal of state.pending) renderSignal(signal);
    state.pending = null;
  }
  pane.dataset.state = "live";
  performance.mark("heartline-feed-filled");
  await Promise.all([
    quietly(refreshDevice),
    quietly(refreshHealth),
    quietly(refreshPresence),
    quietly(refreshButtons),
    quietly(refreshStats),
    quietly(loadHistory),
    quietly(mountSettings),
  ]);
  setInterval(() => {
    quietly(refreshHealth);
    quietly(refreshPresence);
    quietly(refreshButtons);
    quietly(refreshDevice);
  }, REFRESH_MS);
  setInterval(() => quietly(refreshStats), STATS_REFRESH_MS);
}

start().catch((error) => {
  const problem = $(".problem");
  problem.textContent = `This hub is not answering: ${error.message}. Is \`heartline hub\` running?`;
  problem.hidden = false;
});
