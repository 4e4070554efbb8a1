// The waiting-room board on a TV's browser: the twin of the Qt display (display/model.py for what
// is shown and announced, display/window.py for the layout, display/announcer.py for the voice).
// It follows the centre over the websocket (static/live.js: snapshot, then events in sequence) and
// speaks each call from the server's voice pack with the Web Audio API. Plain browser JavaScript,
// no build step, nothing fetched from outside this server.
"use strict";

(() => {
  const API = "/api/v1";
  const STORAGE_KEY = "hangdoi.board.token";
  const params = new URLSearchParams(location.search);

  // The Qt display's settings (display/settings.py), by query string: ?counters=1,2&fields=HT,CT
  // (only these), ?voice=0 (this screen stays silent), ?recent=5, ?waiting=0, ?highlight=8 (seconds).
  // ?rate= plays the clips faster or slower (Announcer's playback_rate; tests use it to stay quick).
  const COUNTERS = new Set(listOf(params.get("counters")).map(Number).filter((n) => Number.isInteger(n) && n > 0));
  const FIELDS = new Set(listOf(params.get("fields")).map((code) => code.toUpperCase()));
  const VOICE = params.get("voice") !== "0";
  const RECENT = integer(params.get("recent"), 0, 12, 5);
  const SHOW_WAITING = params.get("waiting") !== "0";
  const HIGHLIGHT_SECONDS = number(params.get("highlight"), 0, 600, 8);
  const RATE = number(params.get("rate"), 0.5, 4, 1);
  // DisplaySettings.missed_call_seconds: a call made while the board was away is still said if this recent.
  const MISSED_CALL_SECONDS = 60;
  const BLINK_MS = 500; // display/window.py
  const CLOCK_SYNC_MS = 10 * 60 * 1000;
  const REQUEST_TIMEOUT_MS = 5000;
  // How long a fresh AudioContext may take to start on its own before the board asks for a key press.
  const SOUND_GRACE_MS = 1500;
  const WRONG_KIND = "Mã này không phải của màn hình chờ. Hãy dùng mã thiết bị loại “màn hình chờ”.";
  const NO_WEB_AUDIO = "Trình duyệt này không phát được âm thanh – màn hình không đọc số.";

  const CALL_KINDS = new Set(["ticket.called", "ticket.recalled"]);
  const AT_COUNTER = new Set(["called", "serving"]);
  const WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]; // client/theme.py
  const WEEKDAY_INDEX = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

  const $ = (id) => document.getElementById(id);

  // What the board decided and said, in order: for the installer's console and for the tests
  // (the browser twin of DisplayModel.announce and Announcer.started / clip_played / clip_missing).
  const record = { announced: [], spoken: [], clips: [], missing: [], silent: [], timeline: [] };
  window.HangdoiBoard = record;
  const RECORD_LIMIT = 2000; // a board runs for weeks: keep the latest only

  function remember(list, item) {
    list.push(item);
    if (list.length > RECORD_LIMIT) list.splice(0, list.length - RECORD_LIMIT);
  }

  function listOf(text) {
    return (text || "")
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean);
  }

  function number(text, low, high, fallback) {
    const value = Number(text);
    return text !== null && text !== "" && Number.isFinite(value) ? Math.min(Math.max(value, low), high) : fallback;
  }

  function integer(text, low, high, fallback) {
    return Math.round(number(text, low, high, fallback));
  }

  // --- the device token (static/live.js) --------------------------------------------------------

  const store = (value) => window.HangdoiLive.storeDeviceToken(STORAGE_KEY, value);
  const takeToken = () => window.HangdoiLive.takeDeviceToken(STORAGE_KEY);

  // --- screens ----------------------------------------------------------------------------------

  function show(name) {
    for (const screen of ["connecting", "setup", "board"]) $(`screen-${screen}`).hidden = screen !== name;
    document.body.dataset.screen = name;
  }

  function showSetup(message) {
    if (feed) feed.stop();
    feed = null;
    voice.clear();
    $("setup-error").hidden = !message;
    $("setup-error").textContent = message || "";
    show("setup");
    $("setup-token").focus();
  }

  // --- the server's clock -----------------------------------------------------------------------

  // Server time minus this TV's time. A TV's clock is often wrong; the centre's is the one that counts.
  let clockOffset = 0;
  let clockSynced = false;

  function serverNow() {
    return Date.now() + clockOffset;
  }

  async function fetchWithin(url, options = {}) {
    const abort = typeof AbortController === "function" ? new AbortController() : null;
    const timer = setTimeout(() => abort && abort.abort(), REQUEST_TIMEOUT_MS);
    try {
      return await fetch(url, { ...options, signal: abort ? abort.signal : undefined });
    } finally {
      clearTimeout(timer);
    }
  }

  async function syncClock() {
    try {
      const sent = Date.now();
      const answer = await fetchWithin("/board/time", { cache: "no-store" });
      if (!answer.ok) return;
      const { now } = await answer.json();
      const received = Date.now();
      const at = Date.parse(now);
      if (Number.isFinite(at)) {
        clockOffset = at - (sent + received) / 2;
        clockSynced = true;
        tick();
      }
    } catch (_) {
      // keep the last offset: better than none
    }
  }

  const formatters = new Map();

  function localParts(ms, zone) {
    let format = formatters.get(zone);
    if (format === undefined) {
      try {
        format = new Intl.DateTimeFormat("en-GB", {
          timeZone: zone,
          weekday: "short",
          year: "numeric",
          month: "2-digit",
          day: "2-digit",
          hour: "2-digit",
          minute: "2-digit",
          hourCycle: "h23",
        });
      } catch (_) {
        format = null; // an old TV without time zone data
      }
      formatters.set(zone, format);
    }
    if (format) {
      const parts = {};
      for (const part of format.formatToParts(new Date(ms))) parts[part.type] = part.value;
      return { ...parts, weekday: WEEKDAY_INDEX[parts.weekday] };
    }
    // Viet Nam keeps UTC+7 all year: the right answer for every centre of this system.
    const d = new Date(ms + 7 * 3600 * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return {
      year: String(d.getUTCFullYear()),
      month: pad(d.getUTCMonth() + 1),
      day: pad(d.getUTCDate()),
      hour: pad(d.getUTCHours()),
      minute: pad(d.getUTCMinutes()),
      weekday: (d.getUTCDay() + 6) % 7,
    };
  }

  function tick() {
    const p = localParts(serverNow(), model.centre.timezone || "Asia/Ho_Chi_Minh");
    $("clock").textContent = `${p.hour}:${p.minute}`;
    $("date").textContent = `${WEEKDAYS[p.weekday]}, ${p.day}/${p.month}/${p.year}`;
  }

  // --- the model (display/model.py, rule for rule) ----------------------------------------------

  const model = {
    centre: {},
    fields: new Map(),
    counters: new Map(),
    recent: [],
    // DisplayModel.handled_seq: the highest event sequence number already handled (announced or
    // deliberately skipped); null until the first snapshot.
    handledSeq: null,
  };
  // Sequence numbers already announced: nothing is said twice, whatever arrives.
  const announcedSeqs = new Set();

  function resetModel() {
    model.centre = {};
    model.fields = new Map();
    model.counters = new Map();
    model.recent = [];
    model.handledSeq = null;
    announcedSeqs.clear();
    shown = null;
    $("call-number").textContent = "—";
    $("call-counter").textContent = "";
    $("call-field").textContent = "";
  }

  function callOf(data) {
    return {
      seq: Number(data.seq),
      kind: data.kind,
      at: Date.parse(data.at),
      label: data.ticket_label,
      fieldId: data.field_id,
      counterId: data.counter_id,
      counterNumber: data.counter_number,
    };
  }

  function showsField(fieldId) {
    if (FIELDS.size === 0) return true;
    const field = model.fields.get(fieldId || 0);
    return field !== undefined && FIELDS.has(String(field.code).toUpperCase());
  }

  function showsCounter(counter) {
    if (COUNTERS.size > 0 && !COUNTERS.has(counter.number)) return false;
    return FIELDS.size === 0 || counter.field_ids.some(showsField);
  }

  function showsCall(call) {
    const counter = model.counters.get(call.counterId || 0);
    if (counter !== undefined && !showsCounter(counter)) return false;
    return showsField(call.fieldId);
  }

  function boardCounters() {
    return [...model.counters.values()]
      .filter((c) => c.active && c.state !== "closed" && showsCounter(c))
      .sort((a, b) => a.number - b.number);
  }

  function waitingFields() {
    return [...model.fields.values()]
      .filter((f) => f.active && showsField(f.id))
      .sort((a, b) => a.display_order - b.display_order || a.id - b.id);
  }

  function fieldName(fieldId) {
    const field = model.fields.get(fieldId || 0);
    return field ? String(field.name) : "";
  }

  // DisplayModel.apply_snapshot.
  function applySnapshot(state) {
    model.centre = state.centre;
    model.fields = new Map(state.fields.map((f) => [f.id, f]));
    model.counters = new Map(state.counters.map((c) => [c.id, c]));
    const calls = state.recent_calls.map(callOf).sort((a, b) => a.seq - b.seq);
    const visible = calls.filter(showsCall).reverse();
    model.recent = visible.slice(0, RECENT);
    if (model.handledSeq !== null && Number(state.seq) < model.handledSeq) {
      // The server's history went back (a backup was restored): every number from here is new.
      model.handledSeq = Number(state.seq);
      announcedSeqs.clear();
    }
    if (model.handledSeq !== null) {
      // Back after a disconnection: say the calls made meanwhile, once, oldest first, if recent.
      const missed = calls.filter((call) => call.seq > model.handledSeq && showsCall(call));
      if (missed.length > 0) announceMissed(missed);
    }
    // A board just switched on stays quiet about calls made before it was there.
    model.handledSeq = Math.max(Number(state.seq), model.handledSeq || 0);
    // DisplayWindow.refresh: with no call of its own yet, the big panel shows the latest one, quietly.
    if (shown === null && visible.length > 0) showCall(visible[0], false);
    render();
  }

  // DisplayModel.apply_event.
  function applyEvent(event) {
    const kind = event.kind;
    for (const queue of event.queues || []) {
      const field = model.fields.get(queue.field_id);
      if (field !== undefined) {
        for (const key of ["waiting", "waiting_priority", "open_counters", "wait_minutes"]) field[key] = queue[key];
      }
    }
    const ticket = event.ticket;
    const counter = model.counters.get(event.counter_id || 0);
    if (ticket && counter !== undefined) {
      if (AT_COUNTER.has(ticket.state) && ticket.counter_id === counter.id) {
        counter.current = { id: ticket.id, label: ticket.label, field: { id: ticket.field_id } };
      } else if ((counter.current || {}).id === ticket.id) {
        counter.current = null;
      }
    }
    if (counter !== undefined && kind.startsWith("counter.") && event.to_state) counter.state = event.to_state;
    if (["config.updated", "counter.opened", "counter.closed", "day.started"].includes(kind) && feed) {
      // Names, the fields a counter serves, the voice options, the officer or the day changed
      // (yesterday's calls leave the board): the snapshot has it all.
      feed.requestSnapshot();
    }
    const seq = Number(event.seq);
    const alreadyHandled = model.handledSeq !== null && seq <= model.handledSeq;
    model.handledSeq = Math.max(seq, model.handledSeq || 0);
    if (CALL_KINDS.has(kind) && ticket && !alreadyHandled) {
      const call = {
        seq,
        kind,
        at: Date.parse(event.at),
        label: ticket.label,
        fieldId: ticket.field_id,
        counterId: event.counter_id,
        counterNumber: event.counter_number,
      };
      if (showsCall(call)) {
        model.recent = [call, ...model.recent.filter((c) => c.seq !== call.seq)].slice(0, RECENT);
        inOrder(() => announce(call));
      }
    }
    render();
  }

  // Announcements keep the order of the events, even when the missed calls of a reconnect wait
  // for the server's clock before the calls that follow them.
  let announcing = Promise.resolve();

  function inOrder(step) {
    announcing = announcing.then(step).catch((error) => console.error("board:", error));
  }

  // DisplayModel.apply_snapshot's rule (seq above handledSeq, made at most MISSED_CALL_SECONDS ago),
  // judged by the server's clock, read afresh: the Qt display trusts its PC's clock, a TV's is often wrong.
  function announceMissed(calls) {
    inOrder(async () => {
      await syncClock();
      const cutoff = serverNow() - MISSED_CALL_SECONDS * 1000;
      for (const call of calls) {
        if (call.at >= cutoff) announce(call);
      }
    });
  }

  // DisplayWindow.on_call: show it large, blink, and say it.
  function announce(call) {
    if (announcedSeqs.has(call.seq)) return;
    announcedSeqs.add(call.seq);
    if (announcedSeqs.size > RECORD_LIMIT) {
      // Only recent numbers can come back (handledSeq guards the rest): forget the oldest.
      const oldest = [...announcedSeqs].sort((a, b) => a - b).slice(0, announcedSeqs.size - RECORD_LIMIT);
      for (const seq of oldest) announcedSeqs.delete(seq);
    }
    remember(record.announced, { seq: call.seq, kind: call.kind, label: call.label, counter: call.counterNumber });
    showCall(call, true);
    if (call.counterNumber !== null && call.counterNumber !== undefined) voice.say(call);
  }

  // --- the screen -------------------------------------------------------------------------------

  let shown = null; // DisplayWindow.highlighted: the call in the big panel
  let blinkTimer = null;
  let blinksLeft = 0;

  function showCall(call, fresh) {
    shown = call;
    $("call-number").textContent = call.label;
    $("call-counter").textContent = call.counterNumber ? `ĐẾN QUẦY SỐ ${call.counterNumber}` : "";
    $("call-field").textContent = fieldName(call.fieldId);
    fitCallNumber();
    if (fresh) startBlink();
  }

  function startBlink() {
    clearInterval(blinkTimer);
    const panel = $("call");
    blinksLeft = Math.round((HIGHLIGHT_SECONDS * 1000) / BLINK_MS);
    panel.dataset.fresh = "true";
    panel.classList.add("blink-on");
    blinkTimer = setInterval(() => {
      blinksLeft -= 1;
      const on = !panel.classList.contains("blink-on") && blinksLeft > 0;
      panel.classList.toggle("blink-on", on);
      if (blinksLeft <= 0) {
        clearInterval(blinkTimer);
        panel.classList.remove("blink-on");
        delete panel.dataset.fresh;
      }
    }, BLINK_MS);
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.className = className;
    td.textContent = text;
    return td;
  }

  function render() {
    $("centre-name").textContent = model.centre.name || "";
    setNotice(model.centre.notice_text || "");

    const rows = boardCounters().map((counter) => {
      const tr = document.createElement("tr");
      tr.dataset.counter = String(counter.number);
      const current = counter.current;
      let ticket;
      let field;
      if (counter.state === "paused") {
        ticket = cell("Tạm dừng", "counter-ticket paused");
        field = cell("", "counter-field");
      } else {
        ticket = cell(current ? current.label : "—", "counter-ticket");
        field = cell(fieldName(current ? current.field.id : (counter.field_ids || [null])[0]), "counter-field");
      }
      tr.append(cell(`Quầy ${counter.number}`, "counter-number"), ticket, field);
      return tr;
    });
    $("counter-rows").replaceChildren(...rows);

    $("recent-panel").hidden = RECENT === 0;
    $("recent").replaceChildren(
      ...model.recent.map((call) => {
        const li = document.createElement("li");
        const arrow = document.createElement("span");
        arrow.className = "arrow";
        arrow.textContent = "→";
        li.append(call.label, arrow, `Quầy ${call.counterNumber}`);
        return li;
      }),
    );

    $("waiting-panel").hidden = !SHOW_WAITING;
    if (SHOW_WAITING) {
      $("waiting").replaceChildren(
        ...waitingFields().map((field) => {
          const tr = document.createElement("tr");
          tr.dataset.field = String(field.code);
          tr.append(cell(field.name, "waiting-name"), cell(String(field.waiting), "waiting-count"));
          return tr;
        }),
      );
    }
    layoutColumns();
    tick();
    fitPanels();
  }

  // With a panel hidden by the options, its neighbour takes the whole column.
  function layoutColumns() {
    const right = document.querySelector(".column.right");
    const visible = [$("recent-panel"), $("waiting-panel")].filter((panel) => !panel.hidden).length;
    right.hidden = visible === 0;
    right.style.gridTemplateRows = visible === 2 ? "" : "1fr";
    document.querySelector(".columns").style.gridTemplateColumns = visible === 0 ? "1fr" : "";
  }

  // Many counters or fields: shrink that panel's text until it fits, rather than cut rows off.
  function fitPanels() {
    for (const panel of document.querySelectorAll("#screen-board .panel")) {
      if (panel.hidden) continue;
      let fit = 1;
      panel.style.setProperty("--fit", "1");
      while (panel.scrollHeight > panel.clientHeight + 1 && fit > 0.5) {
        fit -= 0.05;
        panel.style.setProperty("--fit", fit.toFixed(2));
      }
    }
  }

  function fitCallNumber() {
    const numberEl = $("call-number");
    numberEl.style.fontSize = "";
    const room = $("call").clientWidth * 0.94;
    if (room > 0 && numberEl.scrollWidth > room) {
      const size = parseFloat(getComputedStyle(numberEl).fontSize);
      numberEl.style.fontSize = `${Math.floor((size * room) / numberEl.scrollWidth)}px`;
    }
  }

  let noticeText = null;
  let noticeAnimation = null;

  // The notice line: still when it fits, otherwise scrolling right to left (window.py Marquee),
  // followed by a copy of itself so that the line never runs empty.
  function setNotice(text, force = false) {
    if (text === noticeText && !force) return;
    noticeText = text;
    const footer = $("notice");
    const span = $("notice-text");
    const copy = $("notice-copy");
    span.textContent = text;
    copy.textContent = text;
    copy.hidden = true;
    footer.hidden = !text;
    if (noticeAnimation) noticeAnimation.cancel();
    noticeAnimation = null;
    footer.classList.remove("scrolling");
    if (!text || $("screen-board").hidden || typeof span.animate !== "function") return;
    if (span.scrollWidth <= footer.clientWidth) return;
    footer.classList.add("scrolling");
    copy.hidden = false;
    const lap = span.offsetWidth; // the text and the gap after it
    const speed = window.innerHeight * 0.12; // pixels a second: a line read at an easy pace
    noticeAnimation = $("notice-track").animate([{ transform: "translateX(0)" }, { transform: `translateX(${-lap}px)` }], {
      duration: (lap / speed) * 1000,
      iterations: Infinity,
    });
  }

  function setOffline(offline) {
    $("offline").hidden = !offline;
    $("connecting-offline").hidden = !offline;
  }

  // --- the voice (display/announcer.py) ---------------------------------------------------------

  // One announcement at a time: the chime once, then the call `repeat` times, clip after clip,
  // scheduled back to back on one AudioContext. Decoded clips are kept: the same words come back all day.
  class Voice {
    constructor() {
      this.context = null;
      this.buffers = new Map(); // clip URL → Promise<AudioBuffer | null>
      this.queue = [];
      this.busy = false;
      this.sources = [];
      this.packProblem = ""; // no pack, a broken one, missing clips: said discreetly in a corner
      this.packAvailable = null;
      this.settled = false;
    }

    wanted() {
      return VOICE && model.centre.voice_enabled !== false;
    }

    start() {
      if (!VOICE) return;
      const AudioContextClass = window.AudioContext || window.webkitAudioContext;
      if (!AudioContextClass) {
        this.packProblem = NO_WEB_AUDIO;
        this.updateNote();
        return;
      }
      this.context = new AudioContextClass();
      this.context.onstatechange = () => this.updateButton();
      this.wake();
      setTimeout(() => {
        this.settled = true;
        this.updateButton();
      }, SOUND_GRACE_MS);
      // Any key of the remote or a touch counts as the gesture a browser may wait for.
      for (const type of ["keydown", "pointerdown"]) document.addEventListener(type, () => this.wake(), true);
      $("sound-on").addEventListener("click", () => this.wake());
    }

    wake() {
      if (this.context && this.context.state !== "running" && this.context.state !== "closed") {
        this.context.resume().catch(() => {});
      }
    }

    async checkPack() {
      if (!this.context || !this.wanted()) {
        this.updateNote();
        return;
      }
      try {
        const answer = await fetchWithin("/voice/pack", { cache: "no-store" });
        if (!answer.ok) return;
        const pack = await answer.json();
        this.packAvailable = pack.available;
        this.packProblem = pack.message || "";
      } catch (_) {
        return; // unknown for now; the next connection asks again
      }
      this.updateNote();
      this.updateButton();
    }

    updateNote() {
      const note = $("voice-note");
      const text = this.wanted() ? this.packProblem : "";
      note.textContent = text;
      note.hidden = !text;
    }

    updateButton() {
      const button = $("sound-on");
      const blocked =
        this.settled &&
        this.context !== null &&
        this.wanted() &&
        this.packAvailable !== false &&
        this.context.state !== "running";
      const wasHidden = button.hidden;
      button.hidden = !blocked;
      if (blocked && wasHidden && document.body.dataset.screen === "board") button.focus();
    }

    say(call) {
      if (!this.wanted() || !this.context) return;
      const centre = model.centre;
      this.queue.push({
        call,
        repeat: Number.isInteger(centre.voice_repeat) ? Math.min(Math.max(centre.voice_repeat, 1), 5) : 2,
        digitByDigit: centre.voice_digit_by_digit === true,
        oddWord: centre.voice_odd_word === "lẻ" ? "lẻ" : "linh",
      });
      if (!this.busy) this.run();
    }

    clear() {
      this.queue = [];
      for (const source of this.sources) {
        try {
          source.stop();
        } catch (_) {
          // not started yet, or over
        }
      }
    }

    async run() {
      this.busy = true;
      while (this.queue.length > 0) {
        const item = this.queue.shift();
        try {
          await this.play(item);
        } catch (error) {
          console.warn("board: could not say", item.call.label, error);
        }
      }
      this.busy = false;
    }

    async play(item) {
      const { call } = item;
      if (this.context.state !== "running") {
        // Sound is blocked until someone presses the button; the board still shows the call.
        remember(record.silent, call.label);
        this.updateButton();
        return;
      }
      const query = new URLSearchParams({
        label: call.label,
        counter: String(call.counterNumber),
        repeat: String(item.repeat),
        digit_by_digit: String(item.digitByDigit),
        odd_word: item.oddWord,
      });
      const answer = await fetchWithin(`/voice/call?${query}`, { cache: "no-store" });
      if (!answer.ok) throw new Error(`/voice/call answered ${answer.status}`);
      const plan = await answer.json();
      this.packAvailable = plan.available;
      this.packProblem = plan.message || "";
      this.updateNote();
      if (!plan.available) return;
      for (const key of plan.missing) {
        remember(record.missing, key);
        console.warn("board: the voice pack has no clip for", key);
      }
      remember(record.spoken, call.label);
      // Asked for in playing order, each clip once; the repeats come from the cache.
      const pending = plan.clips.map((clip) => ({ key: clip.key, buffer: this.load(clip.url) }));
      const clips = [];
      for (const clip of pending) {
        const buffer = await clip.buffer;
        if (buffer) {
          clips.push({ key: clip.key, buffer });
        } else {
          remember(record.missing, clip.key);
        }
      }
      await this.schedule(call.label, clips);
    }

    load(url) {
      let buffer = this.buffers.get(url);
      if (buffer === undefined) {
        buffer = fetchWithin(url)
          .then((answer) => {
            if (!answer.ok) throw new Error(`${url} answered ${answer.status}`);
            return answer.arrayBuffer();
          })
          // The callback form also works on older TV browsers, where decodeAudioData returns no promise.
          .then((data) => new Promise((resolve, reject) => this.context.decodeAudioData(data, resolve, reject)))
          .catch((error) => {
            console.warn("board: clip skipped:", error);
            this.buffers.delete(url); // asked again next time
            return null;
          });
        this.buffers.set(url, buffer);
      }
      return buffer;
    }

    schedule(label, clips) {
      if (clips.length === 0) return Promise.resolve();
      const context = this.context;
      const from = context.currentTime + 0.05;
      let at = from;
      const sources = clips.map(({ key, buffer }) => {
        const source = context.createBufferSource();
        source.buffer = buffer;
        source.playbackRate.value = RATE;
        source.connect(context.destination);
        source.start(at);
        at += buffer.duration / RATE;
        remember(record.clips, key);
        return source;
      });
      this.sources = sources;
      // On the audio clock: when this announcement starts and ends (and so that it never overlaps another).
      remember(record.timeline, { label, from, to: at });
      const seconds = at - context.currentTime;
      return new Promise((resolve) => {
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(watchdog);
          // A stuck audio device (Announcer's watchdog): stop what is left so nothing ever overlaps.
          for (const source of sources) {
            try {
              source.stop();
            } catch (_) {
              // over already
            }
          }
          this.sources = [];
          resolve();
        };
        const watchdog = setTimeout(finish, (seconds + 8) * 1000);
        sources[sources.length - 1].onended = finish;
      });
    }
  }

  const voice = new Voice();

  // --- the live connection (static/live.js) -----------------------------------------------------

  let token = null;
  let feed = null;

  function connect() {
    if (feed) feed.stop();
    resetModel();
    feed = new window.HangdoiLive.LiveFeed({
      subscribe: { scope: "centre", token },
      onOnline: (online) => setOffline(!online),
      onRefused: (message) => {
        setOffline(false);
        showSetup(message.message);
      },
      onSnapshot: (state) => {
        const first = document.body.dataset.screen !== "board";
        if (first) show("board");
        applySnapshot(state);
        if (first || !clockSynced) syncClock();
        voice.checkPack();
        voice.updateButton();
      },
      onEvent: applyEvent,
    });
    feed.start();
  }

  // The centre feed takes any device of the centre; a board must be a display, so that the admin's
  // list of devices tells the truth and revoking a kiosk never blanks the waiting room.
  async function begin() {
    show("connecting");
    try {
      const answer = await fetchWithin(`${API}/auth/me`, { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
      if (answer.status === 401 || answer.status === 403) {
        let error = {};
        try {
          error = (await answer.json()).error || {};
        } catch (_) {
          // not our JSON
        }
        showSetup(error.message || "Mã thiết bị không hợp lệ hoặc đã bị thu hồi.");
        return;
      }
      if (answer.ok) {
        const me = await answer.json();
        if (me.kind !== "device" || me.role !== "display") {
          showSetup(WRONG_KIND);
          return;
        }
      }
    } catch (_) {
      // The server is not reachable yet (a TV switched on before it): the feed keeps trying.
    }
    connect();
  }

  // --- start --------------------------------------------------------------------------------------

  function start() {
    $("setup-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("setup-token").value.trim();
      if (!value) return;
      token = value;
      store(value);
      $("setup-token").value = "";
      begin();
    });
    const refit = () => {
      fitPanels();
      fitCallNumber();
      setNotice(noticeText || "", true);
    };
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(refit, 200);
    });
    // Text measured before the bundled font arrives was measured in another font.
    if (document.fonts && typeof document.fonts.addEventListener === "function") {
      document.fonts.addEventListener("loadingdone", refit);
    }
    setInterval(tick, 1000);
    setInterval(syncClock, CLOCK_SYNC_MS);
    voice.start();
    token = takeToken();
    if (!token) {
      showSetup("");
      return;
    }
    begin();
  }

  start();
})();
