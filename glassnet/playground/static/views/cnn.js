// The CNN view (CNN Explainer in small): the batch's first image, each conv
// layer's filters and the feature maps they make. Every feature-map pixel is
// an SVG rect with data-layer, data-channel, data-row, data-col (from 1); a
// click asks for its worked sum and outlines its k×k receptive field in the
// layer's input. DigitView is the output column: the prediction per class.

import { h, s, clear, fmt, maxAbs, colourOf, legend, richText } from "./util.js";

function depth(a) {
  let d = 0;
  while (Array.isArray(a)) {
    d++;
    a = a[0];
  }
  return d;
}

// The conv layers of a frame's `cnn` dict as [{name, layer, filters: [out][in][k][k],
// maps: [channel][H][W], bias}], whatever nesting the dict uses.
export function convLayers(cnn) {
  if (Array.isArray(cnn.layers)) {
    return cnn.layers.map((l, i) => ({ ...l, layer: l.layer || i + 1 }));
  }
  let filters = cnn.filters || [];
  let maps = cnn.maps || [];
  if (depth(filters) === 4) filters = [filters];
  if (depth(maps) === 3) maps = [maps];
  if (depth(maps) === 4 && maps.length && depth(maps[0]) === 3 && filters.length !== maps.length) maps = [maps];
  return maps.map((m, i) => ({ name: String(i + 1), layer: i + 1, filters: filters[i] || [], maps: m }));
}

function grey(v, lo, hi) {
  const t = hi > lo ? (v - lo) / (hi - lo) : 0;
  const c = Math.round(255 - 225 * Math.max(0, Math.min(1, t)));
  return `rgb(${c},${c},${c})`;
}

export class CnnView {
  constructor(root, { onExplain }) {
    this.root = root;
    this.onExplain = onExplain;
    this.key = null;
  }

  render(frame) {
    const cnn = frame.cnn;
    if (!cnn || !cnn.image) return;
    const layers = convLayers(cnn);
    const img = Array.isArray(cnn.image[0][0]) ? cnn.image[0] : cnn.image;   // (C, H, W) → first channel
    const key = JSON.stringify([img.length, img[0].length, layers.map((l) => [l.maps.length, l.maps[0].length,
      l.maps[0][0].length, l.filters.length && l.filters[0][0].length])]);
    if (key !== this.key) {
      this.build(img, layers);
      this.key = key;
    }
    this.update(frame, img, layers);
  }

