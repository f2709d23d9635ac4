// The network, as in the TensorFlow Playground: a column per layer, a node per
// unit (for 2-D data each node is a heat-map of the unit's output over the
// input plane), a curve per weight (colour = sign, width = |w|) and a small
// square per bias. Every element carries its indices (data-layer, data-unit,
// data-row, data-col; counted from 1 as the chapter's subscripts are) and a
// click on it asks for its worked computation.

import { h, s, clear, fmt, maxAbs, colourOf, paintGrid, legend, liveTip } from "./util.js";

const FOLD_OVER = 12;
const SHOW_EACH = 5;

export class NetworkView {
  constructor(root, { onExplain, onUnits }) {
    this.root = root;
    this.onExplain = onExplain;
    this.onUnits = onUnits;
    this.key = null;
  }

  // The units drawn of a layer of `size` (a wide layer folds: first and last few).
  static shown(size) {
    const all = Array.from({ length: size }, (_, i) => i + 1);
    if (size <= FOLD_OVER) return all;
    return [...all.slice(0, SHOW_EACH), null, ...all.slice(size - SHOW_EACH)];
  }

  render(frame) {
    const net = frame.network;
    if (!net || !net.layers) return;
    const layers = net.layers;
    const maps = frame.heatmaps && frame.heatmaps.units ? frame.heatmaps : null;
    const key = JSON.stringify([layers.map((l) => [l.name, l.size, l.activation]), !!maps,
      this.root.clientWidth, this.root.clientHeight]);
    if (key !== this.key) {
      this.build(frame);
      this.key = key;
    }
    this.update(frame);
  }

