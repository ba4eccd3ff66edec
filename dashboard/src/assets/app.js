// mqdashboard's page. Everything shown comes from the cluster, so every element is built with
// textContent (never innerHTML): a topic named <img onerror=...> or a body of <script> shows as
// text. The Content-Security-Policy allows scripts from this origin only.
"use strict";

let session = null;
let timer = null; // the current page's refresh timer

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function toast(message, isError) {
  const t = document.getElementById("toast");
  t.textContent = message;
  t.className = isError ? "error" : "";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, isError ? 8000 : 3000);
}

async function call(method, path, params, body) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) url.searchParams.set(k, v);
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRF-Token"] = session.csrfToken;
    const key = sessionStorage.getItem("ferromq.accessKey");
    const secret = sessionStorage.getItem("ferromq.secretKey");
    if (key && secret) {
      init.headers["X-Access-Key"] = key;
      init.headers["X-Secret-Key"] = secret;
    }
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  const data = await res.json().catch(() => ({ error: "HTTP " + res.status }));
  if (!res.ok) throw new Error(data.error || "HTTP " + res.status);
  return data;
}
const get = (path, params) => call("GET", path, params);
const post = (path, body) => call("POST", path, undefined, body);

function fmtTime(ms) {
  if (!ms || ms <= 0) return "-";
  return new Date(ms).toLocaleString();
}

function table(columns, rows, onRow) {
  return el("table", {},
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { class: c.num ? "num" : null, text: c.title })))),
    el("tbody", {}, rows.length === 0
      ? el("tr", {}, el("td", { colspan: columns.length, class: "muted", text: "none" }))
      : rows.map((r) => el("tr", { class: onRow ? "clickable" : null, onclick: onRow ? () => onRow(r) : null },
        columns.map((c) => {
          const v = c.value(r);
          return el("td", { class: c.num ? "num" : null }, v instanceof Node ? v : String(v ?? "-"));
        })))));
}

function field(label, input) {
  // A checkbox sits beside its label; other inputs below theirs.
  if (input.type === "checkbox") return el("label", { class: "check" }, input, label);
  return el("label", {}, label, input);
}

function hashParams() {
  const i = location.hash.indexOf("?");
  return new URLSearchParams(i < 0 ? "" : location.hash.slice(i + 1));
}
function link(page, params, text) {
  return el("a", { href: "#/" + page + "?" + new URLSearchParams(params).toString(), text });
}

// ---- charts (canvas, no library) ----

