// Shared helpers of the playground's views: DOM and SVG builders, number
// formatting, the diverging colour scale (orange < 0 < blue, as in the
// TensorFlow Playground), heat-maps drawn on <canvas> with putImageData (the
// page's Content-Security-Policy allows no data: URLs), labels such as
// "W^[1]_12" typeset with sub/superscripts, and the floating tooltip.

export const SVGNS = "http://www.w3.org/2000/svg";

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

export function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVGNS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.setAttribute("class", v);
    else if (k === "text") node.textContent = v;
    else if (k === "tip") node.dataset.tip = v;
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// ---------------------------------------------------------------- numbers
export function fmt(v, digits = 4) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  let out;
  if (a >= 1e5 || a < 1e-4) out = v.toExponential(digits - 1);
  else out = String(Number(v.toPrecision(digits)));
  return out.replace("-", "−");
}

// Parse a number the page printed (with a typographic minus) back.
export function unfmt(text) {
  return Number(String(text).replace("−", "-"));
}

export function maxAbs(values, floor = 1e-12) {
  let m = floor;
  for (const v of values) {
    const a = Math.abs(v);
    if (Number.isFinite(a) && a > m) m = a;
  }
  return m;
}

export function flat(a) {
  return Array.isArray(a) ? a.flat(Infinity) : [a];
}

// ---------------------------------------------------------------- colours
export const NEG = [245, 147, 34];   // orange
export const POS = [8, 119, 189];    // blue
export const MID = [247, 247, 247];  // near white

// t in [-1, 1] → [r, g, b]
export function diverging(t) {
  if (!Number.isFinite(t)) return [200, 0, 0];
  const u = Math.max(-1, Math.min(1, t));
  const end = u < 0 ? NEG : POS;
  const k = Math.abs(u);
  return [0, 1, 2].map((i) => Math.round(MID[i] + (end[i] - MID[i]) * k));
}

