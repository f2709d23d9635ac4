// The side panel that shows a clicked target's worked forward and backward
// computation: the reply's MathML (parsed as XML and imported, never run as
// script) with its plain-text version a toggle away, and the reply's values
// in elements tests can read: #explain-values [data-key="z"][data-value].

import { h, clear, fmt, richText } from "./util.js";

const MATHML = "http://www.w3.org/1998/Math/MathML";

const KEY_NAMES = {
  z: "pre-activation", a: "activation", w: "weight", b: "bias", grad_a: "∂L/∂a",
  value: "the engine's value", sum: "the worked sum", h: "hidden state",
  grad_z: "∂L/∂z_t", grad_pre: "∂L/∂(pre-activation): δ",
};
const GRAD_NAMES = { neuron: "∂L/∂z", weight: "∂L/∂w", bias: "∂L/∂b", pixel: "∂L/∂(pixel)", hidden: "∂L/∂h", gate: "∂L/∂(gate)" };

export function mathNode(markup) {
  if (!markup) return null;
  let text = String(markup).trim();
  if (!/^<math[\s>]/.test(text)) return null;
  if (!/^<math[^>]*\sxmlns=/.test(text)) text = text.replace(/^<math/, `<math xmlns="${MATHML}"`);
  const doc = new DOMParser().parseFromString(text, "application/xml");
  if (doc.getElementsByTagName("parsererror").length) return null;
  return document.importNode(doc.documentElement, true);
}

export class ExplainPanel {
  constructor({ onClose, onLayout }) {
    this.onLayout = onLayout;
    this.panel = document.getElementById("explain-panel");
    this.title = document.getElementById("explain-title");
    this.status = document.getElementById("explain-status");
    this.values = document.getElementById("explain-values");
    this.fwd = document.getElementById("explain-forward");
    this.bwd = document.getElementById("explain-backward");
    this.toggle = document.getElementById("explain-text-toggle");
    this.onClose = onClose;
    document.getElementById("explain-close").addEventListener("click", () => this.close());
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !this.panel.classList.contains("hidden")) this.close();
    });
    this.toggle.addEventListener("change", () => {
      this.panel.classList.toggle("as-text", this.toggle.checked);
    });
    this.target = null;
  }

  get open() {
    return !this.panel.classList.contains("hidden");
  }

  loading(target, label) {
    this.target = target;
    const wasOpen = this.open;
    this.panel.classList.remove("hidden");
    document.body.classList.add("explaining");
    if (!wasOpen && this.onLayout) this.onLayout();
    this.panel.dataset.state = "loading";
    this.panel.dataset.kind = target.kind;
    clear(this.title).appendChild(richText(label));
    this.status.textContent = "working it out…";
    clear(this.values);
    clear(this.fwd);
    clear(this.bwd);
  }

  error(message) {
    this.panel.dataset.state = "error";
    this.status.textContent = message;
  }

  show(reply, step) {
    this.panel.dataset.state = "ready";
    this.panel.dataset.step = String(step);
    clear(this.title).appendChild(richText(reply.title || "Explain"));
    this.status.textContent = step !== undefined && step !== null
      ? `with the weights of step ${step}, on the current batch (nothing is updated)` : "";
    clear(this.values);
    for (const [k, v] of Object.entries(reply.values || {})) {
      const dd = h("dd", { "data-key": k, "data-value": String(v), class: "mono", text: fmt(v, 6) });
      this.values.appendChild(h("div", { class: "kv" },
        h("dt", { text: k === "grad" ? `grad · ${GRAD_NAMES[this.target && this.target.kind] || "∂L/∂·"}`
          : KEY_NAMES[k] ? `${k} · ${KEY_NAMES[k]}` : k }), dd));
    }
    this.fill(this.fwd, reply.forward || []);
    this.fill(this.bwd, reply.backward || []);
  }

  fill(list, eqs) {
    clear(list);
    if (!eqs.length) {
      list.appendChild(h("li", { class: "muted", text: "—" }));
      return;
    }
    for (const eq of eqs) {
      const li = h("li", { class: "equation" });
      const m = mathNode(eq.mathml);
      if (m) li.appendChild(h("div", { class: "eq-math" }, m));
      li.appendChild(h("pre", { class: `eq-text mono${m ? "" : " always"}`, text: eq.text || "" }));
      list.appendChild(li);
    }
  }

  close() {
    this.panel.classList.add("hidden");
    document.body.classList.remove("explaining");
    this.target = null;
    if (this.onLayout) this.onLayout();
    if (this.onClose) this.onClose();
  }
}
