// The recurrent network unrolled over time: a column per time step t with the
// input x_t, the gates (LSTM: i, f, g, o; GRU: r, z, n) as strips of units,
// the cell state c_t (LSTM) and the hidden state h_t; arrows carry h_{t-1}
// (and c_{t-1}) to the next step. Every cell has data-t and data-unit (from 1)
// and gate cells data-gate; a click asks for its worked computation.
// SeriesView is the output column: the window, the target and the prediction.

import { h, s, clear, fmt, colourOf, maxAbs } from "./util.js";

const GATE_NAMES = {
  i: "input gate i", f: "forget gate f", g: "candidate g", o: "output gate o",
  r: "reset gate r", z: "update gate z", n: "candidate n",
};

function gateOrder(gates) {
  const known = ["i", "f", "g", "o", "r", "z", "n"];
  const names = Object.keys(gates || {});
  return [...known.filter((k) => names.includes(k)), ...names.filter((k) => !known.includes(k))];
}

// sigmoid gates live in [0, 1]: a sequential scale (white → teal)
function seqColour(v) {
  const t = Math.max(0, Math.min(1, v));
  const a = [250, 250, 250];
  const b = [22, 122, 110];
  return `rgb(${a.map((x, i) => Math.round(x + (b[i] - x) * t)).join(",")})`;
}

// The layers of a frame's rnn view, from the first up: a stacked RNN sends `layers`, one
// layer only its top-level h, gates and c.
function layersOf(rnn) {
  return rnn.layers && rnn.layers.length ? rnn.layers : [{ h: rnn.h, gates: rnn.gates, c: rnn.c }];
}

export class RnnView {
  constructor(root, { onExplain }) {
    this.root = root;
    this.onExplain = onExplain;
    this.key = null;
  }

  render(frame) {
    const rnn = frame.rnn;
    if (!rnn || !rnn.h) return;
    const T = rnn.h.length;
    const H = rnn.h[0].length;
    const gates = gateOrder(rnn.gates);
    const L = layersOf(rnn).length;
    const key = JSON.stringify([T, H, gates, !!rnn.c, L, this.root.clientWidth]);
    if (key !== this.key) {
      this.build(frame, T, H, gates, L);
      this.key = key;
    }
    this.update(frame, T, H, gates);
  }

  // a click target: the layer is named only in a stacked RNN (the server's default is the top one)
  target(fields, layer, L) {
    return L > 1 ? { ...fields, sample: 1, layer } : { ...fields, sample: 1 };
  }