function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 600, h = canvas.clientHeight || 220;
  canvas.width = w * ratio; canvas.height = h * ratio;
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, w, h);
  g.font = "11px system-ui, sans-serif";
  return { g, w, h };
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// series: [{name, color, points: [numbers]}]
function lineChart(canvas, series, capacity) {
  const { g, w, h } = prepare(canvas);
  const pad = { l: 48, r: 10, t: 18, b: 18 };
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.points)));
  g.strokeStyle = "#e3e6ec"; g.fillStyle = "#6b7486";
  for (let i = 0; i <= 4; i++) {
    const y = pad.t + (h - pad.t - pad.b) * i / 4;
    g.beginPath(); g.moveTo(pad.l, y); g.lineTo(w - pad.r, y); g.stroke();
    const tick = max * (4 - i) / 4;
    g.fillText(max >= 10 ? String(Math.round(tick)) : String(+tick.toFixed(2)), 4, y + 4);
  }
  let legend = pad.l;
  for (const s of series) {
    g.strokeStyle = s.color; g.lineWidth = 2; g.beginPath();
    s.points.forEach((v, i) => {
      const x = pad.l + (w - pad.l - pad.r) * i / Math.max(1, capacity - 1);
      const y = pad.t + (h - pad.t - pad.b) * (1 - v / max);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke(); g.lineWidth = 1;
    g.fillStyle = s.color; g.fillText(s.name, legend, 12); legend += g.measureText(s.name).width + 16;
  }
  canvas.dataset.drawn = String(series.reduce((n, s) => n + s.points.length, 0));
}

function barChart(canvas, labels, values) {
  const { g, w, h } = prepare(canvas);
  const pad = { l: 48, r: 10, t: 10, b: 30 };
  const max = niceMax(Math.max(0, ...values));
  const n = Math.max(1, values.length);
  const bw = (w - pad.l - pad.r) / n;
  g.fillStyle = "#6b7486";
  g.fillText(String(max), 4, pad.t + 8); g.fillText("0", 4, h - pad.b);
  values.forEach((v, i) => {
    const bh = (h - pad.t - pad.b) * v / max;
    g.fillStyle = "#2f5bd3";
    g.fillRect(pad.l + i * bw + 2, h - pad.b - bh, Math.max(1, bw - 4), bh);
    if (bw > 26) { g.fillStyle = "#4b5468"; g.fillText(labels[i], pad.l + i * bw + 2, h - pad.b + 14); }
  });
  canvas.dataset.drawn = String(values.length);
}

// ---- pages ----

const pages = {};

pages.cluster = async (main) => {
  const capacity = 60;
  const put = [], got = [];
  const chart = el("canvas", { id: "tps-chart" });
  const holder = el("div");
  main.append(el("h1", { text: "Cluster" }), el("h2", { text: "TPS (all brokers, last 10 s rate)" }), chart, holder);
  const refresh = async () => {
    const data = await get("/api/cluster");
    let p = 0, q = 0;
    const blocks = data.clusters.map((c) => {
      for (const b of c.brokers) { p += b.putTps || 0; q += b.getTps || 0; }
      return el("div", { class: "card" }, el("h2", { text: c.name }), table([
        { title: "Broker", value: (b) => b.brokerName },
        { title: "Id", value: (b) => b.brokerId, num: true },
        { title: "Role", value: (b) => b.role },
        { title: "Address", value: (b) => b.addr },
        { title: "Version", value: (b) => b.error ? el("span", { class: "error", text: b.error }) : b.version },
        { title: "TPS in", value: (b) => (b.putTps ?? 0).toFixed(1), num: true },
        { title: "TPS out", value: (b) => (b.getTps ?? 0).toFixed(1), num: true },
        { title: "Disk", value: (b) => b.diskRatio === undefined ? "-" : (b.diskRatio * 100).toFixed(0) + " %", num: true },
        { title: "Replication", value: (b) => {
          const r = b.replication || {};
          if (r.master) return "replicates " + r.master;
          if (r.slaves && r.slaves.length) return r.slaves.map((s) => s.addr + " behind " + s.lagBytes + " B").join(", ");
          return "-";
        } },
      ], c.brokers));
    });
    put.push(p); got.push(q);
    if (put.length > capacity) { put.shift(); got.shift(); }
    holder.replaceChildren(...blocks);
    lineChart(chart, [{ name: "in", color: "#2f5bd3", points: put }, { name: "out", color: "#1f9d55", points: got }], capacity);
  };
  await refresh();
  timer = setInterval(() => refresh().catch((e) => toast(e.message, true)), 3000);
};

pages.topics = async (main) => {
  const q = hashParams().get("q") || "";
  const search = el("input", { type: "search", placeholder: "search", value: q, id: "topic-search" });
  const list = el("div");
  const name = el("input", { id: "new-topic", placeholder: "TopicName", required: true });
  const queues = el("input", { type: "number", min: 1, max: 1024, value: 8 });
  const cluster = el("input", { placeholder: "DefaultCluster" });
  const order = el("input", { type: "checkbox" });
  const create = el("form", { class: "inline", onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await post("/api/topic/update", { name: name.value, queues: +queues.value, cluster: cluster.value, order: order.checked });
      toast("topic " + name.value + " saved");
      await load();
    } catch (e) { toast(e.message, true); }
  } }, field("Topic", name), field("Queues", queues), field("Cluster", cluster), field("Ordered", order),
  el("button", { type: "submit", id: "create-topic", disabled: session.readOnly, text: "Create / update" }));
  const load = async () => {
    const data = await get("/api/topics", { q: search.value });
    list.replaceChildren(table([
      { title: "Topic", value: (t) => t.name },
      { title: "Kind", value: (t) => el("span", { class: "tag", text: t.kind }) },
    ], data.topics, (t) => { location.hash = "#/topic?" + new URLSearchParams({ name: t.name }); }));
  };
  search.addEventListener("input", () => load().catch((e) => toast(e.message, true)));
  main.append(el("h1", { text: "Topics" }), el("div", { class: "card" }, create), search, list);
  await load();
};

