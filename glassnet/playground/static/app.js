// The glassnet playground page: connects to the Python process (server-sent
// events for frames, POST for commands; every URL relative to /TOKEN/),
// renders the newest frame once per animation frame (stale frames are
// dropped), keeps the setup in the URL fragment, and explains what is clicked.

import { h, clear, fmt, installTooltip } from "./views/util.js";
import { NetworkView } from "./views/network.js";
import { BoundaryView, LossView, GradView } from "./views/charts.js";
import { GraphView } from "./views/graph.js";
import { CnnView, DigitView } from "./views/cnn.js";
import { RnnView, SeriesView } from "./views/rnn.js";
import { ExplainPanel } from "./views/explain.js";

const FIELDS = ["data", "noise", "n_samples", "model", "hidden", "activation", "cell",
  "optimizer", "lr", "batch_size", "l2", "seed"];
const STRUCTURAL = ["data", "noise", "n_samples", "model", "hidden", "activation", "cell", "seed"];
const NUMERIC = new Set(["noise", "n_samples", "lr", "batch_size", "l2", "seed"]);
const MAX_UNITS = 32;
const MAX_LAYERS = 6;

const $ = (id) => document.getElementById(id);

const state = {
  latest: null,        // newest frame received
  shown: -1,           // id of the frame on screen
  frame: null,         // the frame on screen
  raf: 0,
  es: null,
  hashReady: false,    // the fragment's setup has been applied (only then is the fragment rewritten)
  explainSeq: 0,
  tab: "model",
};

// ------------------------------------------------------------------ commands
async function command(body) {
  const r = await fetch("command", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    cache: "no-store",
  });
  let reply;
  try {
    reply = await r.json();
  } catch (e) {
    reply = { error: `${r.status} ${r.statusText}` };
  }
  if (!r.ok || reply.error) throw new Error(reply.error || `${r.status} ${r.statusText}`);
  return reply;
}

async function send(body) {
  try {
    const reply = await command(body);
    if (reply && typeof reply.id === "number" && reply.id > state.shown) fetchFrame();
    return reply;
  } catch (e) {
    toast(e.message);
    if (state.frame) syncControls(state.frame.setup, true);
    return null;
  }
}

let toastTimer = 0;
function toast(message) {
  const t = $("error-toast");
  t.textContent = message;
  t.classList.remove("hidden");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.add("hidden"), 6000);
}

// ------------------------------------------------------------------ frames
async function fetchFrame() {
  try {
    const r = await fetch("frame", { cache: "no-store" });
    if (!r.ok) return null;
    const f = await r.json();
    accept(f);
    return f;
  } catch (e) {
    return null;
  }
}

function accept(frame) {
  if (!frame || typeof frame.id !== "number") return;
  if (state.latest && frame.id <= state.latest.id) return;   // stale
  state.latest = frame;
  if (!state.raf) state.raf = requestAnimationFrame(draw);
}

function connect() {
  if (state.es) state.es.close();
  const es = new EventSource("events");
  state.es = es;
  es.addEventListener("frame", (e) => {
    try {
      accept(JSON.parse(e.data));
    } catch (err) {
      /* a torn message: the next frame replaces it */
    }
  });
  es.addEventListener("open", () => setConn("live"));
  es.addEventListener("error", () => {
    if (es.readyState === EventSource.CLOSED) {
      setConn("offline");
      setTimeout(() => { if (state.es === es) connect(); }, 2000);
    } else {
      setConn("reconnecting");
    }
  });
}

function setConn(what) {
  const c = $("conn");
  c.dataset.state = what;
  c.textContent = { live: "live", reconnecting: "reconnecting…", offline: "offline — retrying" }[what] || what;
}

// ------------------------------------------------------------------ views
let views = null;

