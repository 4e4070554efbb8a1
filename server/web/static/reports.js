// Báo cáo: the figures of a range of service days (GET /api/v1/reports), drawn as tiles, charts
// (inline SVG drawn here, no library) and tables, with the Excel and CSV exports of the same range.
// How each figure is counted is the server's business (server/services/report_figures.py); this
// page only shows what it answers. Plain browser JavaScript, no build step, nothing from outside.
"use strict";

(() => {
  const A = window.HangdoiAdmin;
  const { el } = A;
  const $ = (id) => document.getElementById(id);
  const SVG_NS = "http://www.w3.org/2000/svg";

  const integer = new Intl.NumberFormat("vi-VN");
  const oneDecimal = new Intl.NumberFormat("vi-VN", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const percent = new Intl.NumberFormat("vi-VN", { style: "percent", maximumFractionDigits: 1 });

  // Colours by label, so a level keeps its colour whatever scale the centre uses.
  const LEVEL_TONES = {
    "Rất hài lòng": "very-good",
    "Hài lòng": "good",
    "Bình thường": "neutral",
    "Không hài lòng": "bad",
    "Rất không hài lòng": "very-bad",
  };

  let session = null;
  let asked = 0; // the latest request; an older answer arriving late is dropped

  // --- days (YYYY-MM-DD strings, in the centre's calendar) ----------------------------------------

  function parseDay(text) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || "");
    return match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : null;
  }

  function dayString(date) {
    return date.toISOString().slice(0, 10);
  }

  function addDays(text, days) {
    const date = parseDay(text);
    date.setUTCDate(date.getUTCDate() + days);
    return dayString(date);
  }

  function shownDay(text) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || "");
    return match ? `${match[3]}/${match[2]}/${match[1]}` : text;
  }

  // "Today" is the centre's today, whatever the computer's time zone.
  function quickRange(kind) {
    const today = A.localToday();
    const date = parseDay(today);
    const year = date.getUTCFullYear();
    const month = date.getUTCMonth();
    if (kind === "today") return [today, today];
    if (kind === "week") return [addDays(today, -6), today];
    if (kind === "month") return [dayString(new Date(Date.UTC(year, month, 1))), today];
    // Day 0 of this month is the last day of the one before.
    return [dayString(new Date(Date.UTC(year, month - 1, 1))), dayString(new Date(Date.UTC(year, month, 0)))];
  }

  // --- numbers --------------------------------------------------------------------------------------

  const count = (value) => integer.format(value);
  const minutes = (value) => (value === null || value === undefined ? "—" : oneDecimal.format(value));
  const share = (value) => (value === null || value === undefined ? "—" : percent.format(value));

  // --- the range form -------------------------------------------------------------------------------

  function chosenRange() {
    return { date_from: $("rp-from").value, date_to: $("rp-to").value };
  }

  function setRange(from, to) {
    $("rp-from").value = from;
    $("rp-to").value = to;
  }

  function markQuick() {
    const { date_from: from, date_to: to } = chosenRange();
    for (const button of document.querySelectorAll("[data-quick]")) {
      const [qFrom, qTo] = quickRange(button.dataset.quick);
      button.setAttribute("aria-pressed", String(qFrom === from && qTo === to));
    }
  }

  function showError(message) {
    const box = $("rp-error");
    box.textContent = message;
    box.hidden = !message;
  }

  function query() {
    return { ...chosenRange(), centre_id: session.centre ? session.centre.id : null };
  }

  async function load() {
    const mine = ++asked;
    const wanted = query();
    showError("");
    markQuick();
    $("rp-loading").hidden = false;
    $("rp-show").disabled = true;
    try {
      const report = await A.api("/reports", { query: wanted });
      if (mine !== asked) return;
      $("rp-body").hidden = false;
      render(report);
      const address = new URL(location.href);
      address.searchParams.set("date_from", report.date_from);
      address.searchParams.set("date_to", report.date_to);
      history.replaceState(null, "", address);
    } catch (problem) {
      if (mine !== asked) return;
      // Figures of another range under this one's dates would mislead: hide them, keep the form.
      $("rp-body").hidden = true;
      showError(problem.message);
    } finally {
      if (mine === asked) {
        $("rp-loading").hidden = true;
        $("rp-show").disabled = false;
      }
    }
  }

  async function exportFile(button, path, extra, fallbackName) {
    showError("");
    button.disabled = true;
    try {
      const name = await A.download(path, { ...query(), ...extra }, fallbackName);
      A.toast(`Đã tải tệp ${name}`);
    } catch (problem) {
      showError(problem.message);
    } finally {
      button.disabled = false;
    }
  }

  // --- tiles ----------------------------------------------------------------------------------------

  function tile(id, label, value, note) {
    return el(
      "div",
      { className: "rp-tile", id },
      el("span", { className: "rp-tile-label" }, label),
      el("span", { className: "rp-tile-value" }, value),
      el("span", { className: "rp-tile-note" }, note),
    );
  }

  function withUnit(value) {
    return value === null ? "—" : `${minutes(value)} phút`;
  }

  function spread(durations) {
    if (durations.count === 0) return "chưa có số liệu";
    return `trung vị ${minutes(durations.median)} · P90 ${minutes(durations.p90)} phút`;
  }

  function renderTotals(report) {
    const o = report.overall;
    $("rp-totals").replaceChildren(
      tile("rp-issued", "Số phiếu đã cấp", count(o.issued), `trong ${count(report.days)} ngày`),
      tile("rp-served", "Đã phục vụ", count(o.served), o.issued ? `${share(o.served / o.issued)} số phiếu đã cấp` : "—"),
      tile("rp-no-shows", "Vắng mặt", count(o.no_shows), o.requeued ? `và ${count(o.requeued)} lượt được đưa lại hàng chờ` : "không đến khi được gọi"),
      tile("rp-transferred", "Chuyển quầy / lĩnh vực", count(o.transferred), "lượt chuyển"),
      tile("rp-wait", "Thời gian chờ trung bình", withUnit(o.wait_minutes.average), spread(o.wait_minutes)),
      tile("rp-service", "Thời gian phục vụ trung bình", withUnit(o.service_minutes.average), spread(o.service_minutes)),
      tile("rp-satisfied", "Tỷ lệ hài lòng", share(o.satisfied_share), o.rated ? `${count(o.satisfied)}/${count(o.rated)} lượt đánh giá` : "chưa có lượt đánh giá"),
      tile("rp-cancelled", "Đã hủy", count(o.cancelled), "phiếu bị hủy"),
      tile("rp-expired", "Hết hạn", count(o.expired), "chưa được phục vụ khi hết ngày"),
    );
  }

  // --- charts (inline SVG) --------------------------------------------------------------------------

  function svg(tag, attributes = {}, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (value !== null && value !== undefined) node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // A round top for an axis: 7 → 8, 23 → 25, 0 → 1.
  function niceTop(value) {
    if (!(value > 0)) return 1;
    const power = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (step * power >= value) return step * power;
    }
    return 10 * power;
  }

  // The drawing's width in the page's pixels: the text of a chart is then the size of the text
  // around it, on a phone as on a wide screen (a fixed viewBox would shrink or blow it up).
  function widthOf(box) {
    return Math.max(260, Math.floor(box.clientWidth || 400));
  }

  // The number of intervals on a value axis from 0 to `top` (a niceTop): whole steps for counts.
  function tickCount(top, wholeNumbers) {
    return wholeNumbers && top < 5 ? Math.max(1, top) : 5;
  }

  // Bars by hour: [{hour, value, title}], a null value drawn as no bar.
  function hourChart(box, { bars, format, tickFormat, wholeNumbers, tone, label, empty }) {
    if (bars.length === 0) return el("p", { className: "empty" }, empty);
    const width = widthOf(box);
    const height = 230;
    const highest = Math.max(0, ...bars.map((b) => b.value || 0));
    const axisTop = niceTop(highest);
    const ticks = tickCount(axisTop, wholeNumbers);
    // Room for the longest axis label ("10.000") at about 7.5 px a character of 13 px text.
    const left = Math.max(30, tickFormat(axisTop).length * 7.5 + 12);
    const right = 6;
    const top = 20;
    const bottom = 28;
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    const y = (value) => top + plotH - (value / axisTop) * plotH;
    const band = plotW / bars.length;
    const barW = Math.max(3, Math.min(44, band * 0.7));
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "rp-svg", role: "img", "aria-label": label });
    for (let i = 0; i <= ticks; i += 1) {
      const value = (axisTop / ticks) * i;
      chart.append(
        svg("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: i === 0 ? "rp-axis" : "rp-grid" }),
        svg("text", { x: left - 6, y: y(value) + 4, class: "rp-tick", "text-anchor": "end" }, tickFormat(value)),
      );
    }
    // Hour labels need about 26 px each; with many hours on a narrow screen, every other one.
    const labelEvery = Math.ceil(26 / band);
    bars.forEach((bar, index) => {
      const centre = left + band * index + band / 2;
      if (index % labelEvery === 0) {
        chart.append(svg("text", { x: centre, y: height - bottom + 18, class: "rp-tick", "text-anchor": "middle" }, `${bar.hour}h`));
      }
      if (bar.value === null || bar.value === undefined) return;
      const barTop = y(bar.value);
      chart.append(
        svg(
          "rect",
          { x: centre - barW / 2, y: barTop, width: barW, height: Math.max(0, top + plotH - barTop), rx: 2, class: `rp-bar ${tone}` },
          svg("title", {}, bar.title),
        ),
      );
      // A value over its bar where there is room for it; the bar's tooltip always has it.
      const text = format(bar.value);
      if (bar.value > 0 && text.length * 7.5 <= band - 4) {
        chart.append(svg("text", { x: centre, y: barTop - 6, class: "rp-value", "text-anchor": "middle" }, text));
      }
    });
    return chart;
  }

  function hourName(hour) {
    const two = String(hour).padStart(2, "0");
    return `${two}:00–${two}:59`;
  }

  function renderHourCharts(report) {
    const arrivals = report.by_hour.map((h) => ({
      hour: h.hour,
      value: h.arrivals,
      title: `${hourName(h.hour)}: ${count(h.arrivals)} lượt lấy số`,
    }));
    const arrivalsBox = $("rp-arrivals-chart");
    arrivalsBox.replaceChildren(
      hourChart(arrivalsBox, {
        bars: arrivals,
        format: count,
        tickFormat: count,
        wholeNumbers: true,
        tone: "arrivals",
        label: `Lượt lấy số theo giờ: ${arrivals.map((b) => `${b.hour} giờ: ${b.value}`).join(", ")}`,
        empty: "Không có lượt lấy số nào trong khoảng này.",
      }),
    );
    const waits = report.by_hour.map((h) => ({
      hour: h.hour,
      value: h.average_wait_minutes,
      title:
        h.average_wait_minutes === null
          ? `${hourName(h.hour)}: chưa có ai được gọi`
          : `${hourName(h.hour)}: chờ trung bình ${minutes(h.average_wait_minutes)} phút (${count(h.called)} người được gọi)`,
    }));
    const waitBox = $("rp-wait-chart");
    waitBox.replaceChildren(
      hourChart(waitBox, {
        bars: waits,
        format: minutes,
        tickFormat: (value) => (Number.isInteger(value) ? integer.format(value) : minutes(value)),
        wholeNumbers: false,
        tone: "wait",
        label: `Thời gian chờ trung bình theo giờ lấy số, phút: ${waits
          .filter((b) => b.value !== null)
          .map((b) => `${b.hour} giờ: ${minutes(b.value)}`)
          .join(", ")}`,
        empty: "Không có lượt lấy số nào trong khoảng này.",
      }),
    );
  }

  function renderSatisfaction(report) {
    const s = report.satisfaction;
    const box = $("rp-rating-chart");
    if (s.rated === 0) {
      box.replaceChildren(el("p", { className: "empty" }, "Chưa có lượt đánh giá nào trong khoảng này."));
      return;
    }
    const headline = el(
      "p",
      { className: "rp-share", id: "rp-share" },
      el("strong", {}, share(s.satisfied_share)),
      el("span", {}, ` hài lòng và rất hài lòng · ${count(s.satisfied)}/${count(s.rated)} lượt đánh giá`),
    );
    const width = widthOf(box);
    // Wide enough: label, bar and figures on one line. Narrow (a phone): the label and figures
    // above a full-width bar, so the bar keeps a length worth reading.
    const stacked = width < 440;
    const row = stacked ? 50 : 36;
    const labelW = stacked ? 0 : 142;
    const valueW = stacked ? 0 : 96;
    const height = s.levels.length * row + 6;
    const barSpace = width - labelW - valueW;
    // Bars against all ratings, so they read as shares and fill the track together.
    const highest = Math.max(1, s.rated);
    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      class: "rp-svg",
      role: "img",
      "aria-label": `Mức độ hài lòng: ${s.levels.map((lv) => `${lv.label} ${lv.count}`).join(", ")}`,
    });
    s.levels.forEach((level, index) => {
      const barY = stacked ? index * row + 24 : index * row + row / 2 - 8;
      const textY = stacked ? barY - 7 : barY + 16;
      const figures = `${count(level.count)} · ${share(level.share)}`;
      chart.append(
        stacked
          ? svg("text", { x: 0, y: textY, class: "rp-level", "text-anchor": "start" }, level.label)
          : svg("text", { x: labelW - 10, y: textY, class: "rp-level", "text-anchor": "end" }, level.label),
        svg("rect", { x: labelW, y: barY, width: barSpace, height: 22, rx: 3, class: "rp-track" }),
        svg(
          "rect",
          {
            x: labelW,
            y: barY,
            width: Math.max(level.count ? 2 : 0, (level.count / highest) * barSpace),
            height: 22,
            rx: 3,
            class: `rp-bar ${LEVEL_TONES[level.label] || "neutral"}`,
          },
          svg("title", {}, `${level.label}: ${count(level.count)} lượt (${share(level.share)})`),
        ),
        stacked
          ? svg("text", { x: width, y: textY, class: "rp-value", "text-anchor": "end" }, figures)
          : svg("text", { x: labelW + barSpace + 10, y: textY, class: "rp-value", "text-anchor": "start" }, figures),
      );
    });
    box.replaceChildren(headline, chart);
  }

  // --- tables ---------------------------------------------------------------------------------------

  const GROUP_COLUMNS = [
    ["served", "Phục vụ", (f) => count(f.served)],
    ["no_shows", "Vắng mặt", (f) => count(f.no_shows)],
    ["transferred", "Chuyển đi", (f) => count(f.transferred)],
    ["cancelled", "Hủy", (f) => count(f.cancelled)],
    ["expired", "Hết hạn", (f) => count(f.expired)],
  ];
  const TIME_COLUMNS = [
    ["average", "TB"],
    ["median", "Trung vị"],
    ["p90", "P90"],
  ];

  function groupTable(table, { heading, withIssued, rows, total, empty }) {
    const spanned = (text, extra = {}) => el("th", { rowspan: 2, scope: "col", ...extra }, text);
    const head = el(
      "thead",
      {},
      el(
        "tr",
        {},
        spanned(heading),
        withIssued ? spanned("Cấp số", { className: "num" }) : null,
        GROUP_COLUMNS.map(([, label]) => spanned(label, { className: "num" })),
        el("th", { colspan: 3, scope: "colgroup", className: "rp-group" }, "Thời gian chờ (phút)"),
        el("th", { colspan: 3, scope: "colgroup", className: "rp-group" }, "Thời gian phục vụ (phút)"),
        spanned("Đánh giá", { className: "num" }),
        spanned("Hài lòng", { className: "num" }),
      ),
      el(
        "tr",
        {},
        [...TIME_COLUMNS, ...TIME_COLUMNS].map(([, label], index) =>
          el("th", { scope: "col", className: index % 3 === 0 ? "num rp-first" : "num" }, label),
        ),
      ),
    );
    const cells = (figures) => [
      withIssued ? el("td", { className: "num", dataset: { col: "issued" } }, count(figures.issued)) : null,
      GROUP_COLUMNS.map(([key, , show]) => el("td", { className: "num", dataset: { col: key } }, show(figures))),
      ["wait", "service"].map((kind) =>
        TIME_COLUMNS.map(([key], index) =>
          el(
            "td",
            { className: index === 0 ? "num rp-first" : "num", dataset: { col: `${kind}_${key}` } },
            minutes(figures[`${kind}_minutes`][key]),
          ),
        ),
      ),
      el("td", { className: "num", dataset: { col: "rated" } }, count(figures.rated)),
      el("td", { className: "num", dataset: { col: "satisfied_share" } }, share(figures.satisfied_share)),
    ].flat(Infinity);
    const columns = 13 + (withIssued ? 1 : 0);
    const body = el(
      "tbody",
      {},
      rows.length === 0
        ? el("tr", {}, el("td", { colspan: columns, className: "empty" }, empty))
        : rows.map((row) =>
            el(
              "tr",
              { dataset: row.dataset, className: row.quiet ? "rp-quiet" : null },
              el("th", { scope: "row" }, row.name, row.note ? el("span", { className: "rp-note" }, row.note) : null),
              cells(row.figures),
            ),
          ),
    );
    const foot = total ? el("tfoot", {}, el("tr", { dataset: { total: "" } }, el("th", { scope: "row" }, "Tổng cộng"), cells(total))) : null;
    table.replaceChildren(head, body, ...(foot ? [foot] : []));
  }

  // A row with nothing in it is shown, but quietly: a field no one asked for today is a fact too.
  function quiet(figures) {
    return !figures.issued && !figures.served && !figures.no_shows && !figures.transferred && !figures.cancelled && !figures.expired && !figures.rated;
  }

  function renderTables(report) {
    groupTable($("rp-fields"), {
      heading: "Lĩnh vực",
      withIssued: true,
      rows: report.by_field.map((f) => ({ name: f.name, note: f.code, dataset: { code: f.code }, figures: f, quiet: quiet(f) })),
      total: report.overall,
      empty: "Trung tâm chưa có lĩnh vực nào.",
    });
    groupTable($("rp-counters"), {
      heading: "Quầy",
      withIssued: false,
      rows: report.by_counter.map((c) => ({
        name: `Quầy số ${c.number}`,
        note: c.name && c.name !== `Quầy ${c.number}` ? c.name : "",
        dataset: { number: c.number },
        figures: c,
        quiet: quiet(c),
      })),
      empty: "Trung tâm chưa có quầy nào.",
    });
    groupTable($("rp-officers"), {
      heading: "Cán bộ",
      withIssued: false,
      rows: report.by_officer.map((o) => ({ name: o.full_name, note: o.username, dataset: { username: o.username }, figures: o })),
      empty: "Không có cán bộ nào phục vụ trong khoảng này.",
    });
  }

  // --- the whole report -----------------------------------------------------------------------------

  let shown = null; // the report on screen, drawn again when the window changes size

  function render(report) {
    shown = report;
    const period =
      report.date_from === report.date_to
        ? `Ngày ${shownDay(report.date_from)}`
        : `Từ ${shownDay(report.date_from)} đến ${shownDay(report.date_to)} (${count(report.days)} ngày)`;
    $("rp-period").textContent = `${period} · ${report.centre.name} · lập lúc ${A.formatDateTime(report.generated_at)}`;
    renderTotals(report);
    renderHourCharts(report);
    renderSatisfaction(report);
    renderTables(report);
  }

  function showCentre() {
    $("rp-centre").textContent = session.centre ? session.centre.name : "Chưa có Trung tâm nào.";
  }

  async function main() {
    session = await A.start("reports");
    showCentre();
    const params = new URLSearchParams(location.search);
    const from = params.get("date_from");
    const to = params.get("date_to");
    if (parseDay(from) && parseDay(to)) setRange(from, to);
    else setRange(...quickRange("month"));
    $("rp-form").addEventListener("submit", (event) => {
      event.preventDefault();
      load();
    });
    for (const button of document.querySelectorAll("[data-quick]")) {
      button.addEventListener("click", () => {
        setRange(...quickRange(button.dataset.quick));
        load();
      });
    }
    for (const input of [$("rp-from"), $("rp-to")]) input.addEventListener("input", markQuick);
    $("rp-xlsx").addEventListener("click", () => exportFile($("rp-xlsx"), "/reports/export.xlsx", {}, "bao-cao.xlsx"));
    $("rp-csv").addEventListener("click", () =>
      exportFile($("rp-csv"), "/reports/export.csv", { table: $("rp-csv-table").value }, "bao-cao.csv"),
    );
    let resizing = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => {
        if (shown && !$("rp-body").hidden) {
          renderHourCharts(shown);
          renderSatisfaction(shown);
        }
      }, 150);
    });
    A.onCentreChange(() => {
      showCentre();
      load();
    });
    if (session.centre) load();
  }

  main();
})();
