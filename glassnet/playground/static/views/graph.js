// The computational graph of one training step: parameters and data (top)
// flow through operations down to the loss. Layered by the longest path from
// a source; within a row, nodes are ordered by their inputs' positions.

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
    // top to bottom: depth d is a row; the nodes of a row side by side
    const nodeW = 96;
    const nodeH = 26;
    const gapX = 18;
    const rowH = 46;
    const pos = new Map();
    const maxCols = Math.max(...cols.map((c) => (c ? c.length : 0)));
    const W = Math.max(this.root.clientWidth - 20 || 400, maxCols * (nodeW + gapX) + 40);
    const H = cols.length * rowH + 30;
    cols.forEach((col, d) => {
      if (!col) return;
      if (d > 0) {
        const bary = (n) => {
          const p = (preds.get(n.id) || []).filter((q) => pos.has(q));
          return p.length ? p.reduce((a, q) => a + pos.get(q).x, 0) / p.length : W / 2;
        };
        col.sort((a, b) => bary(a) - bary(b));
      }
      const rowW = col.length * (nodeW + gapX) - gapX;
      const x0 = (W - rowW) / 2 + nodeW / 2;
      col.forEach((n, i) => pos.set(n.id, { x: x0 + i * (nodeW + gapX), y: 20 + d * rowH + nodeH / 2 }));
    });
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
      const y0 = p.y + nodeH / 2;
      const y1 = q.y - nodeH / 2;
      const ym = (y0 + y1) / 2;
      svg.appendChild(s("path", { d: `M${p.x},${y0} C${p.x},${ym} ${q.x},${ym} ${q.x},${y1}`,
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