function makeViews() {
  const explain = (t) => explainTarget(t);
  views = {
    network: new NetworkView($("network-view"), { onExplain: explain, onUnits: changeUnits }),
    cnn: new CnnView($("cnn-view"), { onExplain: explain }),
    rnn: new RnnView($("rnn-view"), { onExplain: explain }),
    boundary: null,
    digit: null,
    series: null,
    loss: new LossView($("loss-view")),
    grads: new GradView($("grad-view")),
    graph: new GraphView($("graph-view")),
    explain: new ExplainPanel({ onClose: () => select(null), onLayout: relayout }),
    outputKind: null,
  };
}

function draw() {
  state.raf = 0;
  const f = state.latest;
  if (!f || f.id === state.shown) return;
  state.shown = f.id;
  const prev = state.frame;
  state.frame = f;
  try {
    render(f, prev);
  } catch (e) {
    console.warn("playground: a frame could not be drawn", e);
  }
}

function render(f, prev) {
  document.body.dataset.kind = f.kind || "";
  document.body.dataset.data = (f.setup && f.setup.data) || "";
  document.body.classList.toggle("running", !!f.running);
  const step = $("step");
  step.textContent = String(f.step);
  step.dataset.value = String(f.step);
  const loss = $("loss");
  loss.textContent = f.loss === null || f.loss === undefined ? "–" : fmt(f.loss, 4);
  loss.dataset.value = String(f.loss);
  const acc = $("accuracy");
  const hasAcc = f.accuracy !== null && f.accuracy !== undefined;
  $("accuracy-box").classList.toggle("hidden", !hasAcc);
  acc.textContent = hasAcc ? `${(100 * f.accuracy).toFixed(1)}%` : "–";
  acc.dataset.value = String(f.accuracy);
  $("play").classList.toggle("hidden", !!f.running);
  $("pause").classList.toggle("hidden", !f.running);
  document.body.dataset.frame = String(f.id);
  document.body.dataset.step = String(f.step);

  const banner = $("nan-banner");
  if (f.nan) {
    $("nan-message").textContent = f.nan.message || "";
    $("nan-hint").classList.toggle("hidden", !!f.nan.message);
    banner.classList.remove("hidden");
  } else {
    banner.classList.add("hidden");
  }

  if (f.setup) {
    syncControls(f.setup, false);
    if (state.hashReady) writeHash(f.setup);
  }

  const kind = f.kind || "mlp";
  $("network-view").classList.toggle("hidden", kind !== "mlp");
  $("cnn-view").classList.toggle("hidden", kind !== "cnn");
  $("rnn-view").classList.toggle("hidden", kind !== "rnn");
  if (kind === "mlp" && f.network) views.network.render(f);
  if (kind === "cnn" && f.cnn) views.cnn.render(f);
  if (kind === "rnn" && f.rnn) views.rnn.render(f);

  renderOutput(f);
  views.loss.render(f);
  views.grads.render(f);
  if (state.tab === "graph") views.graph.render(f);
  select(views.explain.target);

  // a rebuilt model (a structural field changed) has other units: its old explanation goes
  const panel = views.explain;
  if (panel.open && prev && prev.setup && f.setup &&
      STRUCTURAL.some((k) => differs(prev.setup[k], f.setup[k]))) {
    panel.close();
  }
  // an open explanation follows the step it explains when training was stepped by hand
  if (panel.open && panel.target && !f.running && prev && prev.step !== f.step &&
      panel.panel.dataset.state !== "loading") {
    explainTarget(panel.target, true);
  }
}

function renderOutput(f) {
  const slot = $("output-view");
  let kind;
  if (f.boundary) kind = "boundary";
  else if (f.kind === "cnn" || (f.cnn && f.cnn.image)) kind = "digit";
  else if (f.rnn) kind = "series";
  else kind = "none";
  if (kind !== views.outputKind) {
    clear(slot);
    views.outputKind = kind;
    views.boundary = kind === "boundary" ? new BoundaryView(slot) : null;
    views.digit = kind === "digit" ? new DigitView(slot) : null;
    views.series = kind === "series" ? new SeriesView(slot) : null;
    $("output-title").textContent = { boundary: "Decision boundary", digit: "Prediction",
      series: "Next-value prediction", none: "Output" }[kind];
  }
  if (views.boundary) views.boundary.render(f);
  if (views.digit) views.digit.render(f);
  if (views.series) views.series.render(f);
  if (kind === "none") {
    clear(slot).appendChild(h("p", { class: "muted",
      text: f.accuracy !== null && f.accuracy !== undefined ? `accuracy ${(100 * f.accuracy).toFixed(1)}%` : "" }));
  }
}

