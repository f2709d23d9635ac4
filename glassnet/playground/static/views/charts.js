// The small charts of the right-hand column: the decision boundary with the
// data points (2-D data), the loss curve, and the gradient flow (one bar per
// parameter tensor, its norm on a log scale).

import { h, s, clear, fmt, paintGrid, legend, liveTip, labelHTML } from "./util.js";

// ------------------------------------------------------------------ boundary
export class BoundaryView {
  constructor(root) {
    this.root = root;
    this.built = false;
  }

  render(frame) {
    const b = frame.boundary;
    if (!b) return;
    if (!this.built) {
      clear(this.root);
      this.canvas = h("canvas", { id: "boundary", class: "boundary-bg", "data-testid": "boundary" });
      this.points = h("canvas", { class: "boundary-points" });
      const box = h("div", { class: "boundary-box" }, this.canvas, this.points);
      this.caption = h("div", { class: "caption" });
      this.root.appendChild(box);
      this.root.appendChild(h("div", { class: "boundary-legend" },
        legend(1, "P(class 1)", 120, ["0", "1"])));
      this.root.appendChild(this.caption);
      this.built = true;
      liveTip(this.canvas, (fx, fy) => {
        const d = this.last;
        if (!d) return null;
        const n = d.size;
        const c = Math.min(n - 1, Math.floor(fx * n));
        const r = Math.min(n - 1, Math.floor((1 - fy) * n));
        const e = d.extent;
        const x1 = e[0] + ((c + 0.5) / n) * (e[1] - e[0]);
        const x2 = e[2] + ((r + 0.5) / n) * (e[3] - e[2]);
        return `P(class 1 | x = (${fmt(x1, 3)}, ${fmt(x2, 3)})) = ${fmt(d.values[r * n + c], 3)}`;
      });
      this.points.style.pointerEvents = "none";
    }
    this.last = b;
    const n = b.size;
    const vals = b.values.map((p) => 2 * p - 1);
    paintGrid(this.canvas, vals, n, n, 1.15, true);
    this.canvas.dataset.checksum = checksum(b.values);
    this.drawPoints(frame.points || [], b.extent);
    const acc = frame.accuracy;
    this.caption.textContent = `${(frame.points || []).length} points` +
      (acc !== null && acc !== undefined ? ` · accuracy ${(100 * acc).toFixed(1)}%` : "");
  }

  drawPoints(points, e) {
    const px = 240;
    const dpr = window.devicePixelRatio || 1;
    this.points.width = px * dpr;
    this.points.height = px * dpr;
    const ctx = this.points.getContext("2d");
    ctx.scale(dpr, dpr);
    ctx.clearRect(0, 0, px, px);
    for (const [x1, x2, label] of points) {
      const x = ((x1 - e[0]) / (e[1] - e[0])) * px;
      const y = px - ((x2 - e[2]) / (e[3] - e[2])) * px;
      ctx.beginPath();
      ctx.arc(x, y, 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = Number(label) > 0.5 ? "#0877bd" : "#f59322";
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = "#fff";
      ctx.stroke();
    }
  }
}

// A short fingerprint of an array, so tests can see that a picture changed.
function checksum(values) {
  let acc = 0;
  for (let i = 0; i < values.length; i++) acc += values[i] * ((i % 7) + 1);
  return acc.toFixed(6);
}

// ------------------------------------------------------------------ loss curve
export class LossView {
  constructor(root) {
    this.root = root;
  }