pages.topic = async (main) => {
  const name = hashParams().get("name");
  const data = await get("/api/topic", { name });
  const tag = el("input", { placeholder: "TagA" });
  const keys = el("input", { placeholder: "key1 key2" });
  const body = el("textarea", { id: "send-body", placeholder: "message body" });
  const result = el("div", { id: "send-result", class: "muted" });
  const send = el("form", { class: "inline", onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const r = await post("/api/topic/send", { topic: name, tag: tag.value, keys: keys.value, body: body.value });
      result.textContent = r.status + ": " + r.msgId + " in " + r.brokerName + "/" + r.queueId + " at " + r.queueOffset;
    } catch (e) { toast(e.message, true); }
  } }, field("Tag", tag), field("Keys", keys), field("Body", body),
  el("button", { type: "submit", id: "send-message", disabled: session.readOnly, text: "Send" }));
  const del = el("button", { class: "danger", disabled: session.readOnly, text: "Delete topic", onclick: async () => {
    if (!confirm("Delete topic " + name + " on every broker of its cluster?")) return;
    try {
      const cluster = (data.route.brokers[0] || {}).cluster;
      await post("/api/topic/delete", { name, cluster });
      toast("deleted " + name); location.hash = "#/topics";
    } catch (e) { toast(e.message, true); }
  } });
  main.append(
    el("h1", {}, "Topic ", el("span", { id: "topic-name", text: name }), " ", el("span", { class: "tag", text: data.kind })),
    el("h2", { text: "Queues" }),
    table([
      { title: "Broker", value: (q) => q.brokerName },
      { title: "Queue", value: (q) => q.queueId, num: true },
      { title: "Min offset", value: (q) => q.minOffset, num: true },
      { title: "Max offset", value: (q) => q.maxOffset, num: true },
      { title: "Last update", value: (q) => fmtTime(q.lastUpdateTimestamp) },
    ], data.queues),
    el("h2", { text: "Route" }),
    table([
      { title: "Broker", value: (b) => b.brokerName },
      { title: "Cluster", value: (b) => b.cluster },
      { title: "Addresses", value: (b) => Object.entries(b.addrs).map(([id, a]) => id + "=" + a).join(" ") },
    ], data.route.brokers),
    el("h2", { text: "Consumer groups" }),
    el("div", {}, data.consumerGroups.length ? data.consumerGroups.map((g) => [link("group", { name: g }, g), " "]) : el("span", { class: "muted", text: "none" })),
    el("h2", { text: "Send a test message" }), el("div", { class: "card" }, send, result),
    el("p", {}, del));
};

pages.groups = async (main) => {
  const search = el("input", { type: "search", placeholder: "search" });
  const showSystem = el("input", { type: "checkbox" });
  const list = el("div");
  const load = async () => {
    const data = await get("/api/groups", { q: search.value });
    const groups = data.groups.filter((g) => showSystem.checked || !g.system);
    list.replaceChildren(table([{ title: "Group", value: (g) => g.name }], groups,
      (g) => { location.hash = "#/group?" + new URLSearchParams({ name: g.name }); }));
  };
  search.addEventListener("input", () => load().catch((e) => toast(e.message, true)));
  showSystem.addEventListener("change", () => load().catch((e) => toast(e.message, true)));
  main.append(el("h1", { text: "Consumer groups" }), el("div", { class: "inline" }, search, " ", field("System groups", showSystem)), list);
  await load();
};

