// The rating tablet at a counter. It follows the counter over the websocket (snapshot, then
// events in sequence) and, when the counter finishes a ticket, asks the citizen to rate the visit.
// Plain browser JavaScript, no build step, nothing fetched from outside this server.
"use strict";

(() => {
  const API = "/api/v1";
  const STORAGE_KEY = "hangdoi.rating.token";
  const params = new URLSearchParams(location.search);
  // ?timeout= and ?thanks= (seconds) exist for tests and for centres that want other times.
  const ANSWER_SECONDS = positive(params.get("timeout"), 60);
  const THANKS_SECONDS = positive(params.get("thanks"), 5);
  const MESSAGE_SECONDS = 6;
  const RETRY_FOR_MS = 20000;
  const REASON_MAX = 500;

  // Colours and faces by meaning, so a level keeps its look on a 3-, 4- or 5-level scale.
  const LOOKS = {
    "Rất hài lòng": { colour: "#1d7a58", mood: 1 },
    "Hài lòng": { colour: "#2f6f9f", mood: 0.55 },
    "Bình thường": { colour: "#8c7322", mood: 0 },
    "Không hài lòng": { colour: "#bb5a35", mood: -0.55 },
    "Rất không hài lòng": { colour: "#93343a", mood: -1 },
  };

  const $ = (id) => document.getElementById(id);

  let token = null;
  let feed = null; // the LiveFeed following the counter
  let state = null; // the counter snapshot (CounterStateOut)
  let flow = null; // the rating being asked: {ticketId, label, fieldName, level, key, body, sending}
  let flowTimer = null;
  let screenTimer = null;

  function positive(text, fallback) {
    const value = Number(text);
    return text !== null && Number.isFinite(value) && value > 0 ? value : fallback;
  }

  // --- the device token -------------------------------------------------------------------------

  const store = (value) => window.HangdoiLive.storeDeviceToken(STORAGE_KEY, value);
  const takeToken = () => window.HangdoiLive.takeDeviceToken(STORAGE_KEY);

  // --- screens ----------------------------------------------------------------------------------

  const SCREENS = ["connecting", "setup", "idle", "levels", "reason", "thanks", "message"];

  function show(name) {
    for (const screen of SCREENS) $(`screen-${screen}`).hidden = screen !== name;
    document.body.dataset.screen = name;
  }

  function current() {
    return document.body.dataset.screen;
  }

  function setOffline(offline) {
    $("offline").hidden = !offline;
  }

  function showSetup(message) {
    if (feed) feed.stop();
    endFlow();
    $("setup-error").hidden = !message;
    $("setup-error").textContent = message || "";
    show("setup");
    $("setup-token").focus();
  }

  function renderIdle() {
    if (!state) return;
    const counter = state.counter;
    $("idle-counter").textContent = `Quầy số ${counter.number}`;
    $("idle-officer").textContent = counter.officer
      ? `Cán bộ: ${counter.officer.full_name}`
      : "Quầy hiện chưa có cán bộ làm việc";
    const status = counter.state === "paused" ? "Quầy đang tạm dừng, xin ông/bà vui lòng chờ trong giây lát." : "";
    $("idle-status").textContent = status;
    $("idle-status").hidden = !status;
  }

  function goIdle() {
    endFlow();
    if (state) {
      renderIdle();
      show("idle");
    } else {
      show("connecting");
    }
  }

  // --- the live connection (static/live.js) -----------------------------------------------------

  function connect() {
    if (feed) feed.stop();
    feed = new window.HangdoiLive.LiveFeed({
      subscribe: { scope: "counter", token },
      onOnline: (online) => setOffline(!online),
      onRefused: refusal,
      onSnapshot: (snapshot) => {
        state = snapshot;
        renderIdle();
        if (["connecting", "setup"].includes(current())) show("idle");
      },
      onEvent: receive,
    });
    feed.start();
  }

  // Credentials refused: reconnecting will not help, the installer must give a valid token.
  function refusal(message) {
    setOffline(false);
    // A kiosk's or a display's token names no counter: say what is needed instead of "no counter".
    const text =
      message.code === "counter_not_found"
        ? "Mã thiết bị này không gắn với quầy nào. Hãy dùng mã của một “màn hình quầy”."
        : message.message;
    showSetup(text);
  }

  function receive(message) {
    if (state === null) return;
    const ours = message.counter_id === state.counter.id;
    if (message.kind === "config.updated" || (ours && message.kind.startsWith("counter."))) {
      // The officer, the counter's state or the centre's scale may have changed.
      feed.requestSnapshot();
    }
    if (ours && message.kind === "ticket.finished" && message.ticket) {
      ask(message.ticket);
    } else if (message.kind === "ticket.rated" && flow && !flow.sending && message.ticket && message.ticket.id === flow.ticketId) {
      thank(); // rated elsewhere (the officer's app): nothing left to ask
    }
  }

  // --- asking for the rating --------------------------------------------------------------------

  function fieldName(fieldId) {
    const field = (state.fields || []).find((f) => f.id === fieldId);
    return field ? field.name : "";
  }

  function ticketLine(f) {
    return f.fieldName ? `Số ${f.label} · ${f.fieldName}` : `Số ${f.label}`;
  }

  function ask(ticket) {
    if (!state.rating_scale || state.rating_scale.length === 0) return;
    endFlow();
    const f = { ticketId: ticket.id, label: ticket.label, fieldName: fieldName(ticket.field_id), level: null, key: null, body: null, sending: false };
    flow = f;
    if (!f.fieldName) lookUpField(f);
    renderLevels();
    show("levels");
    restartFlowTimer();
  }

  // A ticket transferred here from a field this counter does not serve: its name is not in the snapshot.
  async function lookUpField(f) {
    try {
      const answer = await fetch(`${API}/tickets/${f.ticketId}`, { headers: { Authorization: `Bearer ${token}` } });
      if (!answer.ok) return;
      const ticket = await answer.json();
      if (flow !== f) return;
      f.fieldName = ticket.field.name;
      $("levels-ticket").textContent = ticketLine(f);
    } catch (_) {
      // the number alone is shown
    }
  }

  function face(mood) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 100 100");
    svg.setAttribute("aria-hidden", "true");
    const add = (name, attributes) => {
      const node = document.createElementNS(ns, name);
      for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
      svg.appendChild(node);
    };
    add("circle", { cx: 50, cy: 50, r: 44, fill: "none", stroke: "#fff", "stroke-width": 7 });
    add("circle", { cx: 35, cy: 40, r: 6, fill: "#fff" });
    add("circle", { cx: 65, cy: 40, r: 6, fill: "#fff" });
    const line = { fill: "none", stroke: "#fff", "stroke-width": 7, "stroke-linecap": "round" };
    if (mood >= 0.9) {
      add("path", { d: "M 27 57 Q 50 92 73 57 Z", fill: "#fff", stroke: "#fff", "stroke-width": 4, "stroke-linejoin": "round" });
    } else if (mood <= -0.9) {
      add("path", { d: "M 30 74 Q 50 52 70 74", ...line });
      add("path", { d: "M 24 33 L 42 26", ...line, "stroke-width": 6 });
      add("path", { d: "M 76 33 L 58 26", ...line, "stroke-width": 6 });
    } else {
      const y = 66 - mood * 4;
      add("path", { d: `M 30 ${y} Q 50 ${y + mood * 22} 70 ${y}`, ...line });
    }
    return svg;
  }

  function renderLevels() {
    $("levels-ticket").textContent = ticketLine(flow);
    const box = $("levels");
    box.replaceChildren();
    $("screen-levels").classList.remove("busy");
    state.rating_scale.forEach((level, index) => {
      const look = LOOKS[level.label] || { colour: "#52606d", mood: 1 - (2 * index) / Math.max(state.rating_scale.length - 1, 1) };
      const button = document.createElement("button");
      button.type = "button";
      button.className = "level";
      button.dataset.level = String(level.level);
      button.style.setProperty("--level-colour", look.colour);
      button.append(face(look.mood));
      const text = document.createElement("span");
      text.textContent = level.label;
      button.append(text);
      button.addEventListener("click", () => choose(level, button));
      box.append(button);
    });
  }

  function choose(level, button) {
    const f = flow;
    if (!f || f.sending) return;
    if (level.asks_reason) {
      f.level = level;
      renderReasons();
      show("reason");
      restartFlowTimer();
      return;
    }
    button.classList.add("chosen");
    submit(f, level.level, "", $("screen-levels"));
  }

  function renderReasons() {
    const box = $("reasons");
    box.replaceChildren();
    $("screen-reason").classList.remove("busy");
    $("reason-send").classList.remove("chosen");
    $("reason-text").value = "";
    for (const reason of state.rating_reasons || []) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.setAttribute("aria-pressed", "false");
      const tick = document.createElement("span");
      tick.className = "box";
      const text = document.createElement("span");
      text.textContent = reason;
      chip.append(tick, text);
      chip.dataset.reason = reason;
      chip.addEventListener("click", () => {
        if (!flow || flow.sending) return;
        chip.setAttribute("aria-pressed", chip.getAttribute("aria-pressed") === "true" ? "false" : "true");
        restartFlowTimer();
      });
      box.append(chip);
    }
  }

  function reasonText() {
    const chosen = [...$("reasons").querySelectorAll('.chip[aria-pressed="true"]')].map((chip) => chip.dataset.reason);
    const typed = $("reason-text").value.replace(/\s+/g, " ").trim();
    if (typed) chosen.push(typed);
    return chosen.join("; ").slice(0, REASON_MAX);
  }

  function newKey() {
    // crypto.randomUUID needs a secure context; a centre's LAN is often plain http.
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "rating-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function submit(f, level, reason, screen) {
    if (f.sending) return; // a double tap sends one rating
    f.sending = true;
    screen.classList.add("busy");
    stopFlowTimer();
    const body = JSON.stringify({ ticket_id: f.ticketId, level, reason });
    // One key per rating, the same on every retry: the server answers a retry with the first result.
    if (f.body !== body) {
      f.key = newKey();
      f.body = body;
    }
    const deadline = Date.now() + RETRY_FOR_MS;
    let outcome = null;
    while (outcome === null) {
      try {
        const answer = await fetch(`${API}/counters/${state.counter.id}/rating`, {
          method: "POST",
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "Idempotency-Key": f.key },
          body,
        });
        if (answer.ok) {
          outcome = { thanks: true };
          break;
        }
        let error = {};
        try {
          error = (await answer.json()).error || {};
        } catch (_) {
          // not our JSON (a proxy's page)
        }
        if (answer.status === 409 && error.code === "already_rated") {
          outcome = { thanks: true };
        } else if (answer.status >= 500 && Date.now() < deadline) {
          await sleep(1000);
        } else {
          outcome = { message: error.message || "Chưa gửi được đánh giá. Xin ông/bà vui lòng báo cán bộ tại quầy." };
        }
      } catch (_) {
        if (Date.now() >= deadline) {
          outcome = { message: "Chưa gửi được đánh giá vì mất kết nối với máy chủ. Xin ông/bà thông cảm." };
        } else {
          await sleep(1000);
        }
      }
    }
    if (flow !== f) return; // another ticket was finished meanwhile
    if (outcome.thanks) thank();
    else tell(outcome.message);
  }

  function thank() {
    endFlow();
    show("thanks");
    screenTimer = setTimeout(goIdle, THANKS_SECONDS * 1000);
  }

  function tell(message) {
    endFlow();
    $("message-text").textContent = message;
    show("message");
    screenTimer = setTimeout(goIdle, MESSAGE_SECONDS * 1000);
  }

  function endFlow() {
    flow = null;
    stopFlowTimer();
    clearTimeout(screenTimer);
  }

  function stopFlowTimer() {
    clearTimeout(flowTimer);
    for (const id of ["screen-levels", "screen-reason"]) $(id).classList.remove("timing");
  }

  // No answer in time: back to the greeting, quietly; nothing is stored.
  function restartFlowTimer() {
    stopFlowTimer();
    const screen = $(`screen-${current()}`);
    void screen.offsetWidth; // restart the CSS countdown
    screen.classList.add("timing");
    const f = flow;
    flowTimer = setTimeout(() => {
      if (flow === f && !f.sending) goIdle();
    }, ANSWER_SECONDS * 1000);
  }

  // --- start --------------------------------------------------------------------------------------

  function start() {
    document.documentElement.style.setProperty("--answer-seconds", `${ANSWER_SECONDS}s`);
    $("setup-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("setup-token").value.trim();
      if (!value) return;
      token = value;
      store(value);
      $("setup-token").value = "";
      show("connecting");
      connect();
    });
    $("reason-back").addEventListener("click", () => {
      if (!flow || flow.sending) return;
      renderLevels();
      show("levels");
      restartFlowTimer();
    });
    $("reason-send").addEventListener("click", () => {
      const f = flow;
      if (!f || f.sending || !f.level) return;
      $("reason-send").classList.add("chosen");
      submit(f, f.level.level, reasonText(), $("screen-reason"));
    });
    $("reason-text").addEventListener("input", () => {
      if (flow && !flow.sending) restartFlowTimer();
    });
    token = takeToken();
    if (!token) {
      showSetup("");
      return;
    }
    show("connecting");
    connect();
  }

  start();
})();