export function rgb(c) {
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export function colourOf(v, lim) {
  return rgb(diverging(v / (lim || 1)));
}

// Draw `values` (row-major, `rows` × `cols`) onto `canvas`, scaled by `lim`.
// `flipY` puts row 0 at the bottom (a plot's y axis).
export function paintGrid(canvas, values, rows, cols, lim, flipY = false) {
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(cols, rows);
  for (let r = 0; r < rows; r++) {
    const rr = flipY ? rows - 1 - r : r;
    for (let c = 0; c < cols; c++) {
      const col = diverging(values[r * cols + c] / lim);
      const o = (rr * cols + c) * 4;
      img.data[o] = col[0];
      img.data[o + 1] = col[1];
      img.data[o + 2] = col[2];
      img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

// A gradient bar with its scale: the colour legend.
export function legend(lim, label = "", width = 140, ticks = null) {
  const canvas = h("canvas", { class: "legend-bar", width: 64, height: 1 });
  const vals = [];
  for (let i = 0; i < 64; i++) vals.push(-1 + (2 * i) / 63);
  paintGrid(canvas, vals, 1, 64, 1);
  canvas.style.width = `${width}px`;
  return h("div", { class: "legend" },
    label ? h("span", { class: "legend-label", text: label }) : null,
    h("span", { class: "legend-tick mono", text: ticks ? ticks[0] : fmt(-lim, 2) }),
    canvas,
    h("span", { class: "legend-tick mono", text: ticks ? ticks[1] : fmt(lim, 2) }));
}

// ---------------------------------------------------------------- labels
// "W^[1]_12" → parts [{t:"W"}, {t:"[1]", sup:true}, {t:"12", sub:true}].
// A super/subscript runs to the next ^ or _ ; braces group ("W_{xh}^{[1]}").
export function labelParts(label) {
  const parts = [];
  let i = 0;
  let mode = "base";
  let buf = "";
  const flush = () => {
    if (buf) parts.push({ t: buf, sup: mode === "sup", sub: mode === "sub" });
    buf = "";
  };
  while (i < label.length) {
    const ch = label[i];
    if (ch === "^" || ch === "_") {
      flush();
      mode = ch === "^" ? "sup" : "sub";
      i++;
      if (label[i] === "{") {
        const end = label.indexOf("}", i);
        buf = label.slice(i + 1, end < 0 ? undefined : end);
        flush();
        i = end < 0 ? label.length : end + 1;
        mode = "base";
      }
      continue;
    }
    buf += ch;
    i++;
  }
  flush();
  return parts;
}

export function labelHTML(label) {
  return h("span", { class: "sym" }, labelParts(String(label)).map((p) =>
    p.sup ? h("sup", { text: p.t }) : p.sub ? h("sub", { text: p.t }) : document.createTextNode(p.t)));
}

export function labelSVG(textNode, label) {
  let shift = 0;
  for (const p of labelParts(String(label))) {
    const want = p.sup ? -5 : p.sub ? 4 : 0;
    const attrs = { dy: want - shift };
    if (p.sup || p.sub) attrs["font-size"] = "0.72em";
    textNode.appendChild(s("tspan", attrs, p.t));
    shift = want;
  }
  return textNode;
}

// ---------------------------------------------------------------- tooltip
let tipNode = null;

export function installTooltip() {
  tipNode = document.getElementById("tooltip");
  document.addEventListener("mouseover", (e) => {
    const t = e.target.closest ? e.target.closest("[data-tip]") : null;
    if (!t) return;
    showTip(t.dataset.tip, e.clientX, e.clientY);
  });
  document.addEventListener("mousemove", (e) => {
    if (tipNode.classList.contains("hidden")) return;
    const t = e.target.closest ? e.target.closest("[data-tip]") : null;
    if (t) showTip(t.dataset.tip, e.clientX, e.clientY);
    else if (!e.target.closest || !e.target.closest("[data-livetip]")) hideTip();
  });
  document.addEventListener("mouseout", (e) => {
    if (!e.relatedTarget) hideTip();
  });
}

export function showTip(text, x, y) {
  if (!tipNode) return;
  tipNode.textContent = text;
  tipNode.classList.remove("hidden");
  const w = tipNode.offsetWidth;
  const hgt = tipNode.offsetHeight;
  const left = Math.min(window.innerWidth - w - 8, x + 14);
  const top = y + 16 + hgt > window.innerHeight ? y - hgt - 10 : y + 16;
  tipNode.style.left = `${Math.max(4, left)}px`;
  tipNode.style.top = `${Math.max(4, top)}px`;
}

export function hideTip() {
  if (tipNode) tipNode.classList.add("hidden");
}

// A canvas whose tooltip reads the value under the cursor: `lookup(fx, fy)`
// gets fractions of the width/height and returns the text (or null).
export function liveTip(canvas, lookup) {
  canvas.dataset.livetip = "1";
  canvas.addEventListener("mousemove", (e) => {
    const r = canvas.getBoundingClientRect();
    const text = lookup((e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
    if (text) showTip(text, e.clientX, e.clientY);
    else hideTip();
  });
  canvas.addEventListener("mouseleave", hideTip);
}

// Text with the chapter's symbols typeset: "weight W^[2]_13 of h_3" → W with a
// superscript [2] and subscript 13, h with subscript 3; the rest stays text.
export function richText(text) {
  const out = h("span", { class: "rich" });
  const re = /([A-Za-zα-ωΑ-Ω∂ŷ]+(?:\^\[[^\]\s]*\]|\^\([^)\s]*\))?(?:_[A-Za-z0-9]+(?:,[A-Za-z0-9]+)*)?)/g;
  let last = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    const tok = m[1];
    if (!/[\^_]/.test(tok)) continue;
    if (m.index > last) out.appendChild(document.createTextNode(text.slice(last, m.index)));
    out.appendChild(labelHTML(tok));
    last = m.index + tok.length;
  }
  if (last < text.length) out.appendChild(document.createTextNode(text.slice(last)));
  return out;
}