// The page's columns changed (a resize, the explain panel): lay the views out again.
function relayout() {
  if (!state.frame) return;
  views.network.key = null;
  views.cnn.key = null;
  views.rnn.key = null;
  views.outputKind = null;
  render(state.frame, state.frame);
}

// ------------------------------------------------------------------ explain
function describe(t) {
  switch (t.kind) {
    case "neuron": return `unit ${t.unit} of layer ${t.layer}`;
    case "weight": return `weight W^[${t.layer}]_${t.row}${t.col}`;
    case "bias": return `bias b^[${t.layer}]_${t.unit}`;
    case "pixel": return `pixel (${t.row}, ${t.col}) of map ${t.channel}, conv layer ${t.layer}`;
    case "hidden": return `h_${t.t}, unit ${t.unit}${t.layer ? ` of layer ${t.layer}` : ""}`;
    case "gate": return `${t.gate === "c" ? "cell state" : "gate"} ${t.gate}_${t.t}, unit ${t.unit}${t.layer ? ` of layer ${t.layer}` : ""}`;
    default: return t.kind;
  }
}

async function explainTarget(target, refresh = false) {
  const seq = ++state.explainSeq;
  const panel = views.explain;
  if (!refresh) panel.loading(target, describe(target));
  else panel.target = target;
  select(target);
  try {
    const reply = await command({ cmd: "explain", target });
    if (seq !== state.explainSeq) return;
    panel.show(reply, state.frame ? state.frame.step : null);
    if (target.kind === "pixel" && views.cnn) views.cnn.receptive(target, reply.receptive_field);
  } catch (e) {
    if (seq !== state.explainSeq) return;
    panel.error(e.message);
  }
}

function select(target) {
  views.network.select(target && views.explain.open ? target : null);
  views.cnn.select(target && views.explain.open ? target : null);
  views.rnn.select(target && views.explain.open ? target : null);
}

