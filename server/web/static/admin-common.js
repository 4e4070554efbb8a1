// What every administrator page shares: the sign-in, the header with its navigation and centre
// choice, calls to the JSON API with the admin's token, and small DOM and formatting helpers.
//
//   const session = await HangdoiAdmin.start("dashboard");   // "config" | "dashboard" | "reports"
//   session = {token, me, centres, centre}                   // centre: the CentreOut being managed
//   await HangdoiAdmin.api("/admin/fields", {method: "POST", body: {...}, query: {centre_id: 1}})
//       → parsed JSON (null for 204); throws HangdoiAdmin.ApiError {status, code, message, fields}
//   HangdoiAdmin.onCentreChange(() => …)   // a province administrator picked another centre
//
// A page's HTML has <header id="admin-header"></header> and <main id="admin-main" hidden>…</main>;
// start() shows the sign-in form instead of the page until an administrator has signed in.
"use strict";

(() => {
  const API = "/api/v1";
  const TOKEN_KEY = "hangdoi.admin.token";
  const CENTRE_KEY = "hangdoi.admin.centre";
  const PAGES = [
    { key: "dashboard", href: "/admin/dashboard", label: "Tổng quan" },
    { key: "reports", href: "/admin/reports", label: "Báo cáo" },
    { key: "config", href: "/admin", label: "Cấu hình" },
  ];

  // Words every admin page shows for a counter's state, a device's kind and a kiosk's printer.
  const COUNTER_STATES = {
    open: { text: "Đang mở", tone: "good" },
    paused: { text: "Tạm dừng", tone: "warn" },
    closed: { text: "Đóng", tone: "off" },
  };
  const DEVICE_KINDS = { kiosk: "Máy lấy số", display: "Màn hình chờ", counter_panel: "Màn hình quầy" };
  const PRINTER_STATES = {
    ok: { text: "Bình thường", tone: "good" },
    paper_low: { text: "Sắp hết giấy", tone: "warn" },
    paper_out: { text: "Hết giấy", tone: "bad" },
    cover_open: { text: "Nắp máy in đang mở", tone: "bad" },
    offline: { text: "Máy in mất kết nối", tone: "bad" },
    error: { text: "Máy in lỗi", tone: "bad" },
    "": { text: "Chưa báo", tone: "off" },
  };

  class ApiError extends Error {
    constructor(status, code, message, fields) {
      super(message);
      this.status = status;
      this.code = code;
      this.fields = fields || [];
    }
  }

  const session = { token: null, me: null, centres: [], centre: null };
  const centreListeners = [];

  // --- storage ----------------------------------------------------------------------------------

  function stored(key) {
    try {
      return localStorage.getItem(key);
    } catch (_) {
      return null;
    }
  }

  function store(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch (_) {
      // private mode: kept for this page only
    }
  }

  // --- DOM helpers ------------------------------------------------------------------------------

  // el("td", {className: "num", dataset: {id: 3}}, "text", otherNode)
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  let toastTimer = null;

  function toast(message, bad = false) {
    let box = document.getElementById("admin-toast");
    if (!box) {
      box = el("div", { id: "admin-toast", role: "status" });
      document.body.append(box);
    }
    box.className = bad ? "toast bad" : "toast";
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (box.hidden = true), 4000);
  }

  // --- formatting (always in the centre's time zone, whatever the computer's) --------------------

  function timeZone() {
    return (session.centre && session.centre.timezone) || "Asia/Ho_Chi_Minh";
  }

  function parts(date) {
    const out = {};
    const format = new Intl.DateTimeFormat("en-GB", {
      timeZone: timeZone(),
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    for (const part of format.formatToParts(date)) out[part.type] = part.value;
    return out;
  }

  function formatTime(iso) {
    if (!iso) return "—";
    const p = parts(new Date(iso));
    return `${p.hour}:${p.minute}`;
  }

  function formatDateTime(iso) {
    if (!iso) return "—";
    const p = parts(new Date(iso));
    return `${p.hour}:${p.minute} ${p.day}/${p.month}/${p.year}`;
  }

  // Today in the centre's zone, as YYYY-MM-DD.
  function localToday() {
    const p = parts(new Date());
    return `${p.year}-${p.month}-${p.day}`;
  }

  // 75 → "1 phút 15 giây"; 3900 → "1 giờ 5 phút"
  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} giây`;
    const minutes = Math.floor(s / 60);
    if (minutes < 60) return s % 60 ? `${minutes} phút ${s % 60} giây` : `${minutes} phút`;
    const hours = Math.floor(minutes / 60);
    return minutes % 60 ? `${hours} giờ ${minutes % 60} phút` : `${hours} giờ`;
  }

  // --- the API ------------------------------------------------------------------------------------

  function url(path, query) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
    }
    const text = search.toString();
    return `${API}${path}${text ? "?" + text : ""}`;
  }

  async function request(path, { method = "GET", body, query } = {}) {
    const headers = {};
    if (session.token) headers.Authorization = `Bearer ${session.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let answer;
    try {
      answer = await fetch(url(path, query), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (_) {
      throw new ApiError(0, "offline", "Không kết nối được với máy chủ. Xin kiểm tra mạng rồi thử lại.");
    }
    return answer;
  }

  async function errorOf(answer) {
    let error = {};
    try {
      error = (await answer.json()).error || {};
    } catch (_) {
      // not our JSON: a proxy's page
    }
    const message = error.message || `Máy chủ trả lời lỗi ${answer.status}. Xin thử lại.`;
    return new ApiError(answer.status, error.code || `http_${answer.status}`, message, error.fields);
  }

  async function api(path, options = {}) {
    const answer = await request(path, options);
    if (answer.status === 401 && session.token) {
      // Expired or revoked: sign in again, keeping the page the administrator was on.
      signedOut("Phiên đăng nhập đã hết hạn hoặc đã bị thu hồi. Xin đăng nhập lại.");
      throw await errorOf(answer);
    }
    if (!answer.ok) throw await errorOf(answer);
    if (answer.status === 204) return null;
    return answer.json();
  }

  // A file from the API (an Excel report): fetched with the token, then saved by the browser.
  async function download(path, query, fallbackName) {
    const answer = await request(path, { query });
    if (answer.status === 401 && session.token) signedOut("Phiên đăng nhập đã hết hạn hoặc đã bị thu hồi. Xin đăng nhập lại.");
    if (!answer.ok) throw await errorOf(answer);
    const disposition = answer.headers.get("Content-Disposition") || "";
    const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
    const name = match ? decodeURIComponent(match[1]) : fallbackName;
    const blob = await answer.blob();
    const link = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    return name;
  }

  // --- sign-in ------------------------------------------------------------------------------------

  function signedOut(message) {
    // A modal dialog would sit over the sign-in form.
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
    session.token = null;
    store(TOKEN_KEY, null);
    showSignIn(message);
  }

  function showSignIn(message) {
    const main = document.getElementById("admin-main");
    if (main) main.hidden = true;
    document.getElementById("admin-header").replaceChildren(
      el("div", { className: "brand" }, "hangdoi", el("small", {}, "Quản trị Trung tâm Phục vụ hành chính công")),
    );
    let box = document.getElementById("sign-in");
    if (box) box.remove();
    const error = el("p", { className: "form-error", id: "sign-in-error", role: "alert", hidden: !message }, message || "");
    const username = el("input", { type: "text", id: "sign-in-username", name: "username", autocomplete: "username", required: true });
    const password = el("input", { type: "password", id: "sign-in-password", name: "password", autocomplete: "current-password", required: true });
    const submit = el("button", { type: "submit", className: "primary" }, "Đăng nhập");
    const form = el(
      "form",
      { novalidate: true },
      el("label", { className: "input" }, el("span", { className: "label" }, "Tên đăng nhập"), username),
      el("label", { className: "input" }, el("span", { className: "label" }, "Mật khẩu"), password),
      error,
      submit,
    );
    box = el("section", { className: "sign-in", id: "sign-in" }, el("h1", {}, "Đăng nhập quản trị"), form);
    document.body.append(box);
    username.focus();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const shown = (text) => {
        error.textContent = text;
        error.hidden = false;
      };
      if (!username.value.trim() || !password.value) {
        shown("Xin nhập tên đăng nhập và mật khẩu.");
        return;
      }
      submit.disabled = true;
      try {
        const answer = await request("/auth/login", { method: "POST", body: { username: username.value.trim(), password: password.value } });
        if (!answer.ok) throw await errorOf(answer);
        const login = await answer.json();
        if (login.officer.role !== "admin") {
          session.token = login.token;
          await request("/auth/logout", { method: "POST" }).catch(() => null);
          session.token = null;
          shown("Tài khoản này không có quyền quản trị. Cán bộ làm việc tại quầy dùng ứng dụng quầy.");
          return;
        }
        session.token = login.token;
        store(TOKEN_KEY, login.token);
        location.reload();
      } catch (problem) {
        shown(problem.message);
        password.value = "";
        password.focus();
      } finally {
        submit.disabled = false;
      }
    });
  }

  async function signOut() {
    try {
      await api("/auth/logout", { method: "POST" });
    } catch (_) {
      // signed out here anyway
    }
    signedOut("Đã đăng xuất.");
  }

  // --- header and centre ------------------------------------------------------------------------

  function renderHeader(pageKey) {
    const nav = el(
      "nav",
      { "aria-label": "Trang quản trị" },
      PAGES.map((page) => el("a", { href: page.href, "aria-current": page.key === pageKey ? "page" : null }, page.label)),
    );
    let centrePart;
    if (session.me.centre_id === null && session.centres.length > 0) {
      const select = el(
        "select",
        { id: "centre-select", "aria-label": "Trung tâm" },
        session.centres.map((centre) => el("option", { value: centre.id, selected: centre.id === session.centre.id }, centre.name)),
      );
      select.addEventListener("change", () => {
        session.centre = session.centres.find((c) => c.id === Number(select.value)) || session.centre;
        store(CENTRE_KEY, String(session.centre.id));
        for (const listener of centreListeners) listener(session.centre);
      });
      centrePart = select;
    } else {
      centrePart = el("span", { className: "centre-name" }, session.centre ? session.centre.name : "");
    }
    document.getElementById("admin-header").replaceChildren(
      el("div", { className: "brand" }, "hangdoi"),
      nav,
      el(
        "div",
        { className: "who" },
        centrePart,
        el("span", { id: "admin-name" }, session.me.name),
        el("button", { type: "button", className: "small", id: "sign-out", onclick: signOut }, "Đăng xuất"),
      ),
    );
  }

  async function refreshCentres() {
    session.centres = await api("/admin/centres");
    const wanted = session.centre ? session.centre.id : Number(stored(CENTRE_KEY));
    session.centre = session.centres.find((c) => c.id === wanted) || session.centres[0] || null;
    return session.centre;
  }

  async function start(pageKey) {
    session.token = stored(TOKEN_KEY);
    if (!session.token) {
      showSignIn("");
      return new Promise(() => {}); // the page waits; a successful sign-in reloads it
    }
    try {
      session.me = await api("/auth/me");
      if (session.me.role !== "admin") {
        signedOut("Tài khoản này không có quyền quản trị.");
        return new Promise(() => {});
      }
      await refreshCentres();
    } catch (problem) {
      if (problem.status !== 401) showSignIn(problem.message);
      return new Promise(() => {});
    }
    renderHeader(pageKey);
    document.getElementById("admin-main").hidden = false;
    return session;
  }

  window.HangdoiAdmin = {
    COUNTER_STATES,
    DEVICE_KINDS,
    PRINTER_STATES,
    ApiError,
    api,
    download,
    el,
    toast,
    start,
    signOut,
    refreshCentres,
    onCentreChange: (listener) => centreListeners.push(listener),
    session,
    timeZone,
    formatTime,
    formatDateTime,
    formatDuration,
    localToday,
  };
})();
