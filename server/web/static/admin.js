// The configuration console: the centre, its fields, counters, officers, devices and priority groups.
// Every change is one API call, which the server applies in one transaction: a refused form
// changes nothing and stays open with what was typed, its errors beside the inputs.
"use strict";

(() => {
  const A = window.HangdoiAdmin;
  const el = A.el;
  const $ = (id) => document.getElementById(id);

  const TIMEZONES = ["Asia/Ho_Chi_Minh", "Asia/Bangkok"];
  const DAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"];
  const { COUNTER_STATES, DEVICE_KINDS, PRINTER_STATES } = A;
  const SCALES = {
    3: "Hài lòng · Bình thường · Không hài lòng",
    4: "Rất hài lòng · Hài lòng · Bình thường · Không hài lòng",
    5: "Rất hài lòng · Hài lòng · Bình thường · Không hài lòng · Rất không hài lòng",
  };
  const CODE = { pattern: /^[A-Za-z0-9_-]+$/, message: "chỉ gồm chữ không dấu, chữ số, dấu - hoặc _ (ví dụ HT)." };

  const KEEP_OPEN = Symbol("keep the dialog open");

  let session = null;
  let tab = "centre";
  // What the tabs list, reloaded after every change.
  const data = { fields: [], counters: [], officers: [], devices: [], groups: [] };

  // --- forms ----------------------------------------------------------------------------------
  //
  // A form is a list of inputs: {name, label, type, required, min, max, maxLength, pattern, help, options, wide}.
  // Types: text, password, textarea, number, minutes (seconds on the wire), time (HH:MM or null),
  // checkbox, select, days (working days "01234"), fieldOrder (a counter's fields, in calling order).

  function inputFor(spec, value) {
    const id = `input-${spec.name}`;
    let control;
    if (spec.type === "textarea") {
      control = el("textarea", { id, name: spec.name, maxlength: spec.maxLength, rows: 3 });
      control.value = value ?? "";
    } else if (spec.type === "checkbox") {
      control = el("input", { type: "checkbox", id, name: spec.name, checked: Boolean(value) });
      return el("label", { className: "input check-line" + (spec.wide ? " wide" : ""), dataset: { name: spec.name } }, control, spec.label);
    } else if (spec.type === "select") {
      control = el(
        "select",
        { id, name: spec.name },
        spec.options.map(([optionValue, text]) => el("option", { value: optionValue, selected: String(optionValue) === String(value ?? "") }, text)),
      );
    } else if (spec.type === "days") {
      const chosen = String(value ?? "");
      control = el(
        "div",
        { className: "checks", id },
        DAYS.map((day, index) => el("label", {}, el("input", { type: "checkbox", value: String(index), checked: chosen.includes(String(index)) }), day)),
      );
    } else if (spec.type === "fieldOrder") {
      control = fieldOrderControl(id, value || []);
    } else {
      const type = { number: "number", minutes: "number", time: "time", password: "password" }[spec.type] || "text";
      let shown = value ?? "";
      if (spec.type === "minutes" && value !== null && value !== undefined) shown = Math.round((value / 60) * 10) / 10;
      if (spec.type === "time" && value) shown = String(value).slice(0, 5);
      control = el("input", {
        type,
        id,
        name: spec.name,
        value: shown,
        maxlength: spec.maxLength,
        step: spec.type === "minutes" ? "0.5" : null,
        autocomplete: spec.type === "password" ? "new-password" : "off",
        spellcheck: "false",
      });
    }
    return el(
      "label",
      { className: "input" + (spec.wide || ["textarea", "days", "fieldOrder"].includes(spec.type) ? " wide" : ""), dataset: { name: spec.name } },
      el("span", { className: "label" }, spec.label + (spec.required ? " *" : "")),
      control,
      spec.help ? el("span", { className: "help" }, spec.help) : null,
      el("span", { className: "field-error", hidden: true }),
    );
  }

  // The fields a counter serves, ticked, in the order it calls them (the first is called first).
  function fieldOrderControl(id, chosenIds) {
    const box = el("div", { className: "ordered-list", id, role: "group" });
    const order = [...chosenIds, ...data.fields.filter((f) => !chosenIds.includes(f.id)).map((f) => f.id)];
    const render = () => {
      box.replaceChildren();
      let position = 0;
      order.forEach((fieldId, index) => {
        const field = data.fields.find((f) => f.id === fieldId);
        if (!field) return;
        const on = box.dataset[`on${fieldId}`] === "1";
        if (on) position += 1;
        const tick = el("input", { type: "checkbox", checked: on, "aria-label": field.name, dataset: { fieldId } });
        tick.addEventListener("change", () => {
          box.dataset[`on${fieldId}`] = tick.checked ? "1" : "0";
          render();
        });
        const move = (delta) => {
          const target = index + delta;
          if (target < 0 || target >= order.length) return;
          [order[index], order[target]] = [order[target], order[index]];
          render();
        };
        box.append(
          el(
            "div",
            { className: "row" + (on ? " on" : "") },
            el("span", { className: "pos" }, on ? String(position) : ""),
            tick,
            el("span", { className: "name" }, `${field.code} – ${field.name}${field.active ? "" : " (ngừng)"}`),
            el("button", { type: "button", className: "small", title: "Lên", "aria-label": `Đưa ${field.name} lên`, onclick: () => move(-1) }, "↑"),
            el("button", { type: "button", className: "small", title: "Xuống", "aria-label": `Đưa ${field.name} xuống`, onclick: () => move(1) }, "↓"),
          ),
        );
      });
    };
    for (const fieldId of chosenIds) box.dataset[`on${fieldId}`] = "1";
    box.readValue = () => order.filter((fieldId) => box.dataset[`on${fieldId}`] === "1");
    render();
    return box;
  }

  function readInput(form, spec) {
    const wrapper = form.querySelector(`[data-name="${spec.name}"]`);
    if (spec.type === "checkbox") return wrapper.querySelector("input").checked;
    if (spec.type === "days") {
      return [...wrapper.querySelectorAll("input:checked")].map((box) => box.value).sort().join("");
    }
    if (spec.type === "fieldOrder") return wrapper.querySelector(".ordered-list").readValue();
    const raw = wrapper.querySelector("input, select, textarea").value;
    const text = spec.type === "password" ? raw : raw.trim();
    if (spec.type === "number" || spec.type === "minutes") {
      if (text === "") return null;
      const number = Number(text.replace(",", "."));
      if (!Number.isFinite(number)) return NaN;
      return spec.type === "minutes" ? Math.round(number * 60) : number;
    }
    if (spec.type === "time") return text === "" ? null : text;
    if (spec.type === "select" && spec.numeric) return Number(text);
    return text;
  }

  // Checks in the browser, in Vietnamese, before anything is sent; the server checks again.
  function check(spec, value) {
    const empty = value === null || value === "" || (Array.isArray(value) && value.length === 0);
    if (empty) return spec.required ? `Xin nhập ${spec.label.toLowerCase()}.` : null;
    if (Number.isNaN(value)) return `${spec.label} phải là một số.`;
    if (spec.type === "number" && !Number.isInteger(value)) return `${spec.label} phải là số nguyên.`;
    const shown = spec.type === "minutes" ? value / 60 : value;
    if (spec.min !== undefined && shown < spec.min) return `${spec.label} phải từ ${spec.min} trở lên.`;
    if (spec.max !== undefined && shown > spec.max) return `${spec.label} không được lớn hơn ${spec.max}.`;
    if (spec.minLength && String(value).length < spec.minLength) return `${spec.label} cần ít nhất ${spec.minLength} ký tự.`;
    if (spec.maxLength && String(value).length > spec.maxLength) return `${spec.label} dài quá ${spec.maxLength} ký tự.`;
    if (spec.pattern && !spec.pattern.test(String(value))) return `${spec.label}: ${spec.patternMessage}`;
    return null;
  }

  function setError(form, name, message) {
    const wrapper = form.querySelector(`[data-name="${name}"]`);
    if (!wrapper) return false;
    wrapper.classList.toggle("invalid", Boolean(message));
    const box = wrapper.querySelector(".field-error");
    if (box) {
      box.textContent = message || "";
      box.hidden = !message;
    }
    return true;
  }

  function formError(form, message) {
    const box = form.querySelector(".form-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // Builds a form; onSave(values) returns a promise; a refusal is shown and nothing is lost.
  function buildForm(specs, values, { saveLabel = "Lưu", onSave, onCancel, validate } = {}) {
    const save = el("button", { type: "submit", className: "primary" }, saveLabel);
    const form = el(
      "form",
      { className: "admin-form", novalidate: true },
      specs.map((spec) => inputFor(spec, values[spec.name])),
      el("p", { className: "form-error", role: "alert", hidden: true }),
      el("div", { className: "form-actions" }, onCancel ? el("button", { type: "button", onclick: onCancel }, "Hủy") : null, save),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (save.disabled) return; // a double click saves once
      formError(form, "");
      const out = {};
      let bad = null;
      for (const spec of specs) {
        const value = readInput(form, spec);
        const problem = check(spec, value);
        setError(form, spec.name, problem);
        if (problem && !bad) bad = spec.name;
        out[spec.name] = value;
      }
      const extra = validate ? validate(out) : null;
      if (extra) {
        setError(form, extra.field, extra.message);
        bad = bad || extra.field;
      }
      if (bad) {
        formError(form, "Xin sửa các ô được đánh dấu đỏ.");
        const target = form.querySelector(`[data-name="${bad}"] input, [data-name="${bad}"] select, [data-name="${bad}"] textarea`);
        if (target) target.focus();
        return;
      }
      save.disabled = true;
      try {
        await onSave(out);
      } catch (problem) {
        let placed = false;
        for (const item of problem.fields || []) {
          const name = String(item.field || "").split(".")[0];
          if (setError(form, name, item.message)) placed = true;
        }
        formError(form, placed ? "Máy chủ chưa nhận: xin sửa các ô được đánh dấu đỏ." : problem.message);
      } finally {
        save.disabled = false;
      }
    });
    return form;
  }

  // --- dialogs ------------------------------------------------------------------------------------

  function openDialog(title, ...content) {
    const dialog = $("dialog");
    dialog.replaceChildren(el("h2", {}, title), ...content);
    if (!dialog.open) dialog.showModal();
    const first = dialog.querySelector("input:not([type=checkbox]), select, textarea");
    if (first) first.focus();
    return dialog;
  }

  function closeDialog() {
    const dialog = $("dialog");
    if (dialog.open) dialog.close();
  }

  function confirmAction(title, text, okLabel) {
    return new Promise((resolve) => {
      const done = (answer) => {
        closeDialog();
        resolve(answer);
      };
      openDialog(
        title,
        el("p", {}, text),
        el(
          "div",
          { className: "form-actions" },
          el("button", { type: "button", onclick: () => done(false) }, "Hủy"),
          el("button", { type: "button", className: "primary", id: "confirm-ok", onclick: () => done(true) }, okLabel),
        ),
      );
    });
  }

  function formDialog(title, specs, values, onSave, options = {}) {
    const form = buildForm(specs, values, {
      ...options,
      onCancel: closeDialog,
      onSave: async (out) => {
        // A save that put something else in the dialog (a new device's token) keeps it open.
        if ((await onSave(out)) !== KEEP_OPEN) closeDialog();
      },
    });
    openDialog(title, form);
  }

  // --- loading ------------------------------------------------------------------------------------

  const scope = () => ({ centre_id: session.centre.id });

  async function load() {
    if (!session.centre) return; // a fresh install: the first centre is still to be created
    const [fields, counters, officers, devices, groups] = await Promise.all([
      A.api("/admin/fields", { query: scope() }),
      A.api("/admin/counters", { query: scope() }),
      A.api("/admin/officers", { query: scope() }),
      A.api("/admin/devices", { query: scope() }),
      A.api("/admin/priority-groups", { query: scope() }),
    ]);
    fields.sort((a, b) => a.display_order - b.display_order || a.id - b.id);
    counters.sort((a, b) => a.number - b.number);
    groups.sort((a, b) => a.display_order - b.display_order || a.id - b.id);
    Object.assign(data, { fields, counters, officers, devices, groups });
  }

  // After a save the server has it: a failed refresh is said, never shown as a refused form.
  async function changed(message) {
    try {
      await A.refreshCentres();
      await load();
      render();
      A.toast(message);
    } catch (problem) {
      render();
      A.toast(`${message} ${problem.message}`, true);
    }
  }

  // --- tabs ----------------------------------------------------------------------------------------

  function render() {
    if (!session.centre) tab = "centre";
    for (const button of document.querySelectorAll(".tabs button")) {
      button.setAttribute("aria-selected", String(button.dataset.tab === tab));
    }
    const renderers = { centre: renderCentre, fields: renderFields, counters: renderCounters, officers: renderOfficers, devices: renderDevices, groups: renderGroups };
    $("tab-content").replaceChildren(...[renderers[tab]()].flat());
  }

  function card(title, action, ...content) {
    return el("section", { className: "card" }, el("div", { className: "card-head" }, el("h2", {}, title), action), ...content);
  }

  function table(headers, rows, emptyText) {
    if (rows.length === 0) return el("p", { className: "empty" }, emptyText);
    return el(
      "table",
      { className: "data" },
      el("thead", {}, el("tr", {}, headers.map(([text, cls]) => el("th", { className: cls }, text)))),
      el("tbody", {}, rows),
    );
  }

  function status(active) {
    return active ? el("span", { className: "badge good" }, "Đang dùng") : el("span", { className: "badge off" }, "Ngừng sử dụng");
  }

  // Deactivate (DELETE: history stays for the reports) or use again (PATCH active).
  function activeButton(kind, path, item, name) {
    if (item.active) {
      return el(
        "button",
        {
          type: "button",
          className: "small danger",
          onclick: async () => {
            if (!(await confirmAction(`Ngừng sử dụng ${kind}`, `Ngừng sử dụng ${kind} “${name}”? Lịch sử vẫn được giữ cho báo cáo.`, "Ngừng sử dụng"))) return;
            try {
              await A.api(`${path}/${item.id}`, { method: "DELETE" });
              await changed(`Đã ngừng sử dụng ${kind} “${name}”.`);
            } catch (problem) {
              A.toast(problem.message, true);
            }
          },
        },
        "Ngừng",
      );
    }
    return el(
      "button",
      {
        type: "button",
        className: "small",
        onclick: async () => {
          try {
            await A.api(`${path}/${item.id}`, { method: "PATCH", body: { active: true } });
            await changed(`Đã dùng lại ${kind} “${name}”.`);
          } catch (problem) {
            A.toast(problem.message, true);
          }
        },
      },
      "Dùng lại",
    );
  }

  // --- the centre -----------------------------------------------------------------------------------

  const CENTRE_INFO = [
    { name: "name", label: "Tên Trung tâm", type: "text", required: true, maxLength: 200, wide: true },
    { name: "address", label: "Địa chỉ", type: "text", maxLength: 300, wide: true },
    { name: "opens_at", label: "Giờ mở cửa", type: "time", help: "Để trống: không giới hạn giờ lấy số." },
    { name: "closes_at", label: "Giờ đóng cửa", type: "time" },
    { name: "working_days", label: "Ngày làm việc", type: "days" },
    { name: "timezone", label: "Múi giờ", type: "select", options: TIMEZONES.map((zone) => [zone, zone]) },
    {
      name: "max_priority_in_row",
      label: "Số lượt ưu tiên liên tiếp tối đa",
      type: "number",
      required: true,
      min: 1,
      max: 10,
      help: "Sau chừng ấy lượt ưu tiên liền nhau, quầy gọi một người không ưu tiên.",
    },
  ];

  const CENTRE_SCREEN = [
    { name: "notice_text", label: "Dòng thông báo trên màn hình chờ", type: "textarea", maxLength: 1000, help: "Chạy ở cuối màn hình chờ. Để trống nếu không cần." },
    { name: "voice_enabled", label: "Đọc loa khi gọi số", type: "checkbox", wide: true },
    { name: "voice_repeat", label: "Số lần đọc mỗi lượt gọi", type: "number", required: true, min: 1, max: 5 },
    {
      name: "voice_digit_by_digit",
      label: "Cách đọc số",
      type: "select",
      options: [
        ["false", "Đọc thành số: một nghìn không trăm linh năm"],
        ["true", "Đọc từng chữ số: một không không năm"],
      ],
    },
    {
      name: "voice_odd_word",
      label: "Số lẻ hàng chục",
      type: "select",
      options: [
        ["linh", "“linh” – một trăm linh năm (miền Bắc)"],
        ["lẻ", "“lẻ” – một trăm lẻ năm"],
      ],
    },
  ];

  const CENTRE_RATING = [
    {
      name: "rating_levels",
      label: "Thang đánh giá mức độ hài lòng",
      type: "select",
      numeric: true,
      wide: true,
      options: [3, 4, 5].map((levels) => [String(levels), `${levels} mức: ${SCALES[levels]}`]),
    },
  ];

  function hoursCheck(values) {
    if (values.opens_at && values.closes_at && values.closes_at <= values.opens_at) {
      return { field: "closes_at", message: "Giờ đóng cửa phải sau giờ mở cửa." };
    }
    return null;
  }

  function saveCentre(message) {
    return async (values) => {
      const body = { ...values };
      if ("voice_digit_by_digit" in body) body.voice_digit_by_digit = body.voice_digit_by_digit === "true";
      await A.api(`/admin/centres/${session.centre.id}`, { method: "PATCH", body });
      await changed(message);
    };
  }

  function renderCentre() {
    if (!session.centre) {
      return card(
        "Chưa có Trung tâm nào",
        el("button", { type: "button", className: "primary", id: "add-centre", onclick: () => formDialog("Thêm Trung tâm", CENTRE_INFO, { working_days: "01234", max_priority_in_row: 2, timezone: TIMEZONES[0] }, addCentre, { validate: hoursCheck }) }, "Thêm Trung tâm"),
        el("p", { className: "muted" }, "Máy chủ chưa có Trung tâm nào. Hãy thêm Trung tâm đầu tiên, rồi đến lĩnh vực, quầy, cán bộ và thiết bị."),
      );
    }
    const centre = { ...session.centre, voice_digit_by_digit: String(session.centre.voice_digit_by_digit) };
    const cards = [
      card("Thông tin và giờ làm việc", null, buildForm(CENTRE_INFO, centre, { onSave: saveCentre("Đã lưu thông tin Trung tâm."), validate: hoursCheck })),
      card("Màn hình chờ và giọng đọc", null, buildForm(CENTRE_SCREEN, centre, { onSave: saveCentre("Đã lưu cài đặt màn hình chờ và giọng đọc.") })),
      card("Đánh giá mức độ hài lòng", null, buildForm(CENTRE_RATING, centre, { onSave: saveCentre("Đã lưu thang đánh giá.") })),
    ];
    if (session.me.centre_id === null) {
      cards.unshift(
        card(
          "Các Trung tâm trên máy chủ này",
          el("button", { type: "button", className: "primary", onclick: () => formDialog("Thêm Trung tâm", CENTRE_INFO, { working_days: "01234", max_priority_in_row: 2, timezone: TIMEZONES[0] }, addCentre, { validate: hoursCheck }) }, "Thêm Trung tâm"),
          el("p", { className: "muted" }, `${session.centres.length} Trung tâm. Chọn Trung tâm cần cấu hình ở đầu trang.`),
        ),
      );
    }
    return cards;
  }

  async function addCentre(values) {
    const centre = await A.api("/admin/centres", { method: "POST", body: values });
    session.centre = centre;
    await changed(`Đã thêm “${centre.name}”.`);
  }

  // --- fields -------------------------------------------------------------------------------------

  const FIELD_FORM = [
    { name: "code", label: "Mã", type: "text", required: true, maxLength: 32, pattern: CODE.pattern, patternMessage: CODE.message },
    { name: "name", label: "Tên lĩnh vực", type: "text", required: true, maxLength: 200 },
    { name: "number_start", label: "Số đầu", type: "number", required: true, min: 0, max: 999999, help: "Ví dụ 1001 cho Hộ tịch." },
    { name: "number_end", label: "Số cuối", type: "number", required: true, min: 0, max: 999999, help: "Ví dụ 1999." },
    {
      name: "prefix",
      label: "Chữ đứng trước số",
      type: "text",
      maxLength: 4,
      pattern: /^[A-Z]{0,4}$/,
      patternMessage: "chỉ gồm chữ in hoa không dấu, tối đa 4 chữ (ví dụ A → A001). Để trống nếu dùng dãy số riêng.",
    },
    { name: "daily_cap", label: "Số phiếu tối đa mỗi ngày", type: "number", min: 1, max: 999999, help: "Để trống: đến hết dãy số." },
    { name: "opens_at", label: "Giờ bắt đầu lấy số", type: "time", help: "Để trống: theo giờ của Trung tâm." },
    { name: "closes_at", label: "Giờ ngừng lấy số", type: "time" },
    { name: "display_order", label: "Thứ tự hiển thị", type: "number", required: true, min: -1000, max: 1000 },
    { name: "default_service_seconds", label: "Thời gian phục vụ ước tính (phút)", type: "minutes", required: true, min: 0.5, max: 120, help: "Dùng để ước tính thời gian chờ cho đến khi có số liệu thực." },
  ];

  function fieldCheck(values) {
    if (values.number_start !== null && values.number_end !== null && values.number_end < values.number_start) {
      return { field: "number_end", message: "Số cuối phải lớn hơn hoặc bằng số đầu." };
    }
    return hoursCheck(values);
  }

  // "07:30:00" → "07:30"; a missing end is open-ended.
  function hhmm(time) {
    return time ? String(time).slice(0, 5) : "…";
  }

  function range(field) {
    return `${field.prefix}${field.number_start} – ${field.prefix}${field.number_end}`;
  }

  function renderFields() {
    const rows = data.fields.map((field) =>
      el(
        "tr",
        { className: field.active ? "" : "inactive", dataset: { code: field.code } },
        el("td", { className: "num" }, field.display_order),
        el("td", {}, el("strong", {}, field.code)),
        el("td", {}, field.name),
        el("td", {}, range(field)),
        el("td", { className: "num" }, field.daily_cap ?? "—"),
        el("td", {}, field.opens_at || field.closes_at ? `${hhmm(field.opens_at)} – ${hhmm(field.closes_at)}` : "Theo Trung tâm"),
        el("td", {}, status(field.active)),
        el(
          "td",
          { className: "actions" },
          el("button", { type: "button", className: "small", onclick: () => formDialog(`Sửa lĩnh vực ${field.name}`, FIELD_FORM, field, (v) => saveItem("/admin/fields", field.id, v, `Đã lưu lĩnh vực “${v.name}”.`), { validate: fieldCheck }) }, "Sửa"),
          activeButton("lĩnh vực", "/admin/fields", field, field.name),
        ),
      ),
    );
    const next = data.fields.length ? Math.max(...data.fields.map((f) => f.display_order)) + 1 : 1;
    return card(
      "Lĩnh vực thủ tục",
      el("button", { type: "button", className: "primary", id: "add-field", onclick: () => formDialog("Thêm lĩnh vực", FIELD_FORM, { number_start: 1, number_end: 999, display_order: next, default_service_seconds: 300 }, addField, { validate: fieldCheck }) }, "Thêm lĩnh vực"),
      table([["Thứ tự", "num"], ["Mã"], ["Tên"], ["Dãy số"], ["Tối đa/ngày", "num"], ["Giờ lấy số"], ["Trạng thái"], [""]], rows, "Chưa có lĩnh vực nào."),
    );
  }

  async function addField(values) {
    await A.api("/admin/fields", { method: "POST", body: { ...values, centre_id: session.centre.id } });
    await changed(`Đã thêm lĩnh vực “${values.name}”.`);
  }

  async function saveItem(path, id, values, message) {
    await A.api(`${path}/${id}`, { method: "PATCH", body: values });
    await changed(message);
  }

  // --- counters -------------------------------------------------------------------------------------

  const COUNTER_FORM = [
    { name: "number", label: "Số quầy", type: "number", required: true, min: 1, max: 999 },
    { name: "name", label: "Tên quầy (không bắt buộc)", type: "text", maxLength: 200 },
    { name: "field_ids", label: "Lĩnh vực quầy phục vụ, theo thứ tự gọi", type: "fieldOrder", help: "Tích các lĩnh vực; lĩnh vực đứng đầu được gọi trước. Dùng ↑ ↓ để đổi thứ tự." },
  ];


  function fieldNames(ids) {
    return ids.map((id) => (data.fields.find((f) => f.id === id) || { name: `#${id}` }).name).join(", ");
  }

  function renderCounters() {
    const rows = data.counters.map((counter) => {
      const { text: stateText, tone: stateClass } = COUNTER_STATES[counter.state] || { text: counter.state, tone: "off" };
      return el(
        "tr",
        { className: counter.active ? "" : "inactive", dataset: { number: counter.number } },
        el("td", {}, el("strong", {}, `Quầy ${counter.number}`), counter.name && counter.name !== `Quầy ${counter.number}` ? el("div", { className: "muted" }, counter.name) : null),
        el("td", {}, fieldNames(counter.field_ids) || el("span", { className: "muted" }, "Chưa gắn lĩnh vực")),
        el("td", {}, el("span", { className: `badge ${stateClass}` }, stateText), counter.officer ? el("div", { className: "muted" }, counter.officer.full_name) : null),
        el("td", {}, status(counter.active)),
        el(
          "td",
          { className: "actions" },
          el("button", { type: "button", className: "small", onclick: () => formDialog(`Sửa quầy ${counter.number}`, COUNTER_FORM, counter, (v) => saveItem("/admin/counters", counter.id, v, `Đã lưu quầy ${v.number}.`)) }, "Sửa"),
          activeButton("quầy", "/admin/counters", counter, `Quầy ${counter.number}`),
        ),
      );
    });
    const next = data.counters.length ? Math.max(...data.counters.map((c) => c.number)) + 1 : 1;
    return card(
      "Quầy",
      el("button", { type: "button", className: "primary", id: "add-counter", onclick: () => formDialog("Thêm quầy", COUNTER_FORM, { number: next, field_ids: [] }, addCounter) }, "Thêm quầy"),
      table([["Quầy"], ["Lĩnh vực (theo thứ tự gọi)"], ["Hiện tại"], ["Trạng thái"], [""]], rows, "Chưa có quầy nào."),
    );
  }

  async function addCounter(values) {
    await A.api("/admin/counters", { method: "POST", body: { ...values, centre_id: session.centre.id } });
    await changed(`Đã thêm quầy ${values.number}.`);
  }

  // --- officers -------------------------------------------------------------------------------------

  const ROLE = [
    ["officer", "Cán bộ tại quầy"],
    ["admin", "Quản trị viên"],
  ];
  const PASSWORD = { name: "password", label: "Mật khẩu", type: "password", required: true, minLength: 8, maxLength: 200, help: "Ít nhất 8 ký tự." };
  const OFFICER_NEW = [
    { name: "username", label: "Tên đăng nhập", type: "text", required: true, minLength: 2, maxLength: 64, pattern: /^[a-z0-9._-]+$/, patternMessage: "chỉ gồm chữ thường không dấu, chữ số, dấu chấm, - hoặc _ (ví dụ lan.nt)." },
    { name: "full_name", label: "Họ và tên", type: "text", required: true, maxLength: 200 },
    { name: "role", label: "Vai trò", type: "select", options: ROLE },
    { name: "phone", label: "Điện thoại", type: "text", maxLength: 32, help: "Hiện trên màn hình quầy để công dân liên hệ." },
    PASSWORD,
  ];
  const OFFICER_EDIT = OFFICER_NEW.filter((spec) => !["username", "password"].includes(spec.name));

  function renderOfficers() {
    const rows = data.officers.map((officer) =>
      el(
        "tr",
        { className: officer.active ? "" : "inactive", dataset: { username: officer.username } },
        el("td", {}, el("strong", {}, officer.username)),
        el("td", {}, officer.full_name),
        el("td", {}, officer.role === "admin" ? "Quản trị viên" : "Cán bộ"),
        el("td", {}, officer.phone || "—"),
        el("td", {}, status(officer.active)),
        el(
          "td",
          { className: "actions" },
          el("button", { type: "button", className: "small", onclick: () => formDialog(`Sửa cán bộ ${officer.full_name}`, OFFICER_EDIT, officer, (v) => saveItem("/admin/officers", officer.id, v, `Đã lưu thông tin ${v.full_name}.`)) }, "Sửa"),
          el(
            "button",
            {
              type: "button",
              className: "small",
              onclick: () =>
                formDialog(
                  `Đặt lại mật khẩu cho ${officer.full_name}`,
                  [{ ...PASSWORD, label: "Mật khẩu mới" }],
                  {},
                  (v) => saveItem("/admin/officers", officer.id, v, `Đã đặt lại mật khẩu cho ${officer.full_name}. Các phiên đăng nhập cũ đã bị đăng xuất.`),
                  { saveLabel: "Đặt lại mật khẩu" },
                ),
            },
            "Đặt lại mật khẩu",
          ),
          officer.id === session.me.id ? null : activeButton("tài khoản", "/admin/officers", officer, officer.full_name),
        ),
      ),
    );
    return card(
      "Cán bộ, công chức",
      el("button", { type: "button", className: "primary", id: "add-officer", onclick: () => formDialog("Thêm cán bộ", OFFICER_NEW, { role: "officer" }, addOfficer) }, "Thêm cán bộ"),
      table([["Tên đăng nhập"], ["Họ và tên"], ["Vai trò"], ["Điện thoại"], ["Trạng thái"], [""]], rows, "Chưa có cán bộ nào."),
    );
  }

  async function addOfficer(values) {
    await A.api("/admin/officers", { method: "POST", body: { ...values, centre_id: session.centre.id } });
    await changed(`Đã thêm cán bộ ${values.full_name}.`);
  }

  // --- devices ----------------------------------------------------------------------------------------

  function counterOptions() {
    return [["", "— Không gắn quầy —"], ...data.counters.filter((c) => c.active).map((c) => [String(c.id), `Quầy ${c.number}`])];
  }

  function deviceForm(isNew) {
    const specs = [
      { name: "name", label: "Tên thiết bị", type: "text", required: true, maxLength: 200, help: "Ví dụ: Máy lấy số sảnh chính." },
      { name: "counter_id", label: "Quầy (cho màn hình quầy)", type: "select", options: counterOptions() },
    ];
    if (isNew) {
      specs.unshift({ name: "kind", label: "Loại thiết bị", type: "select", options: Object.entries(DEVICE_KINDS) });
    }
    return specs;
  }

  function deviceBody(values) {
    return { ...values, counter_id: values.counter_id ? Number(values.counter_id) : null };
  }

  function printerBadge(device) {
    if (device.kind !== "kiosk") return "—";
    const { text, tone: cls } = PRINTER_STATES[device.printer_state] || { text: device.printer_state, tone: "warn" };
    return el("span", { className: `badge ${cls}` }, text);
  }

  function renderDevices() {
    const rows = data.devices.map((device) => {
      const counter = data.counters.find((c) => c.id === device.counter_id);
      return el(
        "tr",
        { className: device.active ? "" : "inactive", dataset: { name: device.name } },
        el("td", {}, el("strong", {}, device.name)),
        el("td", {}, DEVICE_KINDS[device.kind] || device.kind),
        el("td", {}, counter ? `Quầy ${counter.number}` : "—"),
        el(
          "td",
          {},
          el("span", { className: device.online ? "dot on" : "dot" }),
          device.online ? "Trực tuyến" : "Ngoại tuyến",
          el("div", { className: "muted" }, device.last_seen_at ? `Lần cuối: ${A.formatDateTime(device.last_seen_at)}` : "Chưa kết nối lần nào"),
        ),
        el("td", {}, printerBadge(device)),
        el(
          "td",
          { className: "actions" },
          device.active
            ? el("button", { type: "button", className: "small", onclick: () => formDialog(`Sửa thiết bị ${device.name}`, deviceForm(false), { ...device, counter_id: device.counter_id ?? "" }, (v) => saveItem("/admin/devices", device.id, deviceBody(v), `Đã lưu thiết bị “${v.name}”.`)) }, "Sửa")
            : null,
          device.active ? activeButton("thiết bị (thu hồi mã)", "/admin/devices", device, device.name) : el("span", { className: "muted" }, "Mã đã thu hồi"),
        ),
      );
    });
    return card(
      "Thiết bị",
      el("button", { type: "button", className: "primary", id: "add-device", onclick: () => formDialog("Thêm thiết bị", deviceForm(true), { kind: "kiosk", counter_id: "" }, addDevice, { saveLabel: "Tạo mã thiết bị" }) }, "Thêm thiết bị"),
      el("p", { className: "muted" }, "Mỗi máy lấy số, màn hình chờ và màn hình quầy dùng một mã thiết bị riêng. Thu hồi mã khi thiết bị bị mất hoặc thay thế."),
      table([["Tên"], ["Loại"], ["Quầy"], ["Kết nối"], ["Máy in"], [""]], rows, "Chưa có thiết bị nào."),
    );
  }

  async function addDevice(values) {
    const created = await A.api("/admin/devices", { method: "POST", body: { ...deviceBody(values), centre_id: session.centre.id } });
    // The token exists only in this answer: show it before anything else can fail.
    showToken(created);
    reload();
    return KEEP_OPEN;
  }

  function showToken(created) {
    const device = created.device;
    const pages = {
      display: ["Mở trên trình duyệt của TV", `${location.origin}/board#token=${created.token}`],
      counter_panel: ["Mở trên máy tính bảng đánh giá", `${location.origin}/rating#token=${created.token}`],
    };
    const page = pages[device.kind];
    openDialog(
      `Đã tạo thiết bị “${device.name}”`,
      el("p", {}, "Mã thiết bị dưới đây ", el("strong", {}, "chỉ hiện một lần"), ". Hãy nhập ngay vào thiết bị (hoặc chép lại ở nơi an toàn)."),
      el("div", { className: "secret", id: "device-token" }, created.token),
      page ? el("p", {}, page[0] + ": ", el("br"), el("span", { className: "secret", id: "device-link" }, page[1])) : null,
      device.kind === "kiosk" ? el("p", { className: "muted" }, "Trên máy lấy số: hangdoi kiosk --token <mã>, hoặc đặt HANGDOI_KIOSK_TOKEN.") : null,
      el("div", { className: "form-actions" }, el("button", { type: "button", className: "primary", onclick: closeDialog }, "Đã chép mã, đóng")),
    );
  }

  // --- priority groups ----------------------------------------------------------------------------------

  const GROUP_FORM = [
    { name: "code", label: "Mã", type: "text", required: true, maxLength: 32, pattern: CODE.pattern, patternMessage: CODE.message },
    { name: "name", label: "Tên nhóm", type: "text", required: true, maxLength: 200, help: "Ví dụ: Người cao tuổi." },
    { name: "display_order", label: "Thứ tự hiển thị", type: "number", required: true, min: -1000, max: 1000 },
  ];

  function renderGroups() {
    const rows = data.groups.map((group) =>
      el(
        "tr",
        { className: group.active ? "" : "inactive", dataset: { code: group.code } },
        el("td", { className: "num" }, group.display_order),
        el("td", {}, el("strong", {}, group.code)),
        el("td", {}, group.name),
        el("td", {}, status(group.active)),
        el(
          "td",
          { className: "actions" },
          el("button", { type: "button", className: "small", onclick: () => formDialog(`Sửa nhóm ${group.name}`, GROUP_FORM, group, (v) => saveItem("/admin/priority-groups", group.id, v, `Đã lưu nhóm “${v.name}”.`)) }, "Sửa"),
          activeButton("nhóm ưu tiên", "/admin/priority-groups", group, group.name),
        ),
      ),
    );
    const next = data.groups.length ? Math.max(...data.groups.map((g) => g.display_order)) + 1 : 1;
    return card(
      "Nhóm ưu tiên",
      el("button", { type: "button", className: "primary", id: "add-group", onclick: () => formDialog("Thêm nhóm ưu tiên", GROUP_FORM, { display_order: next }, addGroup) }, "Thêm nhóm ưu tiên"),
      el("p", { className: "muted" }, "Công dân thuộc các nhóm này chọn “Ưu tiên” ở máy lấy số và được gọi trước."),
      table([["Thứ tự", "num"], ["Mã"], ["Tên"], ["Trạng thái"], [""]], rows, "Chưa có nhóm ưu tiên nào."),
    );
  }

  async function addGroup(values) {
    await A.api("/admin/priority-groups", { method: "POST", body: { ...values, centre_id: session.centre.id } });
    await changed(`Đã thêm nhóm ưu tiên “${values.name}”.`);
  }

  // --- start ----------------------------------------------------------------------------------------------

  async function main() {
    session = await A.start("config");
    const wanted = location.hash.slice(1);
    if (["centre", "fields", "counters", "officers", "devices", "groups"].includes(wanted)) tab = wanted;
    for (const button of document.querySelectorAll(".tabs button")) {
      button.addEventListener("click", async () => {
        tab = button.dataset.tab;
        history.replaceState(null, "", `#${tab}`);
        render();
        await reload(); // what others changed meanwhile (a device coming online, a counter opening)
      });
    }
    A.onCentreChange(async () => {
      await load();
      render();
    });
    await reload();
    // Devices come and go without telling this page: refresh their tab while it is shown.
    setInterval(() => {
      if (tab === "devices" && !$("dialog").open) reload();
    }, 15000);
  }

  async function reload() {
    try {
      await load();
    } catch (problem) {
      A.toast(problem.message, true);
      return;
    }
    render(); // the tab behind the dialog; an open dialog keeps what is being typed
  }

  main();
})();