  build(frame, T, H, gates, L) {
    const rnn = frame.rnn;
    clear(this.root);
    const avail = Math.max(200, (this.root.clientWidth || 640) - 58 - 100);   // the ŷ text needs ~92 px
    const perStep = avail / T;
    const gc = gates.length > 2 ? 2 : Math.max(1, gates.length);   // gate strips side by side
    const gr = gates.length ? Math.ceil(gates.length / gc) : 0;     // rows of gate strips
    const byWidth = Math.floor((perStep - 18) / gc) - 3;
    const stacks = L * (gr + (rnn.c ? 1 : 0) + 1);
    const byHeight = Math.floor(((this.root.clientHeight || 600) - 150 - 40 * stacks) / (stacks * H));
    const cell = Math.max(6, Math.min(gates.length ? 14 : 24, byWidth, byHeight));
    const strip = cell + 3;
    const blockW = gc * strip;
    const colW = Math.max(blockW + 16, Math.min(96, Math.floor(perStep)));
    const left = 58;
    const top = 34;
    const xRowY = top;
    const hasGates = gates.length > 0;
    const gateRowH = H * cell + 16;
    // each layer's rows, from the first up: its gates, c_t (LSTM), h_t
    const rows = [];
    let y = top + 52;
    for (let l = 1; l <= L; l++) {
      const gateY = y;
      const cY = hasGates ? gateY + gr * gateRowH + 26 : gateY;
      const hY = rnn.c ? cY + H * cell + 34 : cY;
      rows.push({ l, gateY, cY, hY });
      y = hY + H * cell + 64;
    }
    const topRow = rows[L - 1];
    const Wd = left + T * colW + 92;
    const Ht = topRow.hY + H * cell + 24;
    const svg = s("svg", { width: Wd, height: Ht, class: "rnn-svg", id: "rnn" });
    const defs = s("defs");
    const marker = s("marker", { id: "rnn-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6,
      orient: "auto-start-reverse" });
    marker.appendChild(s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }));
    defs.appendChild(marker);
    svg.appendChild(defs);
    this.cells = { x: [], h: [], c: [], gates: [] };

    const rowLabel = (yy, text, tip) => svg.appendChild(s("text", { x: left - 8, y: yy, class: "row-label", "text-anchor": "end",
      "data-tip": tip }, text));
    rowLabel(xRowY + 14, "x_t", "the input at time t");
    for (const row of rows) {
      const of = L > 1 ? ` of layer ${row.l}` : "";
      if (L > 1) {   // in the left margin, clear of the arrows
        svg.appendChild(s("text", { x: 4, y: row.gateY - 8, class: "layer-label",
          "data-tip": row.l === 1 ? "layer 1 reads x_t" : `layer ${row.l} reads h_t of layer ${row.l - 1}` },
          `layer ${row.l}`));
      }
      if (hasGates) rowLabel(row.gateY + (gr * gateRowH) / 2, "gates", `the gates at time t${of}, one strip each; unit 1 at the top`);
      if (rnn.c) rowLabel(row.cY + (H * cell) / 2, "c_t", `the LSTM's cell state${of}`);
      rowLabel(row.hY + (H * cell) / 2, "h_t", `the hidden state${of}, unit 1 at the top`);
    }

    for (let t = 1; t <= T; t++) {
      const x0 = left + (t - 1) * colW;
      const cx = x0 + colW / 2;
      const tLabel = colW >= 48 ? `t = ${t}` : colW >= 30 ? `t=${t}` : String(t);   // narrow columns: shorter
      svg.appendChild(s("text", { x: cx, y: 14, class: "t-label", "text-anchor": "middle" }, tLabel));
      // x_t
      const xw = Math.min(colW - 8, 40);
      const xr = s("rect", { x: cx - xw / 2, y: xRowY, width: xw, height: 20, rx: 3, class: "x-cell",
        "data-t": t });
      svg.appendChild(xr);
      const xt = s("text", { x: cx, y: xRowY + 14, class: "x-text", "text-anchor": "middle" }, "");
      svg.appendChild(xt);
      this.cells.x.push({ rect: xr, text: xt, t });
      let below = xRowY + 21;   // the bottom of what feeds this layer: x_t, then the layer below's h_t
      for (const row of rows) {
        const l = row.l;
        if (hasGates) {
          const gx0 = cx - blockW / 2;
          svg.appendChild(s("path", { d: `M${cx},${below} L${cx},${row.gateY - 16}`, class: "flow-arrow",
            "marker-end": "url(#rnn-arrow)" }));
          gates.forEach((g, gi) => {
            const gx = gx0 + (gi % gc) * strip;
            const gy = row.gateY + Math.floor(gi / gc) * gateRowH;
            svg.appendChild(s("text", { x: gx + cell / 2, y: gy - 4, class: "gate-label", "text-anchor": "middle",
              "data-tip": GATE_NAMES[g] || g }, g));
            for (let j = 1; j <= H; j++) {
              const rect = s("rect", { x: gx, y: gy + (j - 1) * cell, width: cell - 1, height: cell - 1,
                class: "gate-cell", "data-gate": g, "data-t": t, "data-unit": j, "data-layer": l, role: "button" });
              rect.addEventListener("click", () => this.onExplain(this.target({ kind: "gate", gate: g, t, unit: j }, l, L)));
              svg.appendChild(rect);
              this.cells.gates.push({ rect, g, t, j, l });
            }
          });
          svg.appendChild(s("path", { d: `M${cx},${row.gateY + gr * gateRowH - 12} L${cx},${(rnn.c ? row.cY : row.hY) - 6}`,
            class: "flow-arrow", "marker-end": "url(#rnn-arrow)" }));
        } else {
          svg.appendChild(s("path", { d: `M${cx},${below} L${cx},${row.hY - 6}`, class: "flow-arrow",
            "marker-end": "url(#rnn-arrow)" }));
        }
        const vec = (yy, kind, list) => {
          for (let j = 1; j <= H; j++) {
            const attrs = { x: cx - cell / 2, y: yy + (j - 1) * cell, width: cell - 1, height: cell - 1,
              class: `${kind}-cell`, "data-t": t, "data-unit": j, "data-layer": l, role: "button" };
            const rect = s("rect", attrs);
            const what = kind === "h" ? { kind: "hidden", t, unit: j } : { kind: "gate", gate: "c", t, unit: j };
            rect.addEventListener("click", () => this.onExplain(this.target(what, l, L)));
            svg.appendChild(rect);
            list.push({ rect, t, j, l });
          }
          // the recurrence: this state feeds the next step
          if (t < T) {
            const ym = yy + (H * cell) / 2;
            svg.appendChild(s("path", { d: `M${cx + cell / 2 + 3},${ym} L${cx + colW - cell / 2 - 4},${ym}`,
              class: `recur-arrow ${kind}`, "marker-end": "url(#rnn-arrow)" }));
          }
        };
        if (rnn.c) vec(row.cY, "c", this.cells.c);
        vec(row.hY, "h", this.cells.h);
        below = row.hY + H * cell + 2;
      }
    }
    // the output: ŷ from the top layer's h_T
    const xe = left + T * colW;
    const ym = topRow.hY + (H * cell) / 2;
    svg.appendChild(s("path", { d: `M${xe - colW / 2 + cell / 2 + 3},${ym} L${xe + 12},${ym}`, class: "flow-arrow",
      "marker-end": "url(#rnn-arrow)" }));
    this.outText = s("text", { x: xe + 16, y: ym - 6, class: "out-text" }, "");
    this.tgtText = s("text", { x: xe + 16, y: ym + 12, class: "out-text muted-text" }, "");
    svg.appendChild(this.outText);
    svg.appendChild(this.tgtText);

    this.root.appendChild(svg);
    this.legendRow = h("div", { class: "rnn-legend" });
    this.root.appendChild(this.legendRow);
    this.root.appendChild(h("p", { class: "muted small",
      text: `Click h_t${rnn.c ? ", c_t" : ""}${hasGates ? " or a gate" : ""}: its equations at that step are worked with the numbers — forward from h_(t−1), backward (BPTT) from step t+1.` }));
    this.svg = svg;
  }

  update(frame, T, H, gates) {
    const rnn = frame.rnn;
    const layers = layersOf(rnn);
    const inputs = (rnn.inputs || []).map((v) => (Array.isArray(v) ? v[0] : v));
    const xlim = maxAbs(inputs);
    for (const x of this.cells.x) {
      const v = inputs[x.t - 1];
      x.rect.setAttribute("fill", colourOf(v, xlim));
      x.rect.dataset.value = String(v);
      x.rect.dataset.tip = `x_${x.t} = ${fmt(v)}`;
      x.text.textContent = v === undefined ? "" : fmt(v, 2);
    }
    const of = (l) => (layers.length > 1 ? ` of layer ${l}` : "");
    const hlim = Math.max(1, ...layers.map((ly) => maxAbs(ly.h.flat())));
    for (const c of this.cells.h) {
      const v = layers[c.l - 1].h[c.t - 1][c.j - 1];
      c.rect.setAttribute("fill", colourOf(v, hlim));
      c.rect.dataset.value = String(v);
      c.rect.dataset.tip = `h_${c.t}, unit ${c.j}${of(c.l)} = ${fmt(v)} — click to explain`;
    }
    if (rnn.c) {
      const clim = Math.max(...layers.map((ly) => maxAbs((ly.c || []).flat())));
      for (const c of this.cells.c) {
        const v = layers[c.l - 1].c[c.t - 1][c.j - 1];
        c.rect.setAttribute("fill", colourOf(v, clim));
        c.rect.dataset.value = String(v);
        c.rect.dataset.tip = `c_${c.t}, unit ${c.j}${of(c.l)} = ${fmt(v)} — click to explain`;
      }
    }
    for (const c of this.cells.gates) {
      const v = layers[c.l - 1].gates[c.g][c.t - 1][c.j - 1];
      const tanhLike = c.g === "g" || c.g === "n";
      c.rect.setAttribute("fill", tanhLike ? colourOf(v, 1) : seqColour(v));
      c.rect.dataset.value = String(v);
      c.rect.dataset.tip = `${GATE_NAMES[c.g] || c.g} at t = ${c.t}, unit ${c.j}${of(c.l)}: ${fmt(v)} — click to explain`;
    }
    const out = Array.isArray(rnn.output) ? rnn.output[0] : rnn.output;
    const tgt = Array.isArray(rnn.target) ? rnn.target[0] : rnn.target;
    this.outText.textContent = `ŷ = ${fmt(out, 3)}`;
    this.tgtText.textContent = `y = ${fmt(tgt, 3)}`;
    clear(this.legendRow);
    this.legendRow.appendChild(h("span", { class: "legend-item" }, h("span", { class: "swatch neg" }), " < 0 < ",
      h("span", { class: "swatch pos" }), " h, c, x"));
    if (gates.length) {
      this.legendRow.appendChild(h("span", { class: "legend-item" }, h("span", { class: "swatch g0" }), " 0 … 1 ",
        h("span", { class: "swatch g1" }), " sigmoid gates"));
    }
  }

  select(target) {
    if (!this.svg) return;
    for (const el of this.svg.querySelectorAll(".selected")) el.classList.remove("selected", "uses");
    if (!target) return;
    const layers = this.svg.querySelectorAll('.h-cell[data-t="1"][data-unit="1"]').length;
    const layer = `[data-layer="${target.layer || layers}"]`;
    let sel = null;
    if (target.kind === "hidden") sel = `.h-cell[data-t="${target.t}"][data-unit="${target.unit}"]${layer}`;
    if (target.kind === "gate") {
      sel = target.gate === "c" ? `.c-cell[data-t="${target.t}"][data-unit="${target.unit}"]${layer}`
        : `.gate-cell[data-gate="${target.gate}"][data-t="${target.t}"][data-unit="${target.unit}"]${layer}`;
    }
    const el = sel && this.svg.querySelector(sel);
    if (el) el.classList.add("selected");
    if (target.kind === "hidden" && target.t > 1) {
      const prev = this.svg.querySelector(`.h-cell[data-t="${target.t - 1}"][data-unit="${target.unit}"]${layer}`);
      if (prev) prev.classList.add("selected", "uses");
    }
  }
}

