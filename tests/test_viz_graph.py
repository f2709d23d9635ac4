"""gn.viz.graph / to_dot: one node per op and per tensor of the real graph, with its numbers."""

import importlib
import re
import time

import numpy as np
import pytest
from viz_helpers import decoded, svg_root

import glassnet as gn
import glassnet.functional as F
from glassnet import nn


def independent_walk(root):
    """Ops, tensors and edges of root's graph, found here without the module's code."""
    tensors, ops, edges = {id(root): root}, {}, []
    todo = [root]
    while todo:
        t = todo.pop()
        fn = t.grad_fn
        if fn is None:
            continue
        edges.append((id(fn), id(t)))
        if id(fn) in ops:
            continue
        ops[id(fn)] = fn
        for p in fn.parents:
            edges.append((id(p), id(fn)))
            if id(p) not in tensors:
                tensors[id(p)] = p
                todo.append(p)
    return tensors, ops, edges


def neuron():
    w = gn.tensor([0.2, 0.3, 0.9], requires_grad=True, name="w")
    x = gn.tensor([0.5, 0.6, 0.1], name="x")
    b = gn.tensor(0.5, requires_grad=True, name="b")
    y = gn.sigmoid(w @ x + b)
    y.name = "y"
    return w, x, b, y


def mlp_loss():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
    loss = F.mse_loss(net(gn.tensor([[0.5, 0.2]])), gn.tensor([[1.0]]))
    return net, loss


def by_name(drawn):
    return {n["name"]: n for n in drawn["nodes"] if n["name"]}


def number_list(text):
    return [float(v.replace("−", "-")) for v in re.findall(r"[−\d.e+]+", text)
            if re.search(r"\d", v)]


def check_structure(drawn, root):
    tensors, ops, edges = independent_walk(root)
    kinds = [n["kind"] for n in drawn["nodes"]]
    assert kinds.count("op") == len(ops)
    assert kinds.count("tensor") == len(tensors)
    assert len(drawn["edges"]) == len(edges)
    ids = {n["id"] for n in drawn["nodes"]}
    assert len(ids) == len(drawn["nodes"])
    assert all(s in ids and d in ids for s, d in drawn["edges"])
    kind_of = {n["id"]: n["kind"] for n in drawn["nodes"]}
    assert all(kind_of[s] != kind_of[d] for s, d in drawn["edges"])  # tensor → op → tensor
    assert sorted(n["op"] for n in drawn["nodes"] if n["kind"] == "op") == \
        sorted(type(f).__name__.removesuffix("Function") for f in ops.values())
    # data flows one way in the picture: every edge points down the layers
    pos = drawn["positions"]
    k = 0 if drawn["direction"] == "left-to-right" else 1
    assert all(pos[s][k] < pos[d][k] for s, d in drawn["edges"])


def test_the_graph_of_a_neuron():
    w, _, _, y = neuron()
    d = gn.viz.graph(y).drawn
    check_structure(d, y)
    assert len(d["nodes"]) == 3 + 6 and len(d["edges"]) == 8
    ops = sorted(n["op"] for n in d["nodes"] if n["kind"] == "op")
    assert ops == ["Add", "MatMul", "Sigmoid"]
    named = by_name(d)
    assert named["y"]["role"] == "output" and named["w"]["role"] == "leaf"
    assert named["x"]["role"] == "constant" and named["b"]["shape"] == ()
    np.testing.assert_allclose(named["y"]["value"], y._data)
    np.testing.assert_allclose(named["w"]["value"], w._data)
    assert number_list(named["w"]["label"].split("\n")[1]) == pytest.approx([0.2, 0.3, 0.9])
    assert named["w"]["grad"] is None and "grad" not in named["w"]["label"]
    sigmoid = next(n for n in d["nodes"] if n["op"] == "Sigmoid")
    assert "a = 1 / (1 + e^{-z})" in sigmoid["label"]  # the op's own formula
    # the intermediate tensors carry the real values: w·x and z
    inner = sorted(float(n["value"]) for n in d["nodes"] if n["role"] == "intermediate")
    assert inner == pytest.approx(sorted([0.37, 0.87]), rel=1e-6)


