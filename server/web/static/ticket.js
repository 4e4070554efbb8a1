// The public ticket page on a citizen's phone. The server rendered the current status; this keeps
// it live: it follows the ticket over the websocket (static/live.js) and updates the page from each
// PublicTicketStatus (the snapshot's state, and the "status" of every event about this ticket or
// its field). Plain browser JavaScript, no build step, nothing fetched from outside this server.
"use strict";

(() => {
  // Ticket states after which nothing more happens: the feed is closed, freeing the server.
  const FINAL = new Set(["done", "no_show", "cancelled", "expired"]);
  const ALERT_MS = 5000;
  const VIBRATION = [500, 200, 500, 200, 500];

  const $ = (id) => document.getElementById(id);
  const body = document.body;

  // The code is only in the address ("/t/<code>"): the page itself never contains it.
  const code = (() => {
    try {
      return decodeURIComponent(location.pathname.replace(/^\/t\//, ""));
    } catch (_) {
      return "";
    }
  })();

  // The centre's clock, not the phone's: a visitor's phone may be set to another time zone.
  const clock = (() => {
    const timezone = document.querySelector('meta[name="hangdoi-timezone"]')?.content || "Asia/Ho_Chi_Minh";
    const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    try {
      return new Intl.DateTimeFormat("vi-VN", { ...options, timeZone: timezone });
    } catch (_) {
      // A zone this browser does not know: the centre's default rather than a page that stops.
      return new Intl.DateTimeFormat("vi-VN", { ...options, timeZone: "Asia/Ho_Chi_Minh" });
    }
  })();

  // What the page shows now, read back from the server-rendered page, so the first snapshot only
  // alerts if something changed since the page was rendered.
  let shown = {
    state: body.dataset.state,
    field_name: $("field-name").textContent,
    label: $("label").textContent,
  };
  let feed = null;
  let alertTimer = null;

  function pageTitle(status) {
    if (status.state === "called" && status.counter_number !== null) {
      return `Mời đến Quầy số ${status.counter_number} – Số ${status.label}`;
    }
    return `Số ${status.label} – ${status.state_text}`;
  }

  function labelSize(label) {
    if (label.length <= 4) return "size-s";
    return label.length <= 6 ? "size-m" : "size-l";
  }

  function render(status) {
    body.dataset.state = status.state;
    body.dataset.priority = String(status.priority);
    body.dataset.next = String(status.people_ahead === 0);
    body.dataset.serving = status.now_serving.length ? "some" : "none";
    if (status.state !== "called") delete body.dataset.recalled;

    $("centre-name").textContent = status.centre_name;
    $("field-name").textContent = status.field_name;
    const label = $("label");
    label.textContent = status.label;
    label.className = `number ${labelSize(status.label)}`;
    $("state-text").textContent = status.state_text;
    for (const element of document.querySelectorAll(".counter-no")) {
      element.textContent = status.counter_number === null ? "" : String(status.counter_number);
    }
    $("ahead").textContent = String(status.people_ahead);
    $("wait-minutes").textContent = String(Math.max(status.wait_minutes, 1));
    $("now-serving").textContent = status.now_serving.join(" · ");
    document.title = pageTitle(status);
    document.querySelector('meta[name="theme-color"]').content = status.state === "called" ? "#ffd000" : "#0d3b66";
  }

  function showCalledAt(at) {
    const moment = new Date(at);
    if (Number.isNaN(moment.getTime())) return;
    $("called-at").textContent = clock.format(moment);
    $("called-line").hidden = false;
  }

  // The call must reach someone whose phone is in a pocket or on the table: colour, motion, vibration.
  function alertCall() {
    body.classList.remove("alerting");
    void body.offsetWidth; // restart the pulse when a recall follows a call
    body.classList.add("alerting");
    clearTimeout(alertTimer);
    alertTimer = setTimeout(() => body.classList.remove("alerting"), ALERT_MS);
    if (typeof navigator.vibrate === "function") {
      try {
        navigator.vibrate(VIBRATION);
      } catch (_) {
        // Some browsers refuse without a tap first; the colour change still shows.
      }
    }
    window.scrollTo({ top: 0, behavior: "smooth" });
  }

  function update(status, message) {
    const before = shown;
    const ours = Boolean(message && message.ticket && message.ticket.label === status.label);
    const recalled = ours && message.kind === "ticket.recalled" && status.state === "called";
    render(status);

    if (status.state === "called") {
      if (ours && recalled) showCalledAt(message.at);
      else if (status.called_at) showCalledAt(status.called_at);
      else if (before.state !== "called") $("called-line").hidden = true;
      if (recalled) body.dataset.recalled = "true";
      if (before.state !== "called" || recalled) alertCall();
    }
    if (before.field_name !== status.field_name) {
      $("moved-field").textContent = status.field_name;
      $("moved").hidden = false;
    }
    if (FINAL.has(status.state)) $("moved").hidden = true;
    shown = { state: status.state, field_name: status.field_name, label: status.label };
    if (FINAL.has(status.state)) stopFollowing();
  }

  function stopFollowing() {
    if (feed) feed.stop();
    setOffline(false);
    body.dataset.live = "ended";
  }

  function setOffline(offline) {
    $("offline").hidden = !offline;
    body.classList.toggle("is-offline", offline);
    body.dataset.live = offline ? "off" : "on";
  }

  function notFound() {
    stopFollowing();
    body.dataset.state = "missing";
    document.title = "Không tìm thấy phiếu số thứ tự";
  }

  function start() {
    if (FINAL.has(body.dataset.state)) return; // rendered final already: nothing will change
    feed = new window.HangdoiLive.LiveFeed({
      subscribe: { scope: "ticket", code },
      onSnapshot: (status) => update(status, null),
      onEvent: (message) => {
        // Events of other fields arrive without a status: they change nothing here.
        if (message.status) update(message.status, message);
      },
      onOnline: (online) => setOffline(!online),
      onRefused: (error) => {
        if (error.code === "ticket_not_found") notFound();
        else stopFollowing();
      },
    });
    feed.start();
    // A phone that slept may hold a socket that looks open: a fresh snapshot settles what it shows.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && feed && !feed.stopped) feed.requestSnapshot();
    });
  }

  start();
})();
