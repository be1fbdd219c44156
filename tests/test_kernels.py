"""The fused kernels (unified_ce.kernels) against the reference core and a float64 reference.

Without a GPU the Triton kernels run on CPU tensors under Triton's interpreter
(``TRITON_INTERPRET=1``, set below before Triton is imported) at small sizes; with CUDA they run
on the GPU.  CuPy tests need CuPy and a CUDA device and skip otherwise; the CuPy kernel's CUDA
source is also checked on the CPU through ``tools/check_cupy_kernel.py`` (OpenMP emulation).

Every knob of the spec that the kernels cover is varied in ``CASES``; each case compares the loss,
the autograd gradient (with a non-trivial upstream gradient) and ``value_and_grad`` of the kernel
path with (a) the reference core in the same dtype and (b) an obviously correct float64 loop,
``loss64``, differentiated by torch autograd.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
CUDA = torch.cuda.is_available()
if not CUDA:  # Triton's interpreter on CPU tensors; must be set before Triton is first imported
    os.environ["TRITON_INTERPRET"] = "1"
HAS_TRITON = importlib.util.find_spec("triton") is not None and hasattr(torch.library, "custom_op")
needs_triton = pytest.mark.skipif(not HAS_TRITON, reason="needs triton (pip install 'unified-ce[triton]')")

import unified_ce as uce  # noqa: E402
from unified_ce import CrossEntropySpec, kernels  # noqa: E402
from unified_ce._fields import row as spec_field  # noqa: E402
from unified_ce.kernels import KernelUnavailableError  # noqa: E402

DEVICE = "cuda" if CUDA else "cpu"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

if not CUDA and "unified_ce.kernels._triton" in sys.modules and not os.environ.get("TRITON_INTERPRET"):
    pytest.skip("the Triton kernels were imported without the interpreter", allow_module_level=True)


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``use("triton")`` / ``use("reference")``: set UNIFIED_CE_KERNEL for the rest of the test."""

    def set_kernel(name: str) -> None:
        monkeypatch.setenv("UNIFIED_CE_KERNEL", name)

    return set_kernel


# --------------------------------------------------------------------------- float64 reference


def loss64(
    x: Any, t: Any, spec: CrossEntropySpec, cw: Any = None, sw: Any = None, keep_shape: tuple[int, ...] | None = None
) -> Any:
    """The spec's definition, item by item in float64 (softmax CE of logits with class indices)."""
    x = x.double()
    axis = spec.axis % x.ndim
    C = x.shape[axis]
    rows = torch.movedim(x, axis, -1).reshape(-1, C)
    labels = t.reshape(-1).tolist()
    w = cw.double() if cw is not None else torch.ones(C, dtype=torch.float64, device=x.device)
    shape_keep = tuple(1 if i == axis else s for i, s in enumerate(x.shape))
    swr = None
    if sw is not None:
        swr = torch.movedim(sw.double().expand(shape_keep), axis, -1).reshape(-1)
    eps = spec.label_smoothing
    rows = rows * spec.logit_scale  # the LLM options: y = cap tanh(s x / cap), plus z lse(y)^2 per item
    if spec.logit_softcap is not None:
        rows = spec.logit_softcap * torch.tanh(rows / spec.logit_softcap)
    losses, dens = [], []
    for i, y in enumerate(labels):
        y = int(y)
        if spec.ignore_index is not None and y == spec.ignore_index:
            losses.append(torch.zeros((), dtype=torch.float64, device=x.device))
            dens.append(None)
            continue
        logp = torch.log_softmax(rows[i], 0)
        q = torch.full((C,), eps / C, dtype=torch.float64, device=x.device)
        q[y] += 1.0 - eps
        qlogp = torch.where(q > 0, q * logp, 0.0)  # 0 log 0 = 0 (a masked class with no target mass)
        if spec.weighting == "per_class":
            item = -(w * qlogp).sum()
        else:
            item = (w * q).sum() * -qlogp.sum()
        item = item + spec.z_loss * torch.logsumexp(rows[i], 0) ** 2
        if swr is not None:
            item = item * swr[i]
        losses.append(item * spec.scale)
        dens.append({"label_weight": float(w[y]), "item_weight": float((w * q).sum())})
    out = torch.stack(losses)
    if spec.reduction == "none":
        index_shape = tuple(s for i, s in enumerate(x.shape) if i != axis)
        return out.reshape(shape_keep if spec.keepdims else index_shape)
    if spec.reduction == "sum":
        return out.sum()
    valid = [d for d in dens if d is not None]
    d = {
        "items": float(len(labels)),
        "logits_per_class": float(len(labels)),
        "valid": float(len(valid)),
        "label_weight": sum(v["label_weight"] for v in valid),
        "item_weight": sum(v["item_weight"] for v in valid),
        "batch": float(x.shape[spec.batch_axis % x.ndim]),
    }[spec.denominator]
    if d == 0:
        return out.sum() * math.nan if spec.zero_denominator == "nan" else out.sum()
    return out.sum() / d


