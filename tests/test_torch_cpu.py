"""The ``torch_cpu`` evaluator (:mod:`unified_ce.kernels._torch_cpu`) computes the reference core's spec.

Eager CPU torch tensors go to it by default.  Every index-target case of the fast-path table runs
through it three ways -- autograd (``.backward()``), ``value_and_grad`` and the forward alone -- for
tiny inputs (``F.cross_entropy`` where the spec is PyTorch's own), the fused row passes, and the
forward in chunks of rows; values and gradients must equal the reference core's
(``UNIFIED_CE_KERNEL=reference``) to rounding and the float64 loop reference, and the caller's
arrays stay untouched.  The number of aten operations a call runs must not grow with the input.
"""

from __future__ import annotations

import collections
import math
from typing import Any

import numpy as np
import pytest

import unified_ce as uce
from unified_ce import CrossEntropySpec, kernels
from unified_ce.kernels import _torch_cpu

from .reference import reference
from .test_fastpaths import CASES, _convert, _inputs, _np

torch = pytest.importorskip("torch")

INDEX_CASES = [c for c in CASES if c[3] in ("index", "ignored")]
COVERED = [c for c in INDEX_CASES if c[1].get("reduction") != "sample_mean"] + [
    ("all-ignored-nan", {"ignore_index": -1, "axis": 1, "denominator": "label_weight"}, (6, 4), "ignored", True, None),
]