  build(frame) {
    const layers = frame.network.layers;
    const maps = frame.heatmaps && frame.heatmaps.units ? frame.heatmaps : null;
    clear(this.root);
    const W = Math.max(480, this.root.clientWidth - 8);
    const maxShown = Math.max(...layers.map((l) => NetworkView.shown(l.size).length));
    const availH = Math.max(360, (this.root.clientHeight || 560) - 40);
    const top = 70;
    const rowGap = Math.max(maps ? 36 : 22, Math.min(110, (availH - top - 20) / Math.max(1, maxShown)));
    const node = maps ? Math.round(Math.max(26, Math.min(64, rowGap - 24))) : Math.round(Math.max(14, Math.min(26, rowGap - 12)));
    const H = top + rowGap * maxShown + 10;
    const n = layers.length;
    const left = 40;
    const colGap = (W - 2 * left - node) / Math.max(1, n - 1);

    const wrap = h("div", { class: "network", id: "network" });
    wrap.style.width = `${W}px`;
    wrap.style.height = `${H}px`;
    const svg = s("svg", { width: W, height: H, class: "network-svg" });
    const linesG = s("g", { class: "weights" });
    svg.appendChild(linesG);
    wrap.appendChild(svg);

    this.pos = [];       // pos[layer][unit] = {x, y} (centre)
    this.nodes = [];     // nodes[layer][unit] = {el, canvas}
    this.weights = [];   // [{g, path, layer, row, col}]
    this.biases = [];
    this.node = node;

    layers.forEach((layer, L) => {
      const shown = NetworkView.shown(layer.size);
      const x = left + L * colGap + node / 2;
      const colH = rowGap * shown.length;
      const y0 = top + (rowGap * maxShown - colH) / 2 + rowGap / 2;
      this.pos[L] = {};
      this.nodes[L] = {};
      // column header
      const isInput = L === 0;
      const isOut = L === n - 1;
      const title = isInput ? "input" : isOut ? "output" : `layer ${L}`;
      const head = h("div", { class: "layer-head" },
        h("div", { class: "layer-title", text: title }),
        h("div", { class: "layer-sub", text: isInput ? `${layer.size} features`
          : `${layer.size} unit${layer.size === 1 ? "" : "s"}${layer.activation ? " · " + layer.activation : ""}` }));
      if (!isInput && !isOut && this.onUnits) {
        head.appendChild(h("div", { class: "layer-stepper" },
          h("button", { type: "button", class: "mini", "data-units-minus": L, title: "one unit fewer",
            text: "−", onclick: () => this.onUnits(L, -1) }),
          h("button", { type: "button", class: "mini", "data-units-plus": L, title: "one unit more",
            text: "+", onclick: () => this.onUnits(L, +1) })));
      }
      head.style.left = `${x - 60}px`;
      head.style.top = "4px";
      wrap.appendChild(head);

      shown.forEach((unit, i) => {
        const y = y0 + i * rowGap;
        if (unit === null) {
          const dots = h("div", { class: "fold", text: "⋮" });
          dots.style.left = `${x - 10}px`;
          dots.style.top = `${y - 12}px`;
          wrap.appendChild(dots);
          return;
        }
        this.pos[L][unit] = { x, y };
        const el = h("div", {
          class: `neuron${maps ? " map" : ""}${isInput ? " input" : ""}${isOut ? " output" : ""}`,
          "data-layer": L, "data-unit": unit, role: isInput ? null : "button", tabindex: isInput ? null : 0,
        });
        el.style.left = `${x - node / 2}px`;
        el.style.top = `${y - node / 2}px`;
        el.style.width = `${node}px`;
        el.style.height = `${node}px`;
        let canvas = null;
        if (maps) {
          canvas = h("canvas", { class: "heat" });
          el.appendChild(canvas);
        } else if (isInput && layer.size > 2) {
          el.appendChild(h("span", { class: "unit-label", text: String(unit) }));
        }
        if (isInput && maps) {
          el.appendChild(h("span", { class: "input-name", text: `x${"₀₁₂₃₄₅₆₇₈₉"[unit] || unit}` }));
        }
        if (!isInput) {
          el.addEventListener("click", () => this.onExplain({ kind: "neuron", layer: L, unit, sample: 1 }));
          el.addEventListener("keydown", (e) => {
            if (e.key === "Enter") this.onExplain({ kind: "neuron", layer: L, unit, sample: 1 });
          });
          // the bias: a small square at the node's lower left
          const b = h("div", { class: "bias", "data-layer": L, "data-unit": unit, role: "button" });
          b.style.left = `${x - node / 2 - 7}px`;
          b.style.top = `${y + node / 2 - 7}px`;
          b.addEventListener("click", (e) => {
            e.stopPropagation();
            this.onExplain({ kind: "bias", layer: L, unit });
          });
          wrap.appendChild(b);
          this.biases.push({ el: b, layer: L, unit });
        }
        wrap.appendChild(el);
        this.nodes[L][unit] = { el, canvas };
      });
    });

    // weights: W^[L]_jk joins unit k of layer L-1 to unit j of layer L
    for (let L = 1; L < n; L++) {
      for (const [jk, to] of Object.entries(this.pos[L])) {
        for (const [kk, from] of Object.entries(this.pos[L - 1])) {
          const x0 = from.x + node / 2;
          const x1 = to.x - node / 2 - 2;
          const xm = (x0 + x1) / 2;
          const d = `M${x0},${from.y} C${xm},${from.y} ${xm},${to.y} ${x1},${to.y}`;
          const g = s("g", { class: "weight", "data-layer": L, "data-row": jk, "data-col": kk });
          const hit = s("path", { d, class: "weight-hit" });
          const path = s("path", { d, class: "weight-line" });
          g.appendChild(hit);
          g.appendChild(path);
          const row = Number(jk);
          const col = Number(kk);
          g.addEventListener("click", () => this.onExplain({ kind: "weight", layer: L, row, col }));
          linesG.appendChild(g);
          this.weights.push({ g, path, layer: L, row, col });
        }
      }
    }

    this.legendSlot = h("div", { class: "network-legend" });
    const foot = h("div", { class: "network-foot" }, this.legendSlot,
      h("span", { class: "muted", text: "line width |w| · orange < 0 < blue · click anything to explain it" }));
    this.root.appendChild(wrap);
    this.root.appendChild(foot);
    this.wrap = wrap;
  }

