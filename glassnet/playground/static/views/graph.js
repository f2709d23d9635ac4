// The computational graph of one training step: parameters and data (left)
// flow through operations to the loss (right). Layered by the longest path
// from a source; within a layer, nodes are ordered by their inputs' positions.

import { s, clear, labelSVG } from "./util.js";

export class GraphView {
  constructor(root) {
    this.root = root;
    this.key = null;
  }

  render(frame) {
    const g = frame.graph;
    if (!g || !g.nodes) return;
    const key = JSON.stringify([g.nodes.map((n) => [n.id, n.label, n.kind]), g.edges]);
    if (key === this.key) return;
    this.key = key;
    clear(this.root);
    const byId = new Map(g.nodes.map((n) => [n.id, n]));
    const preds = new Map(g.nodes.map((n) => [n.id, []]));
    for (const [a, b] of g.edges) if (preds.has(b) && byId.has(a)) preds.get(b).push(a);
    const depth = new Map();
    const visiting = new Set();
    const dep = (id) => {
      if (depth.has(id)) return depth.get(id);
      if (visiting.has(id)) return 0;
      visiting.add(id);
      const p = preds.get(id) || [];
      const d = p.length ? 1 + Math.max(...p.map(dep)) : 0;
      visiting.delete(id);
      depth.set(id, d);
      return d;
    };
    g.nodes.forEach((n) => dep(n.id));
    // sources sit just before their first consumer, not all in column 0
    const succ = new Map(g.nodes.map((n) => [n.id, []]));
    for (const [a, b] of g.edges) if (succ.has(a)) succ.get(a).push(b);
    for (const n of g.nodes) {
      if ((preds.get(n.id) || []).length === 0 && succ.get(n.id).length) {
        depth.set(n.id, Math.max(0, Math.min(...succ.get(n.id).map((b) => depth.get(b))) - 1));
      }
    }
    const cols = [];
    for (const n of g.nodes) {
      const d = depth.get(n.id);
      (cols[d] = cols[d] || []).push(n);
    }
    const colW = 112;
    const rowH = 40;
    const nodeW = 92;
    const nodeH = 26;
    const pos = new Map();
    const maxRows = Math.max(...cols.map((c) => (c ? c.length : 0)));
    const H = Math.max(200, maxRows * rowH + 40);
    cols.forEach((col, d) => {
      if (!col) return;
      if (d > 0) {
        const bary = (n) => {
          const p = (preds.get(n.id) || []).filter((q) => pos.has(q));
          return p.length ? p.reduce((a, q) => a + pos.get(q).y, 0) / p.length : H / 2;
        };
        col.sort((a, b) => bary(a) - bary(b));
      }
      const y0 = (H - col.length * rowH) / 2 + rowH / 2;
      col.forEach((n, i) => pos.set(n.id, { x: 20 + d * colW + nodeW / 2, y: y0 + i * rowH }));
    });
    const W = 40 + cols.length * colW;
    const svg = s("svg", { width: W, height: H, class: "graph-svg", id: "graph" });
    const defs = s("defs");
    const marker = s("marker", { id: "arrowhead", viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.appendChild(s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }));
    defs.appendChild(marker);
    svg.appendChild(defs);
    for (const [a, b] of g.edges) {
      const p = pos.get(a);
      const q = pos.get(b);
      if (!p || !q) continue;
      const x0 = p.x + nodeW / 2;
      const x1 = q.x - nodeW / 2;
      const xm = (x0 + x1) / 2;
      svg.appendChild(s("path", { d: `M${x0},${p.y} C${xm},${p.y} ${xm},${q.y} ${x1},${q.y}`,
        class: "graph-edge", "marker-end": "url(#arrowhead)" }));
    }
    for (const n of g.nodes) {
      const p = pos.get(n.id);
      const grp = s("g", { class: `graph-node kind-${n.kind || "op"}`, "data-node": n.id,
        "data-tip": `${n.label}${n.kind ? " (" + n.kind + ")" : ""}${n.shape ? " shape " + n.shape.join("×") : ""}` });
      grp.appendChild(s("rect", { x: p.x - nodeW / 2, y: p.y - nodeH / 2, width: nodeW, height: nodeH,
        rx: n.kind === "op" ? 13 : 4 }));
      const t = s("text", { x: p.x, y: p.y + 4, "text-anchor": "middle" });
      const label = String(n.label);
      labelSVG(t, label.length > 16 ? label.slice(0, 15) + "…" : label);
      grp.appendChild(t);
      svg.appendChild(grp);
    }
    this.root.appendChild(svg);
  }
}
