// The one live connection of the web pages: the browser twin of client/connection.py.
// Subscribe, take the snapshot, then apply events in sequence order; a gap asks for a fresh
// snapshot (and nothing is applied until it comes, as in client/connection.py); pings are answered; silence or a dropped socket reconnects with a growing delay
// (0.2 s up to 3 s); credentials the server refuses stop it, because retrying cannot help.
"use strict";

(() => {
  // The server pings every heartbeat (15 s by default); this much silence means a dead link.
  const SILENCE_MS = 50000;
  const FIRST_DELAY = 0.2;
  const MAX_DELAY = 3;
  // Error codes that mean "these credentials or this address will never work": stop reconnecting.
  const REFUSALS = new Set([
    "not_authenticated",
    "invalid_token",
    "forbidden",
    "counter_not_found",
    "centre_not_found",
    "ticket_not_found",
  ]);

  class LiveFeed {
    // subscribe: the subscribe message without "type" ({scope, token, centre_id, counter_id, code}).
    // onSnapshot(state, seq), onEvent(message), onOnline(bool), onRefused({code, message}).
    constructor({ subscribe, onSnapshot, onEvent = () => {}, onOnline = () => {}, onRefused = () => {} }) {
      this.subscribe = subscribe;
      this.onSnapshot = onSnapshot;
      this.onEvent = onEvent;
      this.onOnline = onOnline;
      this.onRefused = onRefused;
      this.seq = -1;
      this.ws = null;
      this.delay = FIRST_DELAY;
      this.reconnectTimer = null;
      this.silenceTimer = null;
      this.stopped = true;
      this.resyncing = false;
    }

    start() {
      this.stopped = false;
      this.connect();
    }

    stop() {
      this.stopped = true;
      this.closeSocket();
    }

    requestSnapshot() {
      this.send({ type: "snapshot" });
    }

    send(message) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
    }

    closeSocket() {
      clearTimeout(this.reconnectTimer);
      clearTimeout(this.silenceTimer);
      const old = this.ws;
      this.ws = null;
      if (old) {
        try {
          old.close();
        } catch (_) {
          // already closed
        }
      }
    }

    heard() {
      clearTimeout(this.silenceTimer);
      const socket = this.ws;
      this.silenceTimer = setTimeout(() => {
        // A dead link may take the browser a minute more to call closed: reconnect now.
        if (!socket || socket !== this.ws || this.stopped) return;
        this.onOnline(false);
        this.connect();
      }, SILENCE_MS);
    }

    connect() {
      this.closeSocket();
      this.resyncing = false;
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(`${scheme}//${location.host}/api/v1/ws`);
      let refused = false;
      this.ws = socket;
      socket.onopen = () => {
        this.heard();
        socket.send(JSON.stringify({ type: "subscribe", ...this.subscribe }));
      };
      socket.onmessage = (event) => {
        if (socket !== this.ws) return;
        this.heard();
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (_) {
          return;
        }
        if (message.type === "error") {
          if (REFUSALS.has(message.code)) {
            refused = true;
            this.stopped = true;
            this.onRefused(message);
          }
          return;
        }
        this.receive(message);
      };
      socket.onclose = () => {
        if (socket !== this.ws) return;
        this.ws = null;
        clearTimeout(this.silenceTimer);
        if (refused || this.stopped) return;
        this.onOnline(false);
        this.reconnectTimer = setTimeout(() => this.connect(), this.delay * 1000);
        this.delay = Math.min(this.delay * 2, MAX_DELAY);
      };
    }

    receive(message) {
      if (message.type === "ping") {
        this.send({ type: "pong" });
        return;
      }
      if (message.type === "snapshot") {
        this.resyncing = false;
        this.seq = message.seq;
        this.delay = FIRST_DELAY;
        this.onOnline(true);
        this.onSnapshot(message.state, message.seq);
        return;
      }
      if (message.type !== "event" || this.seq < 0 || this.resyncing) return;
      if (message.seq <= this.seq) return; // already part of the state this page shows
      if (message.seq > this.seq + 1) {
        // Missed some: applying this one would skip the missing calls for good. The snapshot on
        // its way holds them all (a board announces the missed calls from it).
        this.resyncing = true;
        this.requestSnapshot();
        return;
      }
      this.seq = message.seq;
      this.onEvent(message);
    }
  }

  // A device's token (a board, a rating tablet) is given once in the address, `#token=…`: kept in
  // the browser, and taken out of the address bar, the history and any photo of the screen.
  function storeDeviceToken(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch (_) {
      // Private mode: the token lives as long as the page.
    }
  }

  function takeDeviceToken(key) {
    const fromUrl = (new URLSearchParams(location.hash.slice(1)).get("token") || "").trim();
    if (fromUrl) {
      storeDeviceToken(key, fromUrl);
      history.replaceState(null, "", location.pathname + location.search);
      return fromUrl;
    }
    try {
      return localStorage.getItem(key);
    } catch (_) {
      return null;
    }
  }

  window.HangdoiLive = { LiveFeed, storeDeviceToken, takeDeviceToken };
})();