  update(frame) {
    const layers = frame.network.layers;
    const maps = frame.heatmaps && frame.heatmaps.units ? frame.heatmaps : null;
    // weights
    let wmax = 1e-9;
    for (let L = 1; L < layers.length; L++) {
      if (layers[L].weight) wmax = Math.max(wmax, maxAbs(layers[L].weight.flat()));
    }
    for (const w of this.weights) {
      const Wt = layers[w.layer].weight;
      const v = Wt && Wt[w.row - 1] ? Wt[w.row - 1][w.col - 1] : 0;
      const width = 0.4 + 6 * Math.min(1, Math.abs(v) / wmax);
      w.path.setAttribute("stroke-width", width.toFixed(2));
      w.path.setAttribute("stroke", colourOf(v, wmax * 0.6));
      w.g.dataset.value = String(v);
      w.g.dataset.tip = `W^[${w.layer}]_${w.row}${w.col} = ${fmt(v)}  (unit ${w.col} of ${w.layer === 1 ? "the input" : "layer " + (w.layer - 1)} → unit ${w.row} of layer ${w.layer})`;
    }
    let bmax = 1e-9;
    for (let L = 1; L < layers.length; L++) if (layers[L].bias) bmax = Math.max(bmax, maxAbs(layers[L].bias));
    for (const b of this.biases) {
      const bias = layers[b.layer].bias;
      const v = bias ? bias[b.unit - 1] : 0;
      b.el.style.background = colourOf(v, bmax);
      b.el.dataset.value = String(v);
      b.el.dataset.tip = `bias b^[${b.layer}]_${b.unit} = ${fmt(v)}`;
    }
    // nodes
    const size = maps ? maps.size : 0;
    const ext = maps ? maps.extent : null;
    for (let L = 0; L < layers.length; L++) {
      const last = L === layers.length - 1;
      for (const [u, nd] of Object.entries(this.nodes[L])) {
        const unit = Number(u);
        const tipBase = L === 0 ? `input x${unit}`
          : `unit ${unit} of ${last ? "the output layer" : "layer " + L}: z = W·a + b, a = ${layers[L].activation || "g"}(z)`;
        nd.el.dataset.tip = tipBase + (L === 0 ? "" : " — click to explain");
        if (!maps || !nd.canvas) continue;
        let vals;
        if (L === 0) {
          vals = inputMap(ext, size, unit);
        } else {
          const unitsOf = maps.units[layers[L].name] || maps.units[String(L)] || (last ? maps.units.out : null);
          vals = unitsOf ? unitsOf[unit - 1] : null;
        }
        if (!vals) continue;
        let lim;
        let shown = vals;
        if (last && vals.every((v) => v >= 0 && v <= 1)) {
          shown = vals.map((v) => 2 * v - 1);   // a probability: 0.5 is white
          lim = 1;
        } else {
          lim = maxAbs(vals);
        }
        paintGrid(nd.canvas, shown, size, size, lim, true);
        nd.vals = vals;
        if (!nd.tipped) {
          nd.tipped = true;
          liveTip(nd.canvas, (fx, fy) => {
            if (!nd.vals) return null;
            const c = Math.min(size - 1, Math.floor(fx * size));
            const r = Math.min(size - 1, Math.floor((1 - fy) * size));
            const x1 = ext[0] + ((c + 0.5) / size) * (ext[1] - ext[0]);
            const x2 = ext[2] + ((r + 0.5) / size) * (ext[3] - ext[2]);
            const name = L === 0 ? `x${unit}` : `a^[${L}]_${unit}`;
            return `${name}(${fmt(x1, 3)}, ${fmt(x2, 3)}) = ${fmt(nd.vals[r * size + c])} — click to explain`;
          });
        }
      }
    }
    clear(this.legendSlot).appendChild(legend(wmax, "weights", 110));
  }

  select(target) {
    if (!this.wrap) return;
    for (const el of this.wrap.querySelectorAll(".selected")) el.classList.remove("selected");
    if (!target) return;
    let sel = null;
    if (target.kind === "neuron") sel = `.neuron[data-layer="${target.layer}"][data-unit="${target.unit}"]`;
    else if (target.kind === "weight") sel = `.weight[data-layer="${target.layer}"][data-row="${target.row}"][data-col="${target.col}"]`;
    else if (target.kind === "bias") sel = `.bias[data-layer="${target.layer}"][data-unit="${target.unit}"]`;
    if (!sel) return;
    const el = this.wrap.querySelector(sel);
    if (el) el.classList.add("selected");
  }
}

// The input feature x_unit over the plane (row 0 = ymin).
function inputMap(ext, size, unit) {
  const out = new Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const x1 = ext[0] + ((c + 0.5) / size) * (ext[1] - ext[0]);
      const x2 = ext[2] + ((r + 0.5) / size) * (ext[3] - ext[2]);
      out[r * size + c] = unit === 1 ? x1 : x2;
    }
  }
  return out;
}