def test_after_backward_the_gradients_are_drawn():
    w, _, b, y = neuron()
    y.backward()  # frees what the ops saved, but keeps the links
    d = gn.viz.graph(y).drawn
    check_structure(d, y)
    named = by_name(d)
    np.testing.assert_allclose(named["w"]["grad"], w.grad._data)
    np.testing.assert_allclose(named["b"]["grad"], b.grad._data)
    grad_line = named["w"]["label"].split("\n")[-1]
    assert grad_line.startswith("grad ")
    assert number_list(grad_line) == pytest.approx(list(w.grad._data), rel=2e-3)
    assert named["x"]["grad"] is None  # a constant gets no gradient
    assert "(gradients from backward())" in "".join(
        t.get_text() for t in gn.viz.graph(y).axes[0].texts)


def test_the_loss_of_a_small_mlp_with_parameter_names():
    net, loss = mlp_loss()
    loss.backward()
    d = gn.viz.graph(loss, params=net.named_parameters()).drawn
    check_structure(d, loss)
    assert len(d["nodes"]) == 5 + 11
    named = by_name(d)
    assert set(named) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    for name, p in net.named_parameters():
        np.testing.assert_allclose(named[name]["grad"], p.grad._data)
        assert named[name]["role"] == "leaf" and named[name]["shape"] == p.shape
    assert named["0.weight"]["value"] is None  # 6 values: too many to print
    assert "grad computed (6 values)" in named["0.weight"]["label"]
    root = d["nodes"][0]
    assert root["role"] == "output" and root["value"] == pytest.approx(float(loss._data))
    # a dict of names works too, and a tensor's own name wins
    net[0].weight.name = "W1"
    d = gn.viz.graph(loss, params={"first": net[0].weight, "b": net[0].bias}).drawn
    assert {"W1", "b"} <= set(by_name(d))


def test_multi_output_ops_repeated_inputs_and_retained_gradients():
    x = gn.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True, name="x")
    a, b = x.split(2)
    z = a * a + b.exp()
    z.retain_grad()
    s = z.sum()
    s.backward()
    d = gn.viz.graph(s).drawn
    check_structure(d, s)
    split = [n for n in d["nodes"] if n["op"] == "Split"]
    assert len(split) == 1  # one node for the op, one edge to each output it made
    assert sum(1 for e in d["edges"] if e[0] == split[0]["id"]) == 2
    mul = next(n["id"] for n in d["nodes"] if n["op"] == "Mul")
    assert sum(1 for e in d["edges"] if e[1] == mul) == 2  # a * a: the same tensor twice
    retained = [n for n in d["nodes"] if n["role"] == "intermediate" and n["grad"] is not None]
    assert len(retained) == 1
    np.testing.assert_allclose(retained[0]["grad"], z.grad._data)


def test_a_deep_graph_is_walked_without_recursion():
    h = gn.tensor([0.5], requires_grad=True)
    for _ in range(3000):
        h = h * 0.999
    text = gn.viz.to_dot(h)  # 9001 nodes (each step: 0.999, Mul, its result), no recursion
    assert text.count("->") == 9000
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"9001 nodes.*max_nodes=200.*max_nodes=9001.*to_dot"):
        gn.viz.graph(h)
    assert time.perf_counter() - start < 2


def test_counting_stops_early(monkeypatch):
    graph_module = importlib.import_module("glassnet.viz.graph")
    monkeypatch.setattr(graph_module, "COUNT_CAP", 100)
    h = gn.tensor([0.5], requires_grad=True)
    for _ in range(500):
        h = h + 1.0
    with pytest.raises(ValueError, match=r"graph: the graph has more than 100 nodes, more than "
                                         r"max_nodes=20; pass a larger max_nodes="):
        gn.viz.graph(h, max_nodes=20)
    with pytest.raises(ValueError, match=r"to_dot: the graph has more than 100 nodes, more "
                                         r"than max_nodes=20; pass a larger max_nodes= \(or None"):
        gn.viz.to_dot(h, max_nodes=20)
    assert gn.viz.to_dot(h).count("->") == 3 * 500  # no limit given: any size
    d = gn.viz.graph(gn.tensor([1.0], requires_grad=True) * 2, max_nodes=4).drawn
    assert len(d["nodes"]) == 4  # the leaf, the constant 2, Mul and the result


DECL = re.compile(r'^\s*(\w+) \[shape=(box|ellipse), fillcolor="#[0-9a-f]{6}", '
                  r'color="#[0-9a-f]{6}", label="((?:[^"\\]|\\.)*)"\];$')