# --------------------------------------------------------------------------- the knob table


def _case(id: str, *, shape: tuple[int, ...] = (5, 7), cw: bool = False, sw: bool = False, labels: Any = None,
          dtypes: tuple[str, ...] = ("float32",), logits: str = "normal", **spec: Any) -> Any:  # fmt: skip
    spec.setdefault("axis", 1 if len(shape) > 1 else 0)
    return pytest.param(shape, cw, sw, labels, dtypes, logits, spec, id=id)


# fmt: off
CASES = [
    _case("default", dtypes=("float32", "bfloat16", "float16")),
    _case("torch-weight-ignore", cw=True, ignore_index=-100, denominator="label_weight",
          dtypes=("float32", "bfloat16", "float16")),
    _case("torch-smoothing", ignore_index=-100, label_smoothing=0.1, denominator="label_weight"),
    _case("torch-weight-smoothing", cw=True, ignore_index=-100, label_smoothing=0.2, denominator="label_weight",
          dtypes=("float32", "bfloat16")),
    _case("torch-sum", cw=True, ignore_index=-100, reduction="sum"),
    _case("torch-none", cw=True, ignore_index=-100, label_smoothing=0.1, reduction="none", dtypes=("float32", "float16")),
    _case("torch-all-ignored", cw=True, ignore_index=-100, labels=[-100] * 5, denominator="label_weight"),
    _case("zero-denominator", ignore_index=-100, labels=[-100] * 5, zero_denominator="zero"),
    _case("chainer-batch", ignore_index=-1, denominator="batch", zero_denominator="zero"),
    _case("items", ignore_index=3, denominator="items"),
    _case("brainpy-per-item", cw=True, weighting="per_item", denominator="item_weight"),
    _case("brainpy-per-item-smoothing", cw=True, weighting="per_item", label_smoothing=0.3, ignore_index=2,
          denominator="item_weight"),
    _case("per-item-smoothing-valid", weighting="per_item", label_smoothing=0.3, cw=True, ignore_index=2),
    _case("item-weight-per-class", cw=True, label_smoothing=0.2, denominator="item_weight"),
    _case("sample-weight-scale", sw=True, scale=0.5, ignore_index=0, label_smoothing=0.1),
    _case("sample-weight-none", sw=True, cw=True, reduction="none", keepdims=True),
    _case("spatial-axis1", shape=(2, 6, 3), cw=True, ignore_index=-100, label_smoothing=0.1,
          denominator="label_weight", dtypes=("float32", "bfloat16")),
    _case("spatial-none", shape=(2, 6, 3), reduction="none", sw=True),
    _case("last-axis-3d", shape=(2, 3, 6), axis=-1, ignore_index=5),
    _case("unbatched", shape=(9,), cw=True, label_smoothing=0.1),
    _case("one-class", shape=(4, 1), label_smoothing=0.5),
    _case("masked-vocab", logits="masked", ignore_index=-100, cw=True),
    _case("large-logits", logits="large", label_smoothing=0.1, cw=True),
    # the LLM options (PaLM z-loss, Gemma-2 soft-capping, flash-attn's logit_scale)
    _case("z-loss", ignore_index=-100, z_loss=1e-2, dtypes=("float32", "bfloat16")),
    _case("softcap", logit_softcap=1.5, cw=True, reduction="sum"),
    _case("logit-scale", logit_scale=0.7, ignore_index=-100, label_smoothing=0.1),
    _case("llm-all", ignore_index=-100, label_smoothing=0.1, z_loss=0.05, logit_softcap=2.0, logit_scale=1.3,
          cw=True, denominator="label_weight", dtypes=("float32", "float16")),
    _case("llm-none", reduction="none", z_loss=0.1, logit_softcap=3.0, sw=True, ignore_index=2),
    _case("llm-masked-vocab", logits="masked", ignore_index=-100, z_loss=1e-3, logit_softcap=30.0),
    _case("llm-masked-vocab-scale", logits="masked", ignore_index=-100, logit_scale=0.5, cw=True),
    _case("llm-per-item", cw=True, weighting="per_item", label_smoothing=0.3, z_loss=0.02, logit_scale=2.0,
          denominator="item_weight"),
]
# fmt: on