// The output column for the sine data: the input window, the target (the next
// value) and the network's prediction.
export class SeriesView {
  constructor(root) {
    this.root = root;
  }

  render(frame) {
    const rnn = frame.rnn || {};
    const xs = (rnn.inputs || []).map((v) => (Array.isArray(v) ? v[0] : v));
    const out = Array.isArray(rnn.output) ? rnn.output[0] : rnn.output;
    const tgt = Array.isArray(rnn.target) ? rnn.target[0] : rnn.target;
    clear(this.root);
    const W = 300;
    const Hh = 150;
    const m = { l: 30, r: 12, t: 10, b: 22 };
    const n = xs.length + 1;
    const all = [...xs, out, tgt].filter(Number.isFinite);
    const lim = Math.max(1, ...all.map(Math.abs)) * 1.1;
    const X = (i) => m.l + (i / Math.max(1, n - 1)) * (W - m.l - m.r);
    const Y = (v) => m.t + (1 - (v + lim) / (2 * lim)) * (Hh - m.t - m.b);
    const svg = s("svg", { width: W, height: Hh, class: "series", id: "series" });
    svg.appendChild(s("rect", { x: m.l, y: m.t, width: W - m.l - m.r, height: Hh - m.t - m.b, class: "plot-bg" }));
    svg.appendChild(s("line", { x1: m.l, x2: W - m.r, y1: Y(0), y2: Y(0), class: "grid-line" }));
    svg.appendChild(s("text", { x: m.l - 4, y: Y(lim / 1.1) + 4, class: "axis-label", "text-anchor": "end" }, fmt(lim / 1.1, 2)));
    svg.appendChild(s("text", { x: m.l - 4, y: Y(-lim / 1.1) + 4, class: "axis-label", "text-anchor": "end" }, fmt(-lim / 1.1, 2)));
    const d = xs.map((v, i) => `${i ? "L" : "M"}${X(i).toFixed(1)},${Y(v).toFixed(1)}`).join(" ");
    svg.appendChild(s("path", { d, class: "series-line" }));
    xs.forEach((v, i) => svg.appendChild(s("circle", { cx: X(i), cy: Y(v), r: 2.5, class: "series-dot",
      "data-tip": `x_${i + 1} = ${fmt(v)}` })));
    if (Number.isFinite(tgt)) {
      svg.appendChild(s("circle", { cx: X(n - 1), cy: Y(tgt), r: 5, class: "target-dot", "data-tip": `target y = ${fmt(tgt)}` }));
    }
    if (Number.isFinite(out)) {
      svg.appendChild(s("circle", { cx: X(n - 1), cy: Y(out), r: 5, class: "pred-dot", "data-tip": `prediction ŷ = ${fmt(out)}` }));
    }
    svg.appendChild(s("text", { x: m.l, y: Hh - 6, class: "axis-label" }, "t = 1"));
    svg.appendChild(s("text", { x: W - m.r, y: Hh - 6, class: "axis-label", "text-anchor": "end" }, `next (t = ${n})`));
    this.root.appendChild(svg);
    this.root.appendChild(h("div", { class: "series-legend" },
      h("span", { class: "legend-item" }, h("span", { class: "dot target" }), ` target y = ${fmt(tgt, 3)}`),
      h("span", { class: "legend-item" }, h("span", { class: "dot pred" }), ` prediction ŷ = ${fmt(out, 3)}`)));
  }
}