  build(img, layers) {
    clear(this.root);
    this.cells = { image: [], filters: [], maps: [], acts: [], pooled: [] };
    const wrap = h("div", { class: "cnn", id: "cnn" });
    // the input image
    const H = img.length;
    const W = img[0].length;
    const avail = Math.max(420, (this.root.clientWidth || 640) - 16);
    const cell = Math.max(12, Math.min(22, Math.floor((avail * 0.3) / (W + 2))));
    const pad = 1;   // one cell of margin shows where the padding of a 3×3 window lies
    const isvg = s("svg", { width: (W + 2 * pad) * cell, height: (H + 2 * pad) * cell, class: "cnn-input",
      id: "cnn-input", "data-layer-input": 1 });
    isvg.appendChild(s("rect", { x: 0, y: 0, width: (W + 2 * pad) * cell, height: (H + 2 * pad) * cell, class: "pad-area" }));
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const rect = s("rect", { x: (c + pad) * cell, y: (r + pad) * cell, width: cell - 1, height: cell - 1,
          class: "in-pixel", "data-row": r + 1, "data-col": c + 1 });
        isvg.appendChild(rect);
        this.cells.image.push({ rect, r, c });
      }
    }
    this.rf = s("rect", { class: "receptive-field hidden", id: "receptive-field", x: 0, y: 0, width: 0, height: 0 });
    isvg.appendChild(this.rf);
    this.inputGeom = { cell, pad, H, W };
    this.inputLabel = h("div", { class: "cnn-caption" });
    wrap.appendChild(h("div", { class: "cnn-col" },
      h("div", { class: "cnn-head", text: "input x (the batch's first image)" }), isvg, this.inputLabel));

    for (const layer of layers) {
      const col = h("div", { class: "cnn-col" });
      const act = layer.activations ? "a = g(z)" : null;
      const heads = [`filters W^[${layer.name}]`, "z = W ∗ x + b  (click a pixel)", act, layer.pooled ? "max-pool" : null];
      const grid = h("div", { class: "cnn-grid" });
      grid.style.gridTemplateColumns = heads.filter(Boolean).map(() => "auto").join(" ");
      for (const hd of heads) if (hd) grid.appendChild(h("div", { class: "cnn-head" }, richText(hd)));
      const mh = layer.maps[0].length;
      const mw = layer.maps[0][0].length;
      const rowsAvail = Math.max(300, (this.root.clientHeight || 600) - 90);
      const pw = layer.pooled ? layer.pooled[0][0].length : 0;
      const widthLeft = avail - (W + 2) * cell - 26 - 50 - 3 * 18;
      const byWidth = Math.floor(widthLeft / (mw * (layer.activations ? 2 : 1) + pw));
      const mc = Math.max(7, Math.min(16, byWidth, Math.floor(rowsAvail / layer.maps.length / (mh + 1))));
      const small = (name, v2d, ch, kind) => {
        const hh = v2d.length;
        const ww = v2d[0].length;
        const svg = s("svg", { width: ww * mc, height: hh * mc, class: `fmap ${kind}`, "data-layer": layer.layer, "data-channel": ch + 1 });
        for (let r = 0; r < hh; r++) {
          for (let c = 0; c < ww; c++) {
            const rect = s("rect", { x: c * mc, y: r * mc, width: mc - 1, height: mc - 1 });
            svg.appendChild(rect);
            this.cells[kind].push({ rect, layer: layer.layer, ch, r, c });
          }
        }
        return h("div", { class: "fmap-wrap" }, svg);
      };
      layer.maps.forEach((map, ch) => {
        // the filter(s) of this output channel
        const fl = layer.filters[ch] || [];
        const fbox = h("div", { class: "filter-box" });
        fl.forEach((kernel, ci) => {
          const fc = Math.max(8, Math.min(13, mc));
          const fsvg = s("svg", { width: kernel[0].length * fc, height: kernel.length * fc, class: "filter",
            "data-layer": layer.layer, "data-out": ch + 1, "data-in": ci + 1 });
          kernel.forEach((krow, r) => krow.forEach((v, c) => {
            const rect = s("rect", { x: c * fc, y: r * fc, width: fc - 1, height: fc - 1 });
            fsvg.appendChild(rect);
            this.cells.filters.push({ rect, layer: layer.layer, ch, ci, r, c });
          }));
          fbox.appendChild(fsvg);
        });
        grid.appendChild(h("div", { class: "filter-wrap" }, fbox, h("span", { class: "filter-label mono", text: `channel ${ch + 1}` })));
        const msvg = s("svg", { width: mw * mc, height: mh * mc, class: "fmap z", "data-layer": layer.layer, "data-channel": ch + 1 });
        for (let r = 0; r < mh; r++) {
          for (let c = 0; c < mw; c++) {
            const rect = s("rect", { x: c * mc, y: r * mc, width: mc - 1, height: mc - 1, class: "pixel",
              "data-layer": layer.layer, "data-channel": ch + 1, "data-row": r + 1, "data-col": c + 1, role: "button" });
            const target = { kind: "pixel", layer: layer.layer, channel: ch + 1, row: r + 1, col: c + 1, sample: 1 };
            rect.addEventListener("click", () => this.onExplain(target));
            msvg.appendChild(rect);
            this.cells.maps.push({ rect, layer: layer.layer, ch, r, c });
          }
        }
        grid.appendChild(h("div", { class: "fmap-wrap" }, msvg));
        if (layer.activations) grid.appendChild(small("a", layer.activations[ch], ch, "acts"));
        if (layer.pooled) grid.appendChild(small("p", layer.pooled[ch], ch, "pooled"));
      });
      col.appendChild(h("div", { class: "cnn-title", text: `conv layer ${layer.layer}` +
        (layer.kernel ? ` · ${layer.kernel.join("×")} kernels, stride ${(layer.stride || [1])[0]}, padding ${(layer.padding || [0])[0]}` : "") }));
      col.appendChild(grid);
      this.legendSlot = h("div", { class: "cnn-legend" });
      col.appendChild(this.legendSlot);
      wrap.appendChild(col);
    }
    this.root.appendChild(wrap);
    this.root.appendChild(h("p", { class: "muted small",
      text: "Click a feature-map pixel: its k×k window of the input is outlined and its sum Σ W·x + b is worked with the numbers." }));
    this.wrap = wrap;
  }

  update(frame, img, layers) {
    const cnn = frame.cnn;
    const flatImg = img.flat();
    const lo = Math.min(...flatImg);
    const hi = Math.max(...flatImg);
    for (const { rect, r, c } of this.cells.image) {
      const v = img[r][c];
      rect.setAttribute("fill", grey(v, lo, hi));
      rect.dataset.value = String(v);
      rect.dataset.tip = `x_${r + 1},${c + 1} = ${fmt(v)}`;
    }
    this.inputLabel.textContent = [cnn.label !== undefined ? `label ${cnn.label}` : "",
      cnn.prediction !== undefined ? `predicted ${cnn.prediction}` : ""].filter(Boolean).join(" · ");
    const byLayer = new Map(layers.map((l) => [l.layer, l]));
    const flim = new Map(layers.map((l) => [l.layer, maxAbs(l.filters.flat(3))]));
    const mlim = new Map(layers.map((l) => [l.layer, maxAbs(l.maps.flat(2))]));
    for (const f of this.cells.filters) {
      const l = byLayer.get(f.layer);
      const v = l.filters[f.ch][f.ci][f.r][f.c];
      f.rect.setAttribute("fill", colourOf(v, flim.get(f.layer)));
      f.rect.dataset.tip = `W^[${l.name}] filter ${f.ch + 1}, input channel ${f.ci + 1}, (${f.r + 1}, ${f.c + 1}) = ${fmt(v)}`;
    }
    for (const m of this.cells.maps) {
      const v = byLayer.get(m.layer).maps[m.ch][m.r][m.c];
      m.rect.setAttribute("fill", colourOf(v, mlim.get(m.layer)));
      m.rect.dataset.value = String(v);
      m.rect.dataset.tip = `map ${m.ch + 1}, pixel (${m.r + 1}, ${m.c + 1}) = ${fmt(v)} — click to explain`;
    }
    for (const kind of ["acts", "pooled"]) {
      for (const m of this.cells[kind]) {
        const l = byLayer.get(m.layer);
        const src = kind === "acts" ? l.activations : l.pooled;
        if (!src) continue;
        const v = src[m.ch][m.r][m.c];
        m.rect.setAttribute("fill", colourOf(v, mlim.get(m.layer)));
        m.rect.dataset.tip = `${kind === "acts" ? "activation" : "pooled"} map ${m.ch + 1}, (${m.r + 1}, ${m.c + 1}) = ${fmt(v)}`;
      }
    }
    if (this.legendSlot && layers.length) {
      clear(this.legendSlot).appendChild(legend(mlim.get(layers[layers.length - 1].layer), "feature map", 110));
    }
  }

  // Outline the receptive field of a clicked pixel: `rf` = {row, col, size: [kh, kw]}, the
  // window's top-left in the layer's input counted from 1 (0 or less: in the padding).
  receptive(target, rf) {
    if (!this.rf) return;
    let row;
    let col;
    let kh;
    let kw;
    if (rf && rf.size) {
      row = rf.row;
      col = rf.col;
      [kh, kw] = rf.size;
    } else {
      kh = kw = 3;
      row = target.row - 1;
      col = target.col - 1;
    }
    const { cell, pad } = this.inputGeom;
    this.rf.setAttribute("x", (col - 1 + pad) * cell - 1);
    this.rf.setAttribute("y", (row - 1 + pad) * cell - 1);
    this.rf.setAttribute("width", kw * cell + 1);
    this.rf.setAttribute("height", kh * cell + 1);
    this.rf.dataset.row = String(row);
    this.rf.dataset.col = String(col);
    this.rf.dataset.size = `${kh}x${kw}`;
    this.rf.dataset.layer = String(target.layer);
    this.rf.classList.remove("hidden");
    for (const c of this.cells.image) {
      const inside = c.r + 1 >= row && c.r + 1 < row + kh && c.c + 1 >= col && c.c + 1 < col + kw;
      c.rect.classList.toggle("in-field", inside);
    }
  }

  select(target) {
    if (!this.wrap) return;
    for (const el of this.wrap.querySelectorAll(".selected")) el.classList.remove("selected");
    if (!target || target.kind !== "pixel") {
      if (this.rf) this.rf.classList.add("hidden");
      if (this.cells) for (const c of this.cells.image) c.rect.classList.remove("in-field");
      return;
    }
    const el = this.wrap.querySelector(`.pixel[data-layer="${target.layer}"][data-channel="${target.channel}"][data-row="${target.row}"][data-col="${target.col}"]`);
    if (el) el.classList.add("selected");
  }
}