def _inputs(shape: tuple[int, ...], cw: bool, sw: bool, labels: Any, logits: str, spec: dict[str, Any], seed: int = 0):
    rng = np.random.default_rng(seed)
    axis = spec["axis"] % len(shape)
    C = shape[axis]
    x = rng.standard_normal(shape).astype(np.float32) * 2
    if logits == "masked":  # -inf logits (a masked vocabulary), never at the label
        x[..., 1] = -np.inf
    if logits == "large":
        x = x + 3e3
    index_shape = tuple(s for i, s in enumerate(shape) if i != axis)
    if labels is None:
        t = rng.integers(0, C, index_shape)
        if logits == "masked":
            t = np.where(t == 1, 0, t)
        ign = spec.get("ignore_index")
        if ign is not None and t.size > 1:
            t.flat[1] = ign
    else:
        t = np.array(labels).reshape(index_shape)
    keep = tuple(1 if i == axis else s for i, s in enumerate(shape))
    cwa = rng.uniform(0.2, 2.0, C).astype(np.float32) if cw else None
    swa = rng.uniform(0.0, 2.0, keep).astype(np.float32) if sw else None
    dev = DEVICE
    return (
        torch.tensor(x, device=dev),
        torch.tensor(t, device=dev),
        None if cwa is None else torch.tensor(cwa, device=dev),
        None if swa is None else torch.tensor(swa, device=dev),
    )


RTOL = {"float32": 2e-5, "float16": 2e-3, "bfloat16": 1.6e-2}


def assert_close(actual: Any, expected: Any, dtype: str, what: str) -> None:
    a = actual.detach().double().cpu()
    e = expected.detach().double().cpu()
    assert a.shape == e.shape, f"{what}: shape {tuple(a.shape)} != {tuple(e.shape)}"
    finite = torch.isfinite(e)
    scale = e[finite].abs().max().item() if finite.any() else 1.0
    torch.testing.assert_close(a, e, rtol=RTOL[dtype], atol=RTOL[dtype] * max(scale, 1e-3), equal_nan=True,
                               msg=lambda m: f"{what} ({dtype}): {m}")  # fmt: skip


