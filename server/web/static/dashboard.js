// The live dashboard a centre's head keeps open all morning: people waiting per field, how long the
// longest has waited, every counter and whom it serves, the last calls, and the devices' health.
// It follows the centre over the websocket (static/live.js): a snapshot, then events in sequence,
// with no reload. Plain browser JavaScript, no build step, nothing fetched from outside this server.
"use strict";

(() => {
  const A = window.HangdoiAdmin;
  const { el } = A;
  const params = new URLSearchParams(location.search);

  // Device presence is not an event on the websocket (a device's heartbeat only touches its row),
  // so the device list is fetched again this often. ?devices_every= (seconds) exists for tests.
  const DEVICES_EVERY_SECONDS = bounded(params.get("devices_every"), 15, 1, 300);
  const PROMPTED_LOAD_GAP_MS = 3000; // see loadDevicesSoon
  // Waits grow with no event to announce it: the durations on screen are redrawn this often.
  const TICK_MS = 5000;
  // Opening hours begin and end, and the service day turns, with no event either: a fresh
  // snapshot this often shows which fields take numbers now.
  const RESYNC_MS = 60000;
  // A snapshot asked for and never answered (the socket died meanwhile) must not block the next.
  const SNAPSHOT_GIVE_UP_MS = 10000;
  // A field whose longest wait reaches these many minutes is shown as a concern / a problem.
  const WAIT_WARN_MINUTES = 15;
  const WAIT_BAD_MINUTES = 30;
  // A field with less than this share of its daily numbers left is flagged before it runs out.
  const FEW_NUMBERS_SHARE = 0.1;

  const { COUNTER_STATES, DEVICE_KINDS, PRINTER_STATES } = window.HangdoiAdmin;
  const WEEKDAYS = ["Chủ nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy"];
  const SIGNED_OUT_CODES = new Set(["not_authenticated", "invalid_token"]);

  const $ = (id) => document.getElementById(id);

  const view = {
    state: null, // the last CentreState, with the events since applied to its fields
    devices: null, // DeviceOut[] of the centre, active ones only; null until first fetched
    devicesError: "",
    devicesAt: 0, // Date.now() of the last successful device fetch
    online: false,
    refusal: "", // why the server will not follow this centre for this admin
  };

  // The server's clock minus this browser's, in ms. Waits are measured against the server's time
  // (a ticket's issued time is the server's); each event says when it happened, which is the
  // server's clock a few milliseconds ago. Until the first event, the browser's own clock is used,
  // but never earlier than the latest moment the snapshot mentions.
  let clockOffset = 0;
  // The clock on screen waits for an event: a computer whose own clock is wrong would otherwise
  // show a wrong time of day to the whole room.
  let clockLearned = false;
  let everOnline = false;

  let session = null;
  let feed = null;
  let snapshotPending = false;
  let snapshotGiveUp = null;
  let devicesTimer = null;
  let devicesLoading = false;
  let lastPromptedLoad = 0;
  let promptedLoad = null;

  function bounded(text, fallback, low, high) {
    const value = Number(text);
    if (text === null || !Number.isFinite(value) || value <= 0) return fallback;
    return Math.min(Math.max(value, low), high);
  }

  // --- the server's time --------------------------------------------------------------------------

  function serverNow() {
    return Date.now() + clockOffset;
  }

  function learnTime(iso) {
    const moment = Date.parse(iso || "");
    if (Number.isFinite(moment)) {
      clockOffset = moment - Date.now();
      clockLearned = true;
    }
  }

  function notBefore(iso) {
    const moment = Date.parse(iso || "");
    if (Number.isFinite(moment) && moment - Date.now() > clockOffset) clockOffset = moment - Date.now();
  }

  function sinceMs(iso) {
    const moment = Date.parse(iso || "");
    return Number.isFinite(moment) ? Math.max(0, serverNow() - moment) : null;
  }

  // A wall screen needs minutes, not seconds: 45 s → "dưới 1 phút"; 3900 s → "1 giờ 5 phút".
  function minutesText(ms) {
    const minutes = Math.floor(ms / 60000);
    if (minutes < 1) return "dưới 1 phút";
    if (minutes < 60) return `${minutes} phút`;
    const hours = Math.floor(minutes / 60);
    return minutes % 60 ? `${hours} giờ ${minutes % 60} phút` : `${hours} giờ`;
  }

  function dayText(isoDay) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDay || "");
    if (!match) return "";
    const weekday = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))).getUTCDay();
    return `${WEEKDAYS[weekday]}, ${match[3]}/${match[2]}/${match[1]}`;
  }

  function nowIso() {
    return new Date(serverNow()).toISOString();
  }

  // --- the live feed ------------------------------------------------------------------------------

  function startFeed() {
    if (feed) feed.stop();
    feed = null;
    view.state = null;
    view.online = false;
    everOnline = false;
    view.refusal = "";
    $("offline").hidden = true;
    setSnapshotPending(false);
    render();
    if (!session.centre) return;
    const mine = new window.HangdoiLive.LiveFeed({
      subscribe: { scope: "centre", token: session.token, centre_id: session.centre.id },
      onSnapshot: (state) => feed === mine && applySnapshot(state),
      onEvent: (message) => feed === mine && applyEvent(message),
      onOnline: (online) => feed === mine && setOnline(online),
      onRefused: (error) => feed === mine && refused(error),
    });
    feed = mine;
    mine.start();
  }

  function setSnapshotPending(pending) {
    snapshotPending = pending;
    clearTimeout(snapshotGiveUp);
    if (pending) snapshotGiveUp = setTimeout(() => (snapshotPending = false), SNAPSHOT_GIVE_UP_MS);
  }

  // One snapshot at a time: every event that arrives while it is on its way is already in it.
  function refresh() {
    if (!feed || snapshotPending || !view.online) return;
    setSnapshotPending(true);
    feed.requestSnapshot();
  }

  function applySnapshot(state) {
    setSnapshotPending(false);
    view.state = state;
    learnTime(state.now);
    for (const field of state.fields) notBefore(field.longest_waiting_since);
    for (const counter of state.counters) {
      if (counter.current) {
        notBefore(counter.current.called_at);
        notBefore(counter.current.started_at);
      }
    }
    for (const call of state.recent_calls) notBefore(call.at);
    view.refusal = "";
    render();
  }

  function applyEvent(message) {
    const state = view.state;
    if (!state) return;
    learnTime(message.at);
    // Every event carries the queues it changed: applied at once, no round trip.
    for (const queue of message.queues || []) {
      const field = fieldById(queue.field_id);
      if (!field) continue;
      field.waiting = queue.waiting;
      field.waiting_priority = queue.waiting_priority;
      field.open_counters = queue.open_counters;
      field.wait_minutes = queue.wait_minutes;
      if ("waiting_since" in queue) field.longest_waiting_since = queue.waiting_since;
    }
    const kind = message.kind || "";
    if (kind === "ticket.issued") {
      const field = fieldById(message.field_id);
      // The last number of the day closes the field: the server says so in words.
      if (field && field.remaining_today <= 1) refresh();
      else if (field) {
        field.issued_today += 1;
        field.remaining_today -= 1;
      }
      // A kiosk just printed a number: if the list does not show every kiosk on, it is out of date.
      const kiosks = (view.devices || []).filter((d) => d.kind === "kiosk");
      if (kiosks.length === 0 || kiosks.some((d) => !d.online)) loadDevicesSoon();
    }
    // A device added, renamed or revoked: its row changes now rather than at the next round.
    if (kind === "config.updated" && (message.data || {}).what === "device") loadDevicesSoon();
    // A counter opened, paused, called, finished…; names or settings changed; a new day began
    // (today's figures start again): the snapshot has the whole picture (officer, current ticket,
    // recent calls) in one answer.
    const atCounter = message.counter_id !== null && message.counter_id !== undefined;
    if (kind === "config.updated" || kind === "day.started" || kind.startsWith("counter.") || atCounter) refresh();
    render();
  }

  function setOnline(online) {
    view.online = online;
    everOnline = everOnline || online;
    if (!online) setSnapshotPending(false);
    $("offline").hidden = online;
    render();
  }

  function refused(error) {
    if (SIGNED_OUT_CODES.has(error.code)) {
      // The token is no longer valid: admin-common shows the sign-in form on the 401.
      A.api("/auth/me").catch(() => null);
      return;
    }
    view.refusal = `Không theo dõi được Trung tâm: ${error.message || "máy chủ từ chối."}`;
    render();
  }

  function fieldById(id) {
    return view.state ? view.state.fields.find((f) => f.id === id) || null : null;
  }

  // --- devices ------------------------------------------------------------------------------------

  async function loadDevices() {
    if (!session.centre || devicesLoading) return;
    const centreId = session.centre.id;
    devicesLoading = true;
    try {
      const devices = await A.api("/admin/devices", { query: { centre_id: centreId } });
      if (!session.centre || session.centre.id !== centreId) return; // the admin switched centre meanwhile
      view.devices = devices.filter((d) => d.active);
      for (const device of view.devices) notBefore(device.last_seen_at);
      view.devicesError = "";
      view.devicesAt = Date.now();
    } catch (problem) {
      // The last list stays on screen, marked as not current.
      view.devicesError = `Không tải được danh sách thiết bị: ${problem.message}`;
    } finally {
      devicesLoading = false;
    }
    render();
  }

  // For fetches prompted by events: a broken second kiosk must not turn every issued number into
  // a request, so at most one such fetch every few seconds.
  function loadDevicesSoon() {
    if (promptedLoad !== null) return; // one is already due, and will see this change too
    const wait = Math.max(0, lastPromptedLoad + PROMPTED_LOAD_GAP_MS - Date.now());
    promptedLoad = setTimeout(() => {
      promptedLoad = null;
      lastPromptedLoad = Date.now();
      loadDevices();
    }, wait);
  }

  function startDevices() {
    clearInterval(devicesTimer);
    devicesLoading = false; // a fetch for the previous centre still on its way is dropped when it lands
    view.devices = null;
    view.devicesError = "";
    loadDevices();
    devicesTimer = setInterval(loadDevices, DEVICES_EVERY_SECONDS * 1000);
  }

  // --- what needs attention -----------------------------------------------------------------------

  function longestMs(field) {
    return field.waiting > 0 ? sinceMs(field.longest_waiting_since) : null;
  }

  function waitTone(field) {
    const waited = longestMs(field);
    if (waited === null) return "";
    if (waited >= WAIT_BAD_MINUTES * 60000) return "bad";
    if (waited >= WAIT_WARN_MINUTES * 60000) return "warn";
    return "";
  }

  function fewNumbersLeft(field) {
    const capacity = field.issued_today + field.remaining_today;
    return field.taking_numbers && field.remaining_today > 0 && field.remaining_today < capacity * FEW_NUMBERS_SHARE;
  }

  function fieldTone(field) {
    const tone = waitTone(field);
    if (tone === "bad" || (field.waiting > 0 && field.open_counters === 0)) return "bad";
    if (tone === "warn" || fewNumbersLeft(field)) return "warn";
    return "";
  }

  // A state this page does not know yet (a newer kiosk) is shown as the kiosk said it, as a concern.
  function printerLook(state) {
    return PRINTER_STATES[state] || { text: state, tone: "warn" };
  }

  function printerProblem(device) {
    if (device.kind !== "kiosk") return null;
    const printer = printerLook(device.printer_state);
    return printer.tone === "bad" || printer.tone === "warn" ? printer : null;
  }

  // One line per field and one for the devices that are off, worst first: a wall of red lines
  // saying the same thing twice is read as noise.
  function alerts() {
    const list = [];
    for (const field of activeFields()) {
      const parts = [];
      let tone = waitTone(field);
      if (tone) parts.push(`có người đã chờ ${minutesText(longestMs(field))}`);
      if (field.waiting > 0 && field.open_counters === 0) {
        parts.push(`${field.waiting} người đang chờ nhưng không có quầy nào mở`);
        tone = "bad";
      }
      if (fewNumbersLeft(field)) {
        parts.push(`chỉ còn ${field.remaining_today} số hôm nay`);
        tone = tone || "warn";
      }
      if (parts.length) list.push({ tone, text: `${field.name}: ${parts.join("; ")}.` });
    }
    for (const device of view.devices || []) {
      const printer = printerProblem(device);
      if (printer && device.online) list.push({ tone: printer.tone, text: `${device.name}: ${printer.text}.` });
    }
    const offline = (view.devices || []).filter((d) => !d.online);
    if (offline.length === 1) {
      list.push({ tone: "bad", text: `${offline[0].name} (${kindText(offline[0].kind)}) mất kết nối.` });
    } else if (offline.length > 1) {
      list.push({ tone: "bad", text: `${offline.length} thiết bị mất kết nối: ${offline.map((d) => d.name).join(", ")}.` });
    }
    return [...list.filter((a) => a.tone === "bad"), ...list.filter((a) => a.tone !== "bad")];
  }

  // --- drawing ------------------------------------------------------------------------------------

  function activeFields() {
    if (!view.state) return [];
    return view.state.fields.filter((f) => f.active).sort((a, b) => a.display_order - b.display_order || a.id - b.id);
  }

  function counters() {
    if (!view.state) return [];
    return view.state.counters.filter((c) => c.active).sort((a, b) => a.number - b.number);
  }

  function kindText(kind) {
    return DEVICE_KINDS[kind] || kind;
  }

  function badge(text, tone, attributes = {}) {
    const classes = ["badge", tone, attributes.className].filter(Boolean).join(" ");
    return el("span", { ...attributes, className: classes }, text);
  }

  function render() {
    const state = view.state;
    $("dash-body").hidden = !state;
    $("dash-loading").hidden = Boolean(state) || Boolean(view.refusal);
    $("dash-refused").textContent = view.refusal;
    $("dash-refused").hidden = !view.refusal;
    if (!session.centre) {
      $("dash-loading").textContent = "Chưa có Trung tâm nào để theo dõi.";
      return;
    }
    $("dash-centre").textContent = state ? state.centre.name : session.centre.name;
    $("dash-live").replaceChildren(
      el("span", { className: view.online ? "dot on" : everOnline ? "dot bad" : "dot" }),
      view.online ? "Đang cập nhật trực tiếp" : everOnline ? "Mất kết nối" : "Đang kết nối…",
    );
    if (!state) return;
    $("dash-day").textContent = dayText(state.service_day);
    $("dash-clock").textContent = clockLearned ? A.formatTime(nowIso()) : "";
    renderAlerts();
    renderTotals();
    renderFields();
    renderCalls();
    renderCounters();
    renderDevices();
  }

  function renderAlerts() {
    const list = alerts();
    $("alerts").hidden = list.length === 0;
    $("alerts-list").replaceChildren(...list.map((a) => el("li", { className: `alert ${a.tone}` }, a.text)));
  }

  function tile(id, label, value, note, tone = "") {
    return el(
      "div",
      { className: `tile${tone ? " " + tone : ""}`, id },
      el("span", { className: "tile-label" }, label),
      el("span", { className: "tile-value" }, value),
      el("span", { className: "tile-note" }, note),
    );
  }

  function renderTotals() {
    const fields = activeFields();
    const waiting = fields.reduce((sum, f) => sum + f.waiting, 0);
    const priority = fields.reduce((sum, f) => sum + f.waiting_priority, 0);
    const issued = fields.reduce((sum, f) => sum + f.issued_today, 0);
    const served = fields.reduce((sum, f) => sum + (f.served_today || 0), 0);
    const all = counters();
    const open = all.filter((c) => c.state === "open").length;
    const paused = all.filter((c) => c.state === "paused").length;
    let longest = null;
    for (const field of fields) {
      const waited = longestMs(field);
      if (waited !== null && (longest === null || waited > longest.ms)) longest = { ms: waited, field };
    }
    $("totals").replaceChildren(
      tile("total-waiting", "Đang chờ", String(waiting), priority ? `trong đó ${priority} ưu tiên` : "không có người ưu tiên"),
      tile("total-issued", "Đã cấp số hôm nay", String(issued), "phiếu số thứ tự"),
      tile("total-served", "Đã phục vụ xong", String(served), "hôm nay"),
      tile("total-open", "Quầy đang mở", `${open}/${all.length}`, paused ? `${paused} quầy tạm dừng` : "không có quầy tạm dừng"),
      longest
        ? tile("total-longest", "Chờ lâu nhất", minutesText(longest.ms), longest.field.name, waitTone(longest.field))
        : tile("total-longest", "Chờ lâu nhất", "—", "không có ai đang chờ"),
    );
  }

  function renderFields() {
    const rows = activeFields().map((field) => {
      const waited = longestMs(field);
      const tone = fieldTone(field);
      const estimate = field.wait_minutes > 0 ? `khoảng ${field.wait_minutes} phút` : "Không phải chờ";
      let numbers;
      if (!field.taking_numbers) numbers = badge(field.closed_reason || "Không cấp số", "off", { className: "closed-reason" });
      else if (fewNumbersLeft(field)) numbers = badge(`Còn ${field.remaining_today} số`, "warn");
      else numbers = el("span", {}, `Còn ${field.remaining_today} số`);
      return el(
        "tr",
        { dataset: { fieldId: field.id }, className: tone ? `row-${tone}` : null },
        el(
          "td",
          { className: "field-name" },
          field.name,
          el("span", { className: "issued muted" }, `Đã cấp ${field.issued_today} số · đã xong ${field.served_today || 0}`),
        ),
        el(
          "td",
          { className: "num" },
          el("span", { className: "waiting" }, String(field.waiting)),
          field.waiting_priority ? el("span", { className: "priority" }, `${field.waiting_priority} ưu tiên`) : null,
        ),
        el(
          "td",
          {},
          waited === null
            ? el("span", { className: "longest muted" }, "—")
            : badge(minutesText(waited), waitTone(field), { className: "longest" }),
        ),
        el("td", { className: "estimate" }, estimate),
        el(
          "td",
          { className: "num" },
          field.waiting > 0 && field.open_counters === 0
            ? badge("0", "bad", { className: "open" })
            : el("span", { className: "open" }, String(field.open_counters)),
        ),
        el("td", { className: "numbers" }, numbers),
      );
    });
    $("fields-body").replaceChildren(...rows);
    if (rows.length === 0) {
      $("fields-body").append(el("tr", {}, el("td", { colspan: 6, className: "empty" }, "Trung tâm chưa có lĩnh vực nào.")));
    }
  }

  function renderCalls() {
    // The snapshot may hold every call of the last minutes (for screens that missed some): the ten latest.
    const calls = [...view.state.recent_calls].sort((a, b) => b.seq - a.seq).slice(0, 10);
    const list = $("calls-list");
    if (calls.length === 0) {
      list.replaceChildren(el("li", { className: "empty" }, "Hôm nay chưa có lượt gọi nào."));
      return;
    }
    list.replaceChildren(
      ...calls.map((call) => {
        const field = fieldById(call.field_id);
        return el(
          "li",
          { className: "call" },
          el("span", { className: "call-time" }, A.formatTime(call.at)),
          el("span", { className: "call-label" }, call.ticket_label),
          el("span", { className: "call-where" }, call.counter_number ? `Quầy số ${call.counter_number}` : "—"),
          el("span", { className: "call-field muted" }, field ? field.name : ""),
          call.kind === "ticket.recalled" ? badge("Gọi lại", "warn") : null,
        );
      }),
    );
  }

  function currentTicket(counter) {
    const ticket = counter.current;
    if (!ticket) {
      return el("p", { className: "current none muted" }, counter.state === "closed" ? "Không làm việc" : "Chưa phục vụ ai");
    }
    const serving = ticket.state === "serving";
    // Serving: since the citizen reached the counter; called: since the call, still awaited.
    const since = serving ? ticket.started_at || ticket.called_at : ticket.called_at;
    const waited = sinceMs(since);
    return el(
      "div",
      { className: "current" },
      el(
        "div",
        { className: "current-main" },
        el("span", { className: "ticket-label" }, ticket.label),
        el(
          "span",
          { className: "ticket-field" },
          ticket.field.name,
          ticket.priority_group ? el("span", { className: "badge" }, "Ưu tiên") : null,
        ),
      ),
      el(
        "p",
        { className: "ticket-since" },
        `${serving ? "Đang phục vụ" : "Đã mời"} ${waited === null ? "" : minutesText(waited)}`.trim(),
        el("span", { className: "muted" }, ` (từ ${A.formatTime(since)})`),
      ),
    );
  }

  // "Quầy 1" under "Quầy số 1" says nothing; a real name ("Quầy tiếp nhận hồ sơ đất đai") does.
  function ownName(counter) {
    const name = (counter.name || "").trim();
    return new RegExp(`^quầy\\s*(số\\s*)?${counter.number}$`, "i").test(name) ? "" : name;
  }

  function renderCounters() {
    const names = new Map(view.state.fields.map((f) => [f.id, f.name]));
    const cards = counters().map((counter) => {
      const look = COUNTER_STATES[counter.state] || { text: counter.state, tone: "" };
      const officer = counter.officer;
      return el(
        "article",
        { className: `counter-card state-${counter.state}`, id: `counter-${counter.number}`, dataset: { counterId: counter.id } },
        el(
          "div",
          { className: "counter-top" },
          el("h3", {}, `Quầy số ${counter.number}`),
          badge(look.text, look.tone, { className: "counter-state" }),
        ),
        ownName(counter) ? el("p", { className: "counter-name muted" }, ownName(counter)) : null,
        el(
          "p",
          { className: "officer" },
          officer
            ? [
                el("span", { className: "officer-name" }, officer.full_name),
                officer.phone ? el("span", { className: "officer-phone muted" }, officer.phone) : null,
              ]
            : el("span", { className: "muted" }, "Chưa có cán bộ"),
        ),
        currentTicket(counter),
        el("p", { className: "counter-fields muted" }, counter.field_ids.map((id) => names.get(id)).filter(Boolean).join(", ")),
      );
    });
    $("counters-list").replaceChildren(...cards);
    if (cards.length === 0) $("counters-list").append(el("p", { className: "empty" }, "Trung tâm chưa có quầy nào."));
  }

  // Today's sightings show the time only; older ones the date too. "Today" is the server's
  // service day, whatever this computer's calendar says.
  function lastSeenText(iso) {
    if (!iso) return "Chưa kết nối lần nào";
    const [day, month, year] = A.formatDateTime(iso).split(" ")[1].split("/");
    return `${year}-${month}-${day}` === view.state.service_day ? A.formatTime(iso) : A.formatDateTime(iso);
  }

  function renderDevices() {
    const body = $("devices-body");
    const error = $("devices-error");
    error.textContent = view.devicesError;
    error.hidden = !view.devicesError;
    $("devices-note").textContent = view.devicesAt
      ? `Cập nhật mỗi ${DEVICES_EVERY_SECONDS} giây`
      : "";
    if (view.devices === null) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 5, className: "empty" }, "Đang tải danh sách thiết bị…")));
      return;
    }
    if (view.devices.length === 0) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 5, className: "empty" }, "Trung tâm chưa có thiết bị nào.")));
      return;
    }
    const numbers = new Map(view.state.counters.map((c) => [c.id, c.number]));
    body.replaceChildren(
      ...view.devices.map((device) => {
        const printer = device.kind === "kiosk" ? printerLook(device.printer_state) : null;
        const problem = !device.online || (printer && printer.tone === "bad");
        const worry = printer && printer.tone === "warn";
        const counterNumber = device.counter_id ? numbers.get(device.counter_id) : null;
        return el(
          "tr",
          { dataset: { deviceId: device.id, kind: device.kind }, className: problem ? "row-bad" : worry ? "row-warn" : null },
          el(
            "td",
            {},
            el("span", { className: "device-name" }, device.name),
            counterNumber ? el("span", { className: "muted" }, ` · Quầy số ${counterNumber}`) : null,
          ),
          el("td", { className: "device-kind" }, kindText(device.kind)),
          el(
            "td",
            { className: "device-online" },
            el("span", { className: device.online ? "dot on" : "dot bad" }),
            device.online ? "Trực tuyến" : el("strong", { className: "offline-text" }, "Mất kết nối"),
          ),
          el("td", { className: "device-seen" }, lastSeenText(device.last_seen_at)),
          el(
            "td",
            { className: "device-printer" },
            printer ? badge(printer.text, printer.tone) : el("span", { className: "muted" }, "—"),
          ),
        );
      }),
    );
  }

  // --- start --------------------------------------------------------------------------------------

  async function main() {
    session = await A.start("dashboard");
    A.onCentreChange(() => {
      startFeed();
      startDevices();
    });
    startFeed();
    startDevices();
    setInterval(render, TICK_MS);
    setInterval(refresh, RESYNC_MS);
  }

  document.addEventListener("DOMContentLoaded", main);
})();