// ------------------------------------------------------------------ controls
function syncControls(setup, force) {
  for (const f of ["data", "model", "cell", "activation", "optimizer", "lr", "batch_size", "l2", "seed", "noise"]) {
    const el = $(f);
    if (!el || setup[f] === undefined) continue;
    if (!force && document.activeElement === el && el.tagName === "INPUT" && el.type !== "range") continue;
    const v = String(setup[f]);
    if (el.value !== v) el.value = v;
  }
  $("noise-value").textContent = String(setup.noise);
  const data = setup.data;
  const isToy = ["moons", "circles", "xor", "spiral"].includes(data);
  const isCnn = data === "digits" && setup.model === "cnn";
  const isRnn = data === "sine";
  const isCustom = data === "custom";   // the user's own model and data: the network is fixed
  // the model choices a data set has
  for (const opt of $("model").options) {
    opt.disabled = !((isToy && opt.value === "mlp") || (data === "digits" && opt.value !== "rnn") ||
      (isRnn && opt.value === "rnn") || (isCustom && opt.value === "custom"));
  }
  $("data").disabled = isCustom;
  $("model").disabled = isCustom;
  $("model-field").classList.toggle("hidden", isToy);
  $("cell-field").classList.toggle("hidden", !isRnn);
  $("noise-field").classList.toggle("hidden", data === "digits" || isCustom);
  const hidden = setup.hidden || [];
  $("layers-count").textContent = String(hidden.length);
  $("layers-minus").disabled = isRnn || isCnn || isCustom || hidden.length === 0;
  $("layers-plus").disabled = isRnn || isCnn || isCustom || hidden.length >= MAX_LAYERS;
  $("layers-field").classList.toggle("hidden", isCnn || isRnn || isCustom);
  $("activation-field").classList.toggle("hidden", isRnn || isCustom);   // the recurrent cell has its own
  const key = JSON.stringify([hidden, isCnn, isRnn, isCustom]);
  const list = $("units-list");
  if (list.dataset.key !== key) {
    list.dataset.key = key;
    clear(list);
    if (isCustom) {
      list.appendChild(h("p", { class: "muted small",
        text: "your own model and data: the network is fixed here; the training settings below apply to it" }));
    } else if (!isCnn) {
      hidden.forEach((n, i) => {
        list.appendChild(h("div", { class: "units-row" },
          h("span", { text: isRnn ? "hidden size" : `layer ${i + 1}` }),
          h("div", { class: "stepper" },
            h("button", { type: "button", class: "mini", text: "−", title: "one unit fewer",
              "data-units-minus": i + 1, onclick: () => changeUnits(i + 1, -1) }),
            h("span", { class: "mono", text: String(n) }),
            h("button", { type: "button", class: "mini", text: "+", title: "one unit more",
              "data-units-plus": i + 1, onclick: () => changeUnits(i + 1, +1) }))));
      });
    } else {
      list.appendChild(h("p", { class: "muted small",
        text: "conv 3×3 (4 maps, padding 1) → activation → max-pool 2×2 → linear 64→10" }));
    }
  }
}

function currentSetup() {
  return (state.frame && state.frame.setup) || {};
}

function changeUnits(layer, delta) {
  const hidden = [...(currentSetup().hidden || [])];
  const i = layer - 1;
  if (i < 0 || i >= hidden.length) return;
  hidden[i] = Math.max(1, Math.min(MAX_UNITS, hidden[i] + delta));
  send({ cmd: "set", hidden });
}

function changeLayers(delta) {
  const hidden = [...(currentSetup().hidden || [])];
  if (delta > 0 && hidden.length < MAX_LAYERS) hidden.push(hidden.length ? hidden[hidden.length - 1] : 4);
  if (delta < 0 && hidden.length) hidden.pop();
  send({ cmd: "set", hidden });
}

function readField(name) {
  const el = $(name);
  if (!NUMERIC.has(name)) return el.value;
  const v = Number(el.value);
  return Number.isFinite(v) && el.value.trim() !== "" ? v : null;
}