def _run(x: Any, t: Any, cw: Any, sw: Any, spec: CrossEntropySpec, g: Any) -> tuple[Any, Any, Any, Any]:
    """loss, autograd gradient of sum(loss * g), and value_and_grad's loss and gradient."""
    xr = x.detach().clone().requires_grad_(True)
    loss = uce.cross_entropy(xr, t, spec, class_weight=cw, sample_weight=sw)
    (loss * g.to(loss.dtype)).sum().backward()
    vloss, vgrad = uce.value_and_grad(x, t, spec, class_weight=cw, sample_weight=sw, grad_output=g.to(loss.dtype))
    return loss.detach(), xr.grad, vloss, vgrad


@needs_triton
@pytest.mark.parametrize(("shape", "cw", "sw", "labels", "dtypes", "logits", "fields"), CASES)
def test_triton_matches_reference_and_float64(use, shape, cw, sw, labels, dtypes, logits, fields) -> None:
    spec = CrossEntropySpec(**fields)
    x32, t, cwt, swt = _inputs(shape, cw, sw, labels, logits, fields)
    for dtype in dtypes:
        x = x32.to(getattr(torch, dtype))
        use("triton")
        assert kernels.explain(spec, x, t, cwt, swt) == "triton"
        ref_out = loss64(x, t, spec, cwt, swt)
        g = torch.linspace(0.5, 1.5, max(ref_out.numel(), 1), device=DEVICE).reshape(ref_out.shape)
        if spec.reduction != "none":
            g = torch.tensor(1.7, device=DEVICE)
        got = _run(x, t, cwt, swt, spec, g)
        use("reference")
        want = _run(x, t, cwt, swt, spec, g)
        # float64 reference, from the same (rounded) inputs
        x64 = x.detach().double().requires_grad_(True)
        out64 = loss64(x64, t, spec, cwt, swt)
        if out64.requires_grad:
            (out64 * g.double()).sum().backward()
        else:  # every item ignored: no dependence on the logits
            x64.grad = torch.zeros_like(x64)
        for name, a, w, e in (
            ("loss", got[0], want[0], out64),
            ("autograd gradient", got[1], want[1], x64.grad),
            ("value_and_grad loss", got[2], want[2], out64),
            ("value_and_grad gradient", got[3], want[3], x64.grad),
        ):
            assert a.dtype == w.dtype == x.dtype, f"{name}: dtype {a.dtype}, reference {w.dtype}"
            assert_close(a, w, dtype, f"{name} vs reference path")
            assert_close(a, e, dtype, f"{name} vs float64")


# --------------------------------------------------------------------------- paths through autograd


@pytest.fixture
def torch_case():
    x, t, cw, _ = _inputs((6, 11), True, False, None, "normal", {"axis": 1, "ignore_index": -100})
    spec = CrossEntropySpec(axis=1, ignore_index=-100, label_smoothing=0.1, denominator="label_weight")
    return x, t, cw, spec


def _grad(x: Any, t: Any, cw: Any, spec: CrossEntropySpec, upstream: float = 1.0, **kw: Any) -> Any:
    xr = x.clone().requires_grad_(True)
    (uce.cross_entropy(xr, t, spec, class_weight=cw, **kw) * upstream).backward()
    return xr.grad