pages.group = async (main) => {
  const name = hashParams().get("name");
  const chart = el("canvas", { id: "lag-chart" });
  const holder = el("div");
  const topics = el("select", { id: "reset-topic" });
  const when = el("input", { type: "datetime-local", id: "reset-time", step: 1 });
  const reset = el("form", { class: "inline", onsubmit: async (ev) => {
    ev.preventDefault();
    const ts = when.value ? new Date(when.value).getTime() : Date.now();
    if (!confirm("Reset " + name + " on " + topics.value + " to " + new Date(ts).toLocaleString() + "?")) return;
    try {
      const r = await post("/api/group/reset-offset", { group: name, topic: topics.value, timestamp: ts });
      toast(r.queues + " queues reset"); await refresh();
    } catch (e) { toast(e.message, true); }
  } }, field("Topic", topics), field("Time", when), el("button", { type: "submit", disabled: session.readOnly, text: "Reset offset" }));
  main.append(el("h1", {}, "Consumer group ", el("span", { text: name })), holder,
    el("h2", { text: "Lag per queue" }), chart, el("h2", { text: "Reset offset by time" }), el("div", { class: "card" }, reset));
  const refresh = async () => {
    const d = await get("/api/group", { name });
    const subscribed = Object.keys(d.subscriptions);
    const known = new Set([...topics.options].map((o) => o.value));
    const candidates = [...new Set([...subscribed, ...d.queues.map((q) => q.topic)])]
      .sort((a, b) => a.startsWith("%RETRY%") - b.startsWith("%RETRY%") || a.localeCompare(b));
    for (const t of candidates) {
      if (!known.has(t)) topics.append(el("option", { value: t, text: t }));
    }
    holder.replaceChildren(
      el("p", {}, "Type: " + (d.consumeType || "-") + ", model: " + (d.messageModel || "-") +
        ", total lag: ", el("strong", { id: "total-lag", text: d.totalLag }), ", consume TPS: " + d.consumeTps.toFixed(1)),
      el("h2", { text: "Members" }),
      table([
        { title: "Client id", value: (m) => m.clientId },
        { title: "Address", value: (m) => m.clientAddr },
        { title: "Language", value: (m) => m.language },
        { title: "Version", value: (m) => m.version },
      ], d.members),
      el("h2", { text: "Subscriptions" }),
      table([{ title: "Topic", value: (s) => s[0] }, { title: "Expression", value: (s) => s[1] }], Object.entries(d.subscriptions)),
      el("h2", { text: "Queues" }),
      table([
        { title: "Topic", value: (q) => q.topic },
        { title: "Broker", value: (q) => q.brokerName },
        { title: "Queue", value: (q) => q.queueId, num: true },
        { title: "Broker offset", value: (q) => q.brokerOffset, num: true },
        { title: "Consumer offset", value: (q) => q.consumerOffset, num: true },
        { title: "Lag", value: (q) => q.lag, num: true },
        { title: "Last consumed", value: (q) => fmtTime(q.lastTimestamp) },
      ], d.queues));
    // Bars labelled by queue id ("r" for the retry topic's queues); the table names the broker.
    barChart(chart, d.queues.map((q) => (q.topic.startsWith("%RETRY%") ? "r" : "") + q.queueId), d.queues.map((q) => q.lag));
  };
  await refresh();
  timer = setInterval(() => refresh().catch((e) => toast(e.message, true)), 5000);
};