EDGE = re.compile(r"^\s*(\w+) -> (\w+);$")


def parse_dot(text):
    lines = text.strip().split("\n")
    assert lines[0] == "digraph glassnet {" and lines[-1] == "}"
    assert text.count("{") == text.count("}")
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if m := DECL.match(line):
            label = re.sub(r"\\(.)", lambda g: "\n" if g.group(1) == "n" else g.group(1),
                           m.group(3))
            nodes[m.group(1)] = (m.group(2), label)
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
        else:
            assert re.match(r"^\s*(rankdir|node|edge)\b.*;$", line), line
    return nodes, edges


def test_dot_text_is_the_same_graph():
    net, loss = mlp_loss()
    loss.backward()
    text = gn.viz.to_dot(loss, params=dict(net.named_parameters()))
    nodes, edges = parse_dot(text)
    drawn = gn.viz.graph(loss, params=dict(net.named_parameters())).drawn
    assert {n["id"]: n["label"] for n in drawn["nodes"]} == {k: v[1] for k, v in nodes.items()}
    assert edges == drawn["edges"]
    assert all(s in nodes and d in nodes for s, d in edges)  # every id used is declared
    assert {v[0] for k, v in nodes.items() if k.startswith("f")} == {"ellipse"}


def test_dot_escapes_quotes_backslashes_and_newlines():
    w = gn.tensor([1.0, 2.0], requires_grad=True, name='say "hi" \\ to\nme')
    y = (w * 3).sum()
    text = gn.viz.to_dot(y)
    assert 'say \\"hi\\" \\\\ to\\nme' in text
    nodes, _ = parse_dot(text)
    assert any(label.startswith('say "hi" \\ to\nme') for _, label in nodes.values())


def test_picture_names_stay_functions_whatever_loads_first():
    import subprocess
    import sys

    code = ("import glassnet as gn; gn.viz.graph; gn.viz.to_dot; "
            "assert callable(gn.viz.network) and callable(gn.viz.graph)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_png_and_svg_decode(tmp_path):
    _, _, _, y = neuron()
    y.backward()
    png, svg = tmp_path / "g.png", tmp_path / "g.svg"
    fig = gn.viz.graph(y, path=png)
    assert hasattr(fig, "savefig")
    _, loss = mlp_loss()
    gn.viz.graph(loss, path=svg)
    decoded(png, (500, 151), max_width=1500)
    svg_root(svg)


def test_bad_inputs(tmp_path):
    _, _, _, y = neuron()
    with pytest.raises(TypeError, match="graph: expected a gn.Tensor.*got ndarray"):
        gn.viz.graph(np.ones(3))
    with pytest.raises(TypeError, match="to_dot: expected a gn.Tensor.*got list"):
        gn.viz.to_dot([1.0])
    leaf = gn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"graph: this tensor of shape \(2,\) is a leaf"):
        gn.viz.graph(leaf)
    with gn.no_grad():
        untracked = leaf * 2
    with pytest.raises(ValueError, match=r"has no graph.*no_grad\(\).*requires_grad=True"):
        gn.viz.graph(untracked)
    with pytest.raises(ValueError, match="to_dot: .*has no graph"):
        gn.viz.to_dot(gn.tensor([1.0]) * 2)
    with pytest.raises(TypeError, match="graph: max_nodes must be an integer, got float"):
        gn.viz.graph(y, max_nodes=2.5)
    with pytest.raises(ValueError, match="graph: max_nodes must be at least 1, got 0"):
        gn.viz.graph(y, max_nodes=0)
    with pytest.raises(ValueError, match=r"graph: the graph has 9 nodes.*max_nodes=5.*"
                                         r"pass max_nodes=9"):
        gn.viz.graph(y, max_nodes=5)
    with pytest.raises(TypeError, match="graph: params must be a dict"):
        gn.viz.graph(y, params=5)
    with pytest.raises(TypeError, match=r"graph: params\['a'\] must be a tensor, got int"):
        gn.viz.graph(y, params={"a": 1})
    with pytest.raises(ValueError, match=r"graph: path .* must end in \.png or \.svg"):
        gn.viz.graph(y, path=tmp_path / "g.pdf")
    for message in ("leaf", "no graph", "nodes"):
        try:
            gn.viz.graph(leaf if message == "leaf" else untracked if message == "no graph" else y,
                         max_nodes=5)
        except ValueError as e:
            assert "\n" not in str(e)