  render(frame) {
    const pts = (frame.losses || []).filter((p) => Number.isFinite(p[1]));
    const W = Math.max(220, Math.min(420, this.root.clientWidth || 300));
    const H = 120;
    const m = { l: 44, r: 8, t: 8, b: 20 };
    clear(this.root);
    const svg = s("svg", { width: W, height: H, class: "loss-chart", id: "loss-chart", "data-points": pts.length });
    const iw = W - m.l - m.r;
    const ih = H - m.t - m.b;
    svg.appendChild(s("rect", { x: m.l, y: m.t, width: iw, height: ih, class: "plot-bg" }));
    if (pts.length === 0) {
      svg.appendChild(s("text", { x: m.l + iw / 2, y: m.t + ih / 2, class: "axis-label", "text-anchor": "middle" },
        "press ▶ or ⏭ to train"));
      this.root.appendChild(svg);
      return;
    }
    const mean = (a) => a.reduce((acc, p) => acc + p[1], 0) / a.length;
    const k = Math.max(1, Math.min(10, Math.floor(pts.length / 4)));
    svg.dataset.first = String(mean(pts.slice(0, k)));   // the curve's start and end, averaged: tests read them
    svg.dataset.last = String(mean(pts.slice(-k)));
    const x0 = pts[0][0];
    const x1 = Math.max(pts[pts.length - 1][0], x0 + 1);
    let y1 = Math.max(...pts.map((p) => p[1]));
    const y0 = 0;
    if (!(y1 > y0)) y1 = 1;
    const X = (v) => m.l + ((v - x0) / (x1 - x0)) * iw;
    const Y = (v) => m.t + ih - ((v - y0) / (y1 - y0)) * ih;
    for (const t of [0, 0.5, 1]) {
      const v = y0 + t * (y1 - y0);
      svg.appendChild(s("line", { x1: m.l, x2: m.l + iw, y1: Y(v), y2: Y(v), class: "grid-line" }));
      svg.appendChild(s("text", { x: m.l - 4, y: Y(v) + 3, class: "axis-label", "text-anchor": "end" },
        fmt(v, 3).replace(/e\+?/, "e").replace(/(\.\d)\d*e/, "$1e")));
    }
    svg.appendChild(s("text", { x: m.l, y: H - 4, class: "axis-label" }, `step ${x0}`));
    svg.appendChild(s("text", { x: m.l + iw, y: H - 4, class: "axis-label", "text-anchor": "end" }, `${x1}`));
    const d = pts.map((p, i) => `${i ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" ");
    svg.appendChild(s("path", { d: `${d} L${X(pts[pts.length - 1][0]).toFixed(1)},${Y(0)} L${X(x0)},${Y(0)} Z`, class: "loss-area" }));
    svg.appendChild(s("path", { d, class: pts.length > 20 ? "loss-line raw" : "loss-line" }));
    if (pts.length > 20) {   // the trend: an exponential moving average of the batch losses
      const alpha = 2 / (Math.max(3, Math.min(40, pts.length / 12)) + 1);
      let ema = pts[0][1];
      const sm = pts.map((p, i) => {
        ema = i ? alpha * p[1] + (1 - alpha) * ema : ema;
        return `${i ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(ema).toFixed(1)}`;
      }).join(" ");
      svg.appendChild(s("path", { d: sm, class: "loss-line trend" }));
    }
    const last = pts[pts.length - 1];
    svg.appendChild(s("circle", { cx: X(last[0]), cy: Y(last[1]), r: 3, class: "loss-dot",
      "data-tip": `step ${last[0]}: loss ${fmt(last[1])}` }));
    this.root.appendChild(svg);
  }
}

// ------------------------------------------------------------------ gradient flow
export class GradView {
  constructor(root) {
    this.root = root;
  }

  render(frame) {
    const grads = frame.gradients || [];
    clear(this.root);
    if (!grads.length) {
      this.root.appendChild(h("p", { class: "muted", text: "no gradients yet: run a step" }));
      return;
    }
    const finite = grads.map((g) => g.norm).filter((v) => Number.isFinite(v) && v > 0);
    const hi = finite.length ? Math.log10(Math.max(...finite)) : 0;
    const lo = finite.length ? Math.min(Math.log10(Math.min(...finite)), hi - 3) : -3;
    const list = h("div", { class: "grad-list", id: "grad-list" });
    for (const g of grads) {
      const v = g.norm;
      const frac = Number.isFinite(v) && v > 0 ? 0.04 + 0.96 * (Math.log10(v) - lo) / Math.max(1e-9, hi - lo) : 0;
      const fill = h("div", { class: "grad-fill" + (Number.isFinite(v) ? "" : " bad") });
      fill.style.width = `${(100 * Math.max(0, Math.min(1, frac))).toFixed(1)}%`;
      const row = h("div", {
        class: "grad-bar", "data-name": g.name, "data-norm": String(v),
        "data-tip": `‖∂L/∂${g.name}‖ = ${fmt(v)}` + (g.shape ? `  (shape ${g.shape.join("×")})` : ""),
      },
      h("span", { class: "grad-name" }, labelHTML(g.name)),
      h("span", { class: "grad-track" }, fill),
      h("span", { class: "grad-value mono", text: fmt(v, 3) }));
      list.appendChild(row);
    }
    this.root.appendChild(list);
  }
}