function messageDetail(m) {
  const asHex = el("input", { type: "checkbox" });
  const body = el("pre", { id: "message-body", text: m.bodyText });
  asHex.addEventListener("change", () => {
    body.textContent = asHex.checked ? m.bodyHex.replace(/(..)/g, "$1 ").trim() : m.bodyText;
  });
  const dlqGroup = m.topic.startsWith("%DLQ%") ? m.topic.slice(5) : null;
  return el("div", { class: "card", id: "message-detail" },
    el("h2", { text: "Message " + m.msgId }),
    table([{ title: "Field", value: (r) => r[0] }, { title: "Value", value: (r) => r[1] }], [
      ["Topic", m.topic], ["Tag", m.tag ?? "-"], ["Keys", m.keys.join(" ")],
      ["Queue", m.brokerName + "/" + m.queueId + " @ " + m.queueOffset], ["Offset id", m.offsetMsgId],
      ["Born", fmtTime(m.bornTimestamp) + " from " + m.bornHost], ["Stored", fmtTime(m.storeTimestamp) + " on " + m.storeHost],
      ["Reconsume times", m.reconsumeTimes], ["Body size", m.bodySize + " B" + (m.bodyTruncated ? " (first 64 KiB shown)" : "")],
      ...Object.entries(m.properties).map(([k, v]) => ["property " + k, v]),
    ]),
    el("h2", { text: "Body" }), field("as hex", asHex), body,
    traceView(m.msgId),
    dlqGroup && el("button", { disabled: session.readOnly, text: "Resend to " + dlqGroup, onclick: async () => {
      try { const r = await post("/api/messages/resend-dlq", { group: dlqGroup, id: m.msgId }); toast("resent as " + r.msgId); }
      catch (e) { toast(e.message, true); }
    } }));
}

// The message's trace records (message trace, docs/message-trace.md), loaded on demand.
function traceView(msgId) {
  const topic = el("input", { placeholder: "RMQ_SYS_TRACE_TOPIC", size: 24 });
  const out = el("div", { id: "message-trace" });
  const load = async (ev) => {
    ev.preventDefault();
    try {
      const d = await get("/api/messages/trace", { id: msgId, traceTopic: topic.value });
      out.replaceChildren(d.traces.length ? table([
        { title: "Type", value: (t) => t.type },
        { title: "Group", value: (t) => t.group },
        { title: "Client", value: (t) => t.clientHost },
        { title: "Time", value: (t) => fmtTime(t.timestamp) },
        { title: "Cost", value: (t) => t.costTime + " ms" },
        { title: "Status", value: (t) => t.type === "SubBefore" ? "-" : (t.success ? "success" : "failed") },
      ], d.traces) : el("p", { text: "no trace of this message in " + d.traceTopic }));
    } catch (e) { toast(e.message, true); }
  };
  return el("div", {},
    el("h2", { text: "Trace" }),
    el("form", { class: "inline", onsubmit: load }, field("Trace topic", topic), el("button", { type: "submit", text: "Show trace" })),
    out);
}