function wireControls() {
  $("play").addEventListener("click", () => send({ cmd: "play" }));
  $("pause").addEventListener("click", () => send({ cmd: "pause" }));
  $("step-btn").addEventListener("click", () => send({ cmd: "step", n: 1 }));
  $("reset").addEventListener("click", () => send({ cmd: "reset" }));
  for (const name of ["data", "model", "cell", "activation", "optimizer", "lr", "batch_size", "l2", "seed", "noise"]) {
    const el = $(name);
    const apply = () => {
      const v = readField(name);
      if (v === null) {
        toast(`${name}: enter a number`);
        syncControls(currentSetup(), true);
        return;
      }
      if (String(currentSetup()[name]) === String(v)) return;
      send({ cmd: "set", [name]: v });
    };
    el.addEventListener("change", apply);
    if (el.tagName === "INPUT" && el.type !== "range") {
      el.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); apply(); } });
    }
  }
  $("noise").addEventListener("input", () => { $("noise-value").textContent = $("noise").value; });
  $("layers-plus").addEventListener("click", () => changeLayers(+1));
  $("layers-minus").addEventListener("click", () => changeLayers(-1));

  // tabs
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      state.tab = tab.dataset.tab;
      for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t === tab);
      $("tab-model").classList.toggle("hidden", state.tab !== "model");
      $("tab-graph").classList.toggle("hidden", state.tab !== "graph");
      if (state.tab === "graph" && state.frame) views.graph.render(state.frame);
      if (state.tab === "model" && state.frame) {
        views.network.key = null;
        render(state.frame, state.frame);
      }
    });
  }

  // export as code
  $("export").addEventListener("click", async () => {
    const reply = await send({ cmd: "export" });
    if (!reply) return;
    $("export-code").value = reply.code;
    $("export-copied").textContent = "";
    $("export-modal").classList.remove("hidden");
    $("export-code").focus();
    $("export-code").setSelectionRange(0, 0);
    $("export-code").scrollTop = 0;
  });
  $("export-close").addEventListener("click", () => $("export-modal").classList.add("hidden"));
  $("export-modal").addEventListener("click", (e) => {
    if (e.target === $("export-modal")) $("export-modal").classList.add("hidden");
  });
  $("export-copy").addEventListener("click", async () => {
    const ta = $("export-code");
    let ok = false;
    try {
      await navigator.clipboard.writeText(ta.value);
      ok = true;
    } catch (e) {
      ta.select();
      ok = document.execCommand && document.execCommand("copy");
    }
    $("export-copied").textContent = ok ? "copied to the clipboard" : "select the text and copy it";
  });

  // keyboard: space plays/pauses, → steps (not while typing)
  document.addEventListener("keydown", (e) => {
    const tag = (e.target && e.target.tagName) || "";
    if (["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(tag)) return;
    if (e.key === " ") {
      e.preventDefault();
      send({ cmd: state.frame && state.frame.running ? "pause" : "play" });
    } else if (e.key === "ArrowRight") {
      send({ cmd: "step", n: 1 });
    } else if (e.key === "Escape") {
      $("export-modal").classList.add("hidden");
    }
  });

  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(relayout, 150);
  });
}

// ------------------------------------------------------------------ the URL fragment
export function parseHash(hash) {
  const out = {};
  const params = new URLSearchParams(String(hash || "").replace(/^#/, ""));
  for (const [k, raw] of params) {
    if (!FIELDS.includes(k)) continue;
    if (k === "hidden") {
      out.hidden = raw.trim() === "" ? [] : raw.split(",").map((p) => Number(p.trim()));
    } else if (NUMERIC.has(k)) {
      const v = Number(raw);
      out[k] = Number.isFinite(v) && raw.trim() !== "" ? v : raw;
    } else {
      out[k] = raw;
    }
  }
  return out;
}

export function hashOf(setup) {
  const parts = [];
  for (const k of FIELDS) {
    if (setup[k] === undefined || setup[k] === null) continue;
    const v = k === "hidden" ? setup[k].join(",") : String(setup[k]);
    parts.push(`${k}=${encodeURIComponent(v).replace(/%2C/g, ",")}`);
  }
  return `#${parts.join("&")}`;
}

function writeHash(setup) {
  if (setup.data === "custom") return;
  const want = hashOf(setup);
  if (location.hash !== want) history.replaceState(null, "", want);
}

function differs(a, b) {
  return JSON.stringify(a) !== JSON.stringify(b);
}

// The fragment's setup, sent as one `set` when any of its fields differs from
// the running setup — all of them, since a new data set brings its own defaults
// for the fields not given. A reload of a page whose fragment is the running
// setup sends nothing (the training goes on).
async function applyHash(setup) {
  const want = parseHash(location.hash);
  const changed = Object.entries(want).some(([k, v]) => !setup || differs(setup[k], v));
  if (changed) await send({ cmd: "set", ...want });
}

// ------------------------------------------------------------------ start
async function start() {
  installTooltip();
  makeViews();
  wireControls();
  setConn("reconnecting");
  const first = await fetchFrame();
  await applyHash(first ? first.setup : null);
  state.hashReady = true;
  connect();
  await fetchFrame();
  if (state.frame && state.frame.setup) writeHash(state.frame.setup);
  window.addEventListener("hashchange", () => applyHash(currentSetup()));
  document.body.dataset.ready = "1";
}

start();