// The output column for digits: the image's scores or probabilities per class.
export class DigitView {
  constructor(root) {
    this.root = root;
  }

  render(frame) {
    const cnn = frame.cnn || {};
    clear(this.root);
    const probs = cnn.probabilities || cnn.probs || null;
    if (!probs) {
      this.root.appendChild(h("p", { class: "muted", text: cnn.prediction !== undefined
        ? `first image: label ${cnn.label}, predicted ${cnn.prediction}` : "accuracy over the data set in the top bar" }));
      return;
    }
    const list = h("div", { class: "class-bars", id: "class-bars" });
    probs.forEach((p, k) => {
      const fill = h("div", { class: "class-fill" + (k === cnn.label ? " truth" : "") });
      fill.style.width = `${(100 * Math.max(0, Math.min(1, p))).toFixed(1)}%`;
      list.appendChild(h("div", { class: "class-bar" + (k === cnn.prediction ? " predicted" : ""), "data-class": k,
        "data-tip": `P(class ${k}) = ${fmt(p)}` },
      h("span", { class: "mono class-name", text: String(k) }), h("span", { class: "grad-track" }, fill),
      h("span", { class: "mono grad-value", text: `${(100 * p).toFixed(1)}%` })));
    });
    this.root.appendChild(list);
    this.root.appendChild(h("p", { class: "caption", text: `first image of the batch: label ${cnn.label}, predicted ${cnn.prediction}` }));
  }
}