@pytest.fixture(params=["native", "fused", "chunked"])
def regime(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``native``: tiny calls may go to F.cross_entropy; ``fused``: never; ``chunked``: forward in 3-row chunks."""
    if request.param != "native":
        monkeypatch.setattr(_torch_cpu, "NATIVE_MAX_LOGITS", -1)
    if request.param == "chunked":
        monkeypatch.setattr(_torch_cpu, "FORWARD_CHUNK_BYTES", 1)
        real = _torch_cpu.fastpath.Blocks

        def three(axis: int, size: int, step: int) -> Any:
            return real(axis, size, min(size, 3))

        monkeypatch.setattr(_torch_cpu.fastpath, "Blocks", three)
    return str(request.param)


def _run(xs: Any, ts: Any, spec: CrossEntropySpec, ws: Any, ss: Any, go: Any) -> dict[str, np.ndarray]:
    kw = {"class_weight": ws, "sample_weight": ss}
    out: dict[str, np.ndarray] = {}
    with torch.no_grad():
        out["forward"] = _np(uce.cross_entropy(xs, ts, spec, **kw))
    xr = xs.clone().requires_grad_(True)
    loss = uce.cross_entropy(xr, ts, spec, **kw)
    (loss * go).sum().backward()
    out["autograd loss"], out["autograd grad"] = _np(loss), _np(xr.grad)
    loss, grad = uce.value_and_grad(xs, ts, spec, grad_output=go, **kw)
    out["value_and_grad loss"], out["value_and_grad grad"] = _np(loss), _np(grad)
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("cid", "fields", "shape", "kind", "cw", "sw"), COVERED, ids=[c[0] for c in COVERED])
def test_matches_reference_core(
    dtype: str, cid: str, fields: dict, shape: tuple, kind: str, cw: bool, sw: Any, regime: str, monkeypatch: Any
) -> None:
    spec = CrossEntropySpec(**fields)
    x, t, w, s = _inputs(shape, kind, spec, cw, sw, seed=len(cid))
    xs, ts, ws, ss = _convert("torch", dtype, x, t, w, s)
    copies = [None if a is None else _np(a).copy() for a in (xs, ts, ws, ss)]
    assert kernels.explain(spec, xs, ts, ws, ss) == "torch_cpu"
    loss_shape = np.shape(reference(spec, x, t, w, s))
    go = _convert("torch", dtype, np.random.default_rng(1).uniform(0.5, 1.5, loss_shape))[0]
    ours = _run(xs, ts, spec, ws, ss, go)
    monkeypatch.setenv("UNIFIED_CE_KERNEL", "reference")
    ref = _run(xs, ts, spec, ws, ss, go)
    tol = {"float64": 1e-12, "float32": 3e-6}[dtype]
    for key, value in ours.items():
        assert value.dtype == ref[key].dtype and value.shape == ref[key].shape, key
        np.testing.assert_allclose(value, ref[key], rtol=tol * 10, atol=tol, err_msg=key)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(
            ours["forward"], reference(spec, x, t, w, s), rtol={"float64": 1e-10, "float32": 1e-4}[dtype], atol=1e-5
        )
    for a, c in zip((xs, ts, ws, ss), copies):  # the caller's arrays are never written
        if a is not None:
            np.testing.assert_array_equal(_np(a), c)


def _torch_case() -> tuple[Any, Any, Any, CrossEntropySpec]:
    _, fields, shape, kind, cw, sw = next(c for c in CASES if c[0] == "torch-style")
    spec = CrossEntropySpec(**fields)
    x, t, w, _ = _inputs(shape, kind, spec, cw, sw, seed=5)
    xs, ts, ws = _convert("torch", "float64", x, t, w)
    return xs, ts, ws, spec


@pytest.mark.parametrize("native", [True, False])
def test_double_backward_and_retain_graph(native: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not native:
        monkeypatch.setattr(_torch_cpu, "NATIVE_MAX_LOGITS", -1)
    xs, ts, ws, spec = _torch_case()

    def second(kernel: str) -> tuple[Any, Any, Any]:
        monkeypatch.setenv("UNIFIED_CE_KERNEL", kernel)
        xr = xs.clone().requires_grad_(True)
        loss = uce.cross_entropy(xr, ts, spec, class_weight=ws)
        (g,) = torch.autograd.grad(loss, xr, create_graph=True, retain_graph=True)
        (h,) = torch.autograd.grad(g.pow(3).sum(), xr, retain_graph=True)
        loss.backward(retain_graph=True)
        first = xr.grad.clone()
        loss.backward()  # a second backward of the same graph accumulates the same gradient again
        return h, first, xr.grad

    (h, g1, g2), (h0, g10, _) = second("auto"), second("reference")
    torch.testing.assert_close(h, h0, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(g1, g10, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(g2, 2 * g1, rtol=1e-12, atol=1e-14)


def test_double_backprop_false_raises_on_second_derivative(monkeypatch: pytest.MonkeyPatch) -> None:
    from unified_ce.adapters.chainer import softmax_cross_entropy

    monkeypatch.setattr(_torch_cpu, "NATIVE_MAX_LOGITS", 1 << 20)  # not taken: double_backprop=False
    xs, ts, _, _ = _torch_case()
    xr = xs.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(softmax_cross_entropy(xr, ts, ignore_label=-100), xr, create_graph=True)
    with pytest.raises(RuntimeError, match="double"):
        torch.autograd.grad(g.sum(), xr)


def test_gradient_is_a_new_buffer_and_logits_untouched() -> None:
    xs, ts, ws, spec = _torch_case()
    before = xs.clone()
    _, grad = uce.value_and_grad(xs, ts, spec, class_weight=ws)
    assert grad.data_ptr() != xs.data_ptr()
    torch.testing.assert_close(xs, before, rtol=0, atol=0)


def test_not_chosen_where_the_reference_core_must_trace() -> None:
    xs, ts, ws, spec = _torch_case()
    assert kernels.explain(spec, xs.float(), ts) == "torch_cpu"
    assert kernels.explain(spec, xs.half(), ts).startswith("reference (logits of dtype")
    assert kernels.explain(CrossEntropySpec(target="probs"), xs, xs.softmax(1)).startswith("reference (")
    seen: list[str] = []

    def loss(x: Any) -> Any:  # under a torch.func transform the reference core's autograd glue runs
        seen.append(kernels.explain(spec, x, ts, ws))
        return (x * x).sum()

    torch.func.grad(loss)(xs)
    assert seen[0].startswith("reference (torch.compile / torch.func")


def _full_size_ops(fn: Any, numel: int) -> collections.Counter[str]:
    """aten kernels (leaf profiler events) that read or write an array of the logits' size: parallel regions."""
    fn()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        fn()
    views = {"aten::as_strided", "aten::view", "aten::alias", "aten::detach", "aten::expand", "aten::unsqueeze",
             "aten::empty", "aten::empty_strided", "aten::empty_like", "aten::slice", "aten::select", "aten::t"}  # fmt: skip
    ops: collections.Counter[str] = collections.Counter()
    for e in prof.events():
        if not e.name.startswith("aten::") or e.name in views or e.cpu_children:
            continue
        if any(isinstance(s, list) and s and math.prod(s) >= numel for s in e.input_shapes):
            ops[e.name] += 1
    return ops


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_parallel_regions_per_call_do_not_grow_with_the_input(smoothing: float) -> None:
    """The point of this evaluator: a size-independent handful of logits-sized passes per call.

    (The reference core's eager path runs about ten per block of rows: hundreds for these sizes.)
    """
    spec = CrossEntropySpec(axis=1, ignore_index=-100, label_smoothing=smoothing, denominator="label_weight")
    counts = []
    for n in (600, 2400):  # 24 MiB and 96 MiB of float32 logits: the reference core cuts both into blocks
        x = torch.randn(n, 10000).requires_grad_(True)
        t = torch.randint(0, 10000, (n,))
        w = torch.rand(10000) + 0.5

        def step(x: Any = x, t: Any = t, w: Any = w) -> None:
            x.grad = None
            uce.cross_entropy(x, t, spec, class_weight=w).backward()

        counts.append(_full_size_ops(step, x.numel()))
        del x
    assert counts[0] == counts[1]
    assert sum(counts[1].values()) <= 7, counts[1]


def test_tiny_calls_take_the_native_op_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tiny torch-dialect call is F.cross_entropy itself; invalid input still raises our error."""
    from unified_ce import _dispatch
    from unified_ce._errors import LabelOutOfRangeError
    from unified_ce.adapters.torch import CrossEntropyLoss

    xs, ts, ws, _ = _torch_case()
    loss = CrossEntropyLoss(weight=ws, label_smoothing=0.2)
    calls: list[Any] = []
    real = _dispatch.direct
    monkeypatch.setattr(_dispatch, "direct", lambda call: calls.append(out := real(call)) or out)
    value = loss(xs, ts)
    assert calls and calls[0] is not None  # taken
    expected = torch.nn.functional.cross_entropy(xs, ts, ws, label_smoothing=0.2)
    torch.testing.assert_close(value, expected, rtol=0, atol=0)
    monkeypatch.setenv("UNIFIED_CE_KERNEL", "reference")
    torch.testing.assert_close(loss(xs, ts), expected, rtol=1e-12, atol=1e-14)
    monkeypatch.delenv("UNIFIED_CE_KERNEL")
    bad = ts.clone()
    bad[0] = 7  # 7 classes: out of range
    calls.clear()
    with pytest.raises(LabelOutOfRangeError) as info:
        loss(xs, bad)
    assert isinstance(info.value, IndexError)  # PyTorch's class too
    assert calls == [None]  # the op refused it; the full path raised