pages.messages = async (main) => {
  const p = hashParams();
  const results = el("div", { id: "message-results" });
  const detail = el("div");
  const show = (data) => {
    detail.replaceChildren();
    results.replaceChildren(table([
      { title: "Message id", value: (m) => m.msgId },
      { title: "Tag", value: (m) => m.tag ?? "-" },
      { title: "Keys", value: (m) => m.keys.join(" ") },
      { title: "Stored", value: (m) => fmtTime(m.storeTimestamp) },
      { title: "Body", value: (m) => m.bodyText.slice(0, 80) },
    ], data.messages, (m) => detail.replaceChildren(messageDetail(m))));
  };
  const search = (path, params) => get(path, params).then(show).catch((e) => toast(e.message, true));
  const topic = () => el("input", { placeholder: "Topic", required: true, value: p.get("topic") || "" });
  const t1 = topic(), key = el("input", { placeholder: "Key", required: true, id: "search-key" });
  const t2 = topic(), id = el("input", { placeholder: "Message id", required: true, size: 34 });
  const t3 = topic();
  const hour = new Date(Date.now() - 3600e3 - new Date().getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
  const begin = el("input", { type: "datetime-local", value: hour }), end = el("input", { type: "datetime-local" });
  main.append(el("h1", { text: "Messages" }),
    el("form", { class: "inline", id: "by-key", onsubmit: (ev) => { ev.preventDefault(); search("/api/messages/by-key", { topic: t1.value, key: key.value }); } },
      field("Topic", t1), field("Key", key), el("button", { type: "submit", text: "Find by key" })),
    el("form", { class: "inline", onsubmit: (ev) => { ev.preventDefault(); search("/api/messages/by-id", { topic: t2.value, id: id.value }); } },
      field("Topic", t2), field("Message id", id), el("button", { type: "submit", text: "Find by id" })),
    el("form", { class: "inline", onsubmit: (ev) => {
      ev.preventDefault();
      search("/api/messages/by-time", { topic: t3.value, begin: new Date(begin.value).getTime(), end: end.value ? new Date(end.value).getTime() : Date.now() });
    } }, field("Topic", t3), field("From", begin), field("To", end), el("button", { type: "submit", text: "Find by time" })),
    results, detail);
};

pages.producers = async (main) => {
  const topic = el("input", { placeholder: "Topic", required: true });
  const group = el("input", { placeholder: "Producer group", required: true });
  const results = el("div");
  main.append(el("h1", { text: "Producers" }),
    el("form", { class: "inline", onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const d = await get("/api/producers", { topic: topic.value, group: group.value });
        results.replaceChildren(table([
          { title: "Client id", value: (c) => c.clientId },
          { title: "Address", value: (c) => c.clientAddr },
          { title: "Language", value: (c) => c.language },
          { title: "Version", value: (c) => c.version },
          { title: "Broker", value: (c) => c.brokerName },
        ], d.connections));
      } catch (e) { toast(e.message, true); }
    } }, field("Topic", topic), field("Group", group), el("button", { type: "submit", text: "Show connections" })),
    results);
};

async function render() {
  clearInterval(timer); timer = null;
  const page = (location.hash.replace(/^#\//, "").split("?")[0]) || "cluster";
  const main = document.getElementById("main");
  main.replaceChildren();
  for (const a of document.querySelectorAll("header nav a")) {
    a.classList.toggle("active", a.dataset.page === page || a.dataset.page + "s" === page);
  }
  const show = pages[page];
  if (!show) { main.append(el("p", { class: "error", text: "no such page" })); return; }
  try { await show(main); } catch (e) { main.append(el("p", { class: "error", text: e.message })); }
  main.dataset.page = page;
}

// Credentials for changes (ACL clusters): kept in sessionStorage, so they leave with the tab.
function showSignedIn() {
  const key = sessionStorage.getItem("ferromq.accessKey");
  document.getElementById("signin").textContent = key ? "Signed as " + key : "Credentials";
}

function setUpCredentials() {
  const form = document.getElementById("credentials");
  document.getElementById("signin").addEventListener("click", () => { form.hidden = !form.hidden; });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = document.getElementById("access-key").value.trim();
    const secret = document.getElementById("secret-key").value;
    if (!key || !secret) { toast("both keys are needed", true); return; }
    sessionStorage.setItem("ferromq.accessKey", key);
    sessionStorage.setItem("ferromq.secretKey", secret);
    document.getElementById("secret-key").value = "";
    form.hidden = true;
    showSignedIn();
  });
  document.getElementById("forget").addEventListener("click", () => {
    sessionStorage.removeItem("ferromq.accessKey");
    sessionStorage.removeItem("ferromq.secretKey");
    form.hidden = true;
    showSignedIn();
  });
  showSignedIn();
}

window.addEventListener("hashchange", render);
window.addEventListener("DOMContentLoaded", async () => {
  setUpCredentials();
  try {
    session = await get("/api/session");
    document.getElementById("namesrv").textContent = "name server " + session.namesrv + (session.readOnly ? " (read-only)" : "");
  } catch (e) { toast(e.message, true); return; }
  render();
});