@needs_triton
def test_fused_gradient_upstream_one_and_other(use, torch_case) -> None:
    x, t, cw, spec = torch_case
    use("reference")
    want1, want3 = _grad(x, t, cw, spec), _grad(x, t, cw, spec, 3.0)
    use("triton")
    torch.testing.assert_close(_grad(x, t, cw, spec), want1, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(_grad(x, t, cw, spec, 3.0), want3, rtol=1e-5, atol=1e-7)


@needs_triton
def test_retain_graph_second_backward_is_not_scaled_twice(use, torch_case) -> None:
    x, t, cw, spec = torch_case
    use("reference")
    want = _grad(x, t, cw, spec, 2.0)
    use("triton")
    xr = x.clone().requires_grad_(True)
    loss = uce.cross_entropy(xr, t, spec, class_weight=cw)
    (loss * 2.0).backward(retain_graph=True)
    first = xr.grad.clone()
    (loss * 2.0).backward()
    torch.testing.assert_close(first, want, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(xr.grad, 2 * want, rtol=1e-5, atol=1e-7)


@needs_triton
def test_logits_are_not_overwritten_and_gradient_is_a_new_buffer(use, torch_case) -> None:
    x, t, cw, spec = torch_case
    use("triton")
    xr = x.clone().requires_grad_(True)
    before = xr.detach().clone()
    uce.cross_entropy(xr, t, spec, class_weight=cw).backward()
    assert torch.equal(xr.detach(), before)
    assert xr.grad.data_ptr() != xr.data_ptr()
    _, grad = uce.value_and_grad(x, t, spec, class_weight=cw)
    assert torch.equal(x, before) and grad.data_ptr() != x.data_ptr()


@needs_triton
def test_double_backward_uses_the_differentiable_reference(use, torch_case) -> None:
    x, t, cw, spec = torch_case
    v = torch.randn(x.shape, device=DEVICE)

    def hvp() -> Any:
        xr = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(uce.cross_entropy(xr, t, spec, class_weight=cw), xr, create_graph=True)
        (h,) = torch.autograd.grad((g * v).sum(), xr)
        return h

    use("reference")
    want = hvp()
    use("triton")
    torch.testing.assert_close(hvp(), want, rtol=1e-5, atol=1e-7)


@needs_triton
def test_double_backprop_false_raises_on_second_derivative(use, torch_case) -> None:
    from unified_ce import _dispatch

    x, t, cw, spec = torch_case
    use("triton")
    xr = x.clone().requires_grad_(True)
    inp, plan = _dispatch.prepare(spec, xr, t, cw)
    assert plan.kernel is not None
    (g,) = torch.autograd.grad(plan.kernel.evaluate(inp, double_backprop=False), xr, create_graph=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(g.sum(), xr)


@needs_triton
def test_multi_block_rows(use, monkeypatch) -> None:
    """Rows longer than one block: online max / sum over column blocks, second pass for the gradient."""
    from unified_ce.kernels import _triton

    monkeypatch.setattr(_triton, "MAX_SINGLE_BLOCK", 16)
    monkeypatch.setattr(_triton, "MULTI_BLOCK", 16)
    fields = {"axis": 1, "ignore_index": 4, "label_smoothing": 0.2, "denominator": "label_weight"}
    x, t, cw, sw = _inputs((4, 37), True, True, None, "normal", fields)
    x[0, 20:] = -math.inf  # a block of -inf after finite ones, and a first block ...
    x[1, :16] = -math.inf  # ... entirely -inf before finite ones
    t[1] = 30
    llm = {"z_loss": 0.05, "logit_softcap": 2.0, "logit_scale": 1.3}  # read and transformed block by block
    for weighting, reduction, extra in [
        ("per_class", "mean", {}),
        ("per_class", "none", {}),
        ("per_item", "mean", {}),
        ("per_item", "none", {}),
        ("per_class", "mean", llm),
        ("per_class", "none", llm),
        ("per_item", "none", llm),
    ]:
        spec = CrossEntropySpec(weighting=weighting, reduction=reduction, **fields, **extra)
        g = torch.tensor(0.7, device=DEVICE) if reduction == "mean" else torch.rand(4, device=DEVICE)
        use("triton")
        assert kernels.explain(spec, x, t, cw, sw) == "triton"
        got = _run(x, t, cw, sw, spec, g)
        use("reference")
        want = _run(x, t, cw, sw, spec, g)
        for a, w in zip(got, want):
            assert_close(a, w, "float32", f"{weighting} {reduction} {extra}")


@needs_triton
def test_float_labels_and_int32_labels(use) -> None:
    x, t, _, _ = _inputs((5, 6), False, False, None, "normal", {"axis": 1})
    spec = CrossEntropySpec(axis=1, ignore_index=-1)
    use("reference")
    want = uce.cross_entropy(x, t, spec)
    use("triton")
    for labels in (t.to(torch.int32), t.to(torch.float32), t.to(torch.uint8)):
        torch.testing.assert_close(uce.cross_entropy(x, labels, spec), want)


@needs_triton
def test_invalid_labels_raise_eagerly_and_give_nan_unchecked(use) -> None:
    from unified_ce import _dispatch

    x, _, _, _ = _inputs((3, 4), False, False, None, "normal", {"axis": 1})
    spec = CrossEntropySpec(axis=1, reduction="none")
    use("triton")
    with pytest.raises(uce.LabelOutOfRangeError):
        uce.cross_entropy(x, torch.tensor([0, 4, 1], device=DEVICE), spec)
    with pytest.raises(uce.InvalidArgumentError):
        uce.cross_entropy(x, torch.tensor([0.0, 1.5, 1.0], device=DEVICE), spec)
    # unchecked (as while torch.compile traces or a CUDA graph is captured): NaN for that item only
    for labels in (torch.tensor([0, 4, 1], device=DEVICE), torch.tensor([0.0, 1.5, 1.0], device=DEVICE)):
        inp, plan = _dispatch.prepare(spec, x, labels, check_values=False)
        out = plan.kernel.evaluate(inp)
        assert torch.isnan(out[1]) and torch.isfinite(out[[0, 2]]).all()


@needs_triton
def test_grad_output_shape_is_checked(use, torch_case) -> None:
    x, t, cw, spec = torch_case
    use("triton")
    with pytest.raises(uce.InvalidArgumentError, match="grad_output must have the loss's shape"):
        uce.value_and_grad(x, t, spec, class_weight=cw, grad_output=torch.ones(3, device=DEVICE))


@needs_triton
@pytest.mark.parametrize("compute_grad", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_custom_ops_pass_opcheck(reduction: str, compute_grad: bool) -> None:
    """Schema, fake (meta) implementation, autograd registration and AOT dispatch (torch.compile)."""
    from unified_ce.kernels import _triton  # noqa: F401  (registers the ops)

    x, t, cw, _ = _inputs((4, 9), True, False, None, "normal", {"axis": 1, "ignore_index": -100})
    knobs = (1, -100, True, 0.1, False, reduction, "label_weight", "nan", 0, 1.0, 0.01, True, 2.0, 1.3)
    x.requires_grad_(True)
    torch.library.opcheck(torch.ops.unified_ce.softmax_ce.default, (x, t, cw, None, None, *knobs, True, compute_grad))
    if not compute_grad:
        stats = torch.randn(3, 4, device=DEVICE)
        g = torch.tensor(1.5, device=DEVICE) if reduction == "mean" else torch.rand(4, device=DEVICE)
        torch.library.opcheck(
            torch.ops.unified_ce.softmax_ce_backward.default, (x.detach(), t, cw, None, stats, g, *knobs)
        )
    else:
        torch.library.opcheck(torch.ops.unified_ce.scale_grad_.default, (torch.randn(4, 9, device=DEVICE), g_two()))


def g_two() -> Any:
    return torch.tensor(2.0, device=DEVICE)


# --------------------------------------------------------------------------- selection


def _spec_and_arrays(device: str = DEVICE, **fields: Any) -> tuple[CrossEntropySpec, Any, Any]:
    fields.setdefault("axis", 1)
    return CrossEntropySpec(**fields), torch.zeros(2, 3, device=device), torch.tensor([0, 2], device=device)


def test_env_values(monkeypatch) -> None:
    spec, x, t = _spec_and_arrays()
    for value, expected in (("", "auto"), ("auto", "auto"), (" Reference ", "reference"), ("triton", "triton")):
        monkeypatch.setenv("UNIFIED_CE_KERNEL", value)
        assert kernels.requested() == expected
    monkeypatch.delenv("UNIFIED_CE_KERNEL")
    assert kernels.requested() == "auto"
    monkeypatch.setenv("UNIFIED_CE_KERNEL", "fast")
    with pytest.raises(
        uce.InvalidArgumentError, match="UNIFIED_CE_KERNEL must be one of auto, reference, triton, cupy"
    ):
        uce.cross_entropy(x, t, spec)


def test_auto_and_reference_choose_the_reference_on_cpu(use) -> None:
    import numpy as np

    spec, x, t = _spec_and_arrays("cpu")
    use("auto")
    assert kernels.explain(spec, x, t) == "torch_cpu"  # eager CPU tensors: aten's row passes (test_torch_cpu.py)
    assert kernels.explain(spec, x.half(), t).startswith("reference (logits of dtype")
    assert kernels.explain(spec, np.zeros((2, 3)), np.array([0, 1])) == "numpy_cpu"  # test_numpy_cpu.py
    use("reference")
    assert kernels.explain(spec, x, t) == "reference (UNIFIED_CE_KERNEL=reference)"
    assert kernels.select(spec, np.zeros((2, 3)), np.array([0, 1])) is None


@needs_triton
@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
def test_auto_chooses_triton_for_cuda_tensors(use) -> None:
    spec, x, t = _spec_and_arrays("cuda")
    use("auto")
    assert kernels.explain(spec, x, t) == "triton"
    assert kernels.explain(spec.replace(target="probs"), x, x).startswith("reference (probability targets")


@needs_triton
def test_forcing_an_unavailable_kernel_raises(use, monkeypatch) -> None:
    import numpy as np

    spec, x, t = _spec_and_arrays("cpu")
    use("triton")
    with pytest.raises(KernelUnavailableError, match="the logits are a numpy array, not a torch tensor"):
        uce.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), spec)
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(KernelUnavailableError, match="Triton needs a CUDA device"):
        uce.cross_entropy(x, t, spec)
    use("cupy")
    with pytest.raises(KernelUnavailableError, match=r"UNIFIED_CE_KERNEL=cupy .* not a CuPy array"):
        uce.cross_entropy(x, t, spec)


def test_forcing_triton_without_triton_installed_raises(use, monkeypatch) -> None:
    spec, x, t = _spec_and_arrays("cpu")
    monkeypatch.setattr(kernels, "_triton_installed", lambda: False)
    use("triton")
    with pytest.raises(KernelUnavailableError, match="Triton is not installed"):
        kernels.select(spec, x, t)


@needs_triton
@pytest.mark.parametrize(
    ("fields", "arrays", "reason"),
    [
        ({"target": "probs"}, "probs", "probability targets"),
        ({"activation": "sigmoid"}, "sigmoid", "sigmoid cross-entropy"),
        ({"inputs": "log_probs"}, "", "log-probability or probability inputs"),
        ({"reduction": "sample_mean"}, "", "reduction='sample_mean'"),
        ({}, "float64", "logits of dtype float64"),
        ({}, "empty", "empty logits"),
        ({}, "weight_requires_grad", "a gradient with respect to class_weight is asked for"),
    ],
)
def test_unsupported_specs_fall_back_to_the_reference(use, fields, arrays, reason) -> None:
    spec, x, t = _spec_and_arrays(**fields)
    cw = None
    if arrays in ("probs", "sigmoid"):
        t = torch.full((2, 3), 1.0 / 3, device=DEVICE) if arrays == "probs" else torch.ones(2, 3, device=DEVICE)
    if arrays == "float64":
        x = x.double()
    if arrays == "empty":
        x, t = torch.zeros(0, 3, device=DEVICE), torch.zeros(0, dtype=torch.int64, device=DEVICE)
    if arrays == "weight_requires_grad":
        cw = torch.ones(3, device=DEVICE, requires_grad=True)
    use("triton")
    explained = kernels.explain(spec, x, t, cw)
    assert explained.startswith(f"reference ({reason}"), explained
    assert kernels.select(spec, x, t, cw) is None
    use("reference")
    want = uce.cross_entropy(x, t, spec, class_weight=cw)
    use("triton")
    torch.testing.assert_close(uce.cross_entropy(x, t, spec, class_weight=cw), want, equal_nan=True)


@needs_triton
def test_a_spec_field_unknown_to_the_kernels_falls_back(use) -> None:
    """A spec field added after the kernels were written (here Paddle's min_shifted_logit) is not covered."""
    spec, x, t = _spec_and_arrays()
    if not hasattr(spec, "min_shifted_logit"):
        pytest.skip("the spec has no min_shifted_logit field")
    assert not spec_field("min_shifted_logit").kernels.kernels  # the spec-field table: no kernel covers it
    use("triton")
    assert kernels.explain(spec.replace(min_shifted_logit=-8.0), x, t).startswith("reference (min_shifted_logit=-8.0")


def test_importing_the_package_imports_no_framework() -> None:
    code = (
        "import sys, unified_ce, unified_ce.kernels\n"
        "bad = [m for m in ('torch', 'triton', 'cupy', 'jax') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --------------------------------------------------------------------------- CuPy


def test_cupy_kernel_source_under_cpu_emulation() -> None:
    """The CUDA source and host code of the CuPy kernel, compiled as C++ with OpenMP threads as a block."""
    if shutil.which("g++") is None:
        pytest.skip("needs g++ with OpenMP")
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "check_cupy_kernel.py"), "--quick"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")},
    )  # fmt: skip
    if proc.returncode and "fopenmp" in proc.stderr:
        pytest.skip("g++ without OpenMP")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def _cupy_or_skip() -> Any:
    cupy = pytest.importorskip("cupy")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device for CuPy")
    except Exception as exc:  # CUDA driver missing
        pytest.skip(f"no CUDA device for CuPy ({exc})")
    return cupy


@pytest.mark.gpu
@pytest.mark.parametrize(("shape", "cw", "sw", "labels", "dtypes", "logits", "fields"), CASES)
def test_cupy_matches_reference_and_float64(use, shape, cw, sw, labels, dtypes, logits, fields) -> None:
    cupy = _cupy_or_skip()
    spec = CrossEntropySpec(**fields)
    x32, t, cwt, swt = (None if a is None else a.cpu().numpy() for a in _inputs(shape, cw, sw, labels, logits, fields))
    for dtype in [d for d in dtypes if d != "bfloat16"]:
        x = cupy.asarray(x32.astype(dtype))
        args = [cupy.asarray(t), None if cwt is None else cupy.asarray(cwt), None if swt is None else cupy.asarray(swt)]
        use("cupy")
        assert kernels.explain(spec, x, args[0], args[1], args[2]) == "cupy"
        out, grad = uce.value_and_grad(x, args[0], spec, class_weight=args[1], sample_weight=args[2])
        loss = uce.cross_entropy(x, args[0], spec, class_weight=args[1], sample_weight=args[2])
        use("reference")
        rout, rgrad = uce.value_and_grad(x, args[0], spec, class_weight=args[1], sample_weight=args[2])
        x64 = torch.tensor(x.get().astype(np.float64), requires_grad=True)
        out64 = loss64(x64, torch.tensor(t), spec, None if cwt is None else torch.tensor(cwt),
                       None if swt is None else torch.tensor(swt))  # fmt: skip
        out64.sum().backward()
        for name, a, w, e in (
            ("loss", out, rout, out64),
            ("loss", loss, rout, out64),
            ("gradient", grad, rgrad, x64.grad),
        ):
            assert a.dtype == w.dtype
            assert_close(torch.tensor(cupy.asnumpy(a).astype(np.float64)), torch.tensor(cupy.asnumpy(w)), dtype, name)
            assert_close(torch.tensor(cupy.asnumpy(a).astype(np.float64)), e, dtype, name)
