"""Property tests (hypothesis): identities every correct cross-entropy satisfies.

* index targets == one-hot probability targets;
* a moved class axis == ``moveaxis`` of the inputs;
* several class axes (``class_axes``) == the axes moved last in the order listed and flattened;
* a class mask (``mask_classes``) == the masked classes sliced out of each item; an item with every
  class masked gives 0 and gradient 0;
* ``broadcast_target`` == the target broadcast beforehand;
* ignored items == the same items sliced out;
* ``jax.jit`` == eager;
* ``value_and_grad`` == the library's autodiff (torch, jax);
* for any spec drawn from the spec-field table (every field's example values), ``value_and_grad``'s
  gradient == central finite differences of the loss;
* the torch dialect == ``torch.nn.functional.cross_entropy``, values and gradients in float64, on
  random shapes, weights, ignore values, smoothing and reductions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import unified_ce as uce
from tests.conftest import Backend, make_backend
from unified_ce import CrossEntropySpec
from unified_ce._fields import FIELDS

settings.register_profile("unified_ce", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("unified_ce")


@st.composite
def problems(draw: Any, probs: bool | None = None) -> dict[str, Any]:
    """Random logits (rank 1-4), class axis, targets, weights and spec options."""
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    axis = draw(st.integers(-ndim, ndim - 1))
    C = shape[axis]
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * draw(st.sampled_from([0.1, 3.0, 30.0]))
    ishape = shape[: axis % ndim] + shape[axis % ndim + 1 :]
    ignore = draw(st.sampled_from([None, -100, 0, C - 1]))
    t = rng.integers(0, C, size=ishape)
    if ignore is not None:
        t = np.where(rng.random(ishape) < 0.3, ignore, t)
    return {
        "x": x,
        "t": t,
        "axis": axis,
        "C": C,
        "ignore": ignore,
        "cw": rng.random(C) + 0.1 if draw(st.booleans()) else None,
        "smoothing": draw(st.sampled_from([0.0, 0.0, 0.1, 0.7])),
        "reduction": draw(st.sampled_from(["none", "sum", "mean"])),
        "weighting": draw(st.sampled_from(["per_class", "per_item"])),
        "rng": rng,
    }


def _close(a: Any, b: Any, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol, atol=atol)


def _onehot(t: np.ndarray, C: int, axis: int) -> np.ndarray:
    oh = (t[..., None] == np.arange(C)).astype(np.float64)
    return np.moveaxis(oh, -1, axis)


@given(problems())
def test_index_equals_onehot_probs(p: dict[str, Any]) -> None:
    """Unsmoothed or smoothed, per-class or per-item: an index target is its one-hot distribution."""
    spec = CrossEntropySpec(
        axis=p["axis"],
        label_smoothing=p["smoothing"],
        weighting=p["weighting"],
        reduction="sum" if p["reduction"] == "mean" else p["reduction"],
    )
    a = uce.cross_entropy(p["x"], p["t"] % p["C"], spec, class_weight=p["cw"])
    b = uce.cross_entropy(
        p["x"], _onehot(p["t"] % p["C"], p["C"], p["axis"]), spec.replace(target="probs"), class_weight=p["cw"]
    )
    _close(a, b)
    _, ga = uce.value_and_grad(p["x"], p["t"] % p["C"], spec, class_weight=p["cw"])
    _, gb = uce.value_and_grad(
        p["x"], _onehot(p["t"] % p["C"], p["C"], p["axis"]), spec.replace(target="probs"), class_weight=p["cw"]
    )
    _close(ga, gb)


@given(problems(), st.integers(0, 3))
def test_class_axis_is_moveaxis(p: dict[str, Any], dest: int) -> None:
    """Computing over class axis ``a`` == moving that axis to ``dest`` and computing there."""
    x, ndim = p["x"], p["x"].ndim
    dest = dest % ndim
    spec = CrossEntropySpec(
        axis=p["axis"],
        ignore_index=p["ignore"],
        label_smoothing=p["smoothing"],
        reduction=p["reduction"],
        denominator="label_weight",
    )
    a = uce.cross_entropy(x, p["t"], spec, class_weight=p["cw"])
    b = uce.cross_entropy(np.moveaxis(x, p["axis"], dest), p["t"], spec.replace(axis=dest), class_weight=p["cw"])
    _close(a, b)
    _, ga = uce.value_and_grad(x, p["t"], spec, class_weight=p["cw"])
    _, gb = uce.value_and_grad(np.moveaxis(x, p["axis"], dest), p["t"], spec.replace(axis=dest), class_weight=p["cw"])
    _close(np.moveaxis(ga, p["axis"], dest), gb)


@given(problems())
def test_ignored_items_equal_items_sliced_out(p: dict[str, Any]) -> None:
    """Sum and means over non-ignored items don't see the ignored ones (rank-2 view: items × classes)."""
    x = np.moveaxis(p["x"], p["axis"], -1).reshape(-1, p["C"])
    t = p["t"].reshape(-1)
    ignore = -100 if p["ignore"] is None else p["ignore"]
    t = np.where(p["rng"].random(t.shape) < 0.3, ignore, t)
    keep = t != ignore
    for denominator in ("valid", "label_weight", "item_weight"):
        spec = CrossEntropySpec(
            ignore_index=ignore,
            label_smoothing=p["smoothing"],
            weighting=p["weighting"],
            reduction="sum" if p["reduction"] == "none" else p["reduction"],
            denominator=denominator,
        )
        a = uce.cross_entropy(x, t, spec, class_weight=p["cw"])
        b = uce.cross_entropy(x[keep], t[keep], spec.replace(ignore_index=None), class_weight=p["cw"])
        _close(a, b)
        _, ga = uce.value_and_grad(x, t, spec, class_weight=p["cw"])
        _, gb = uce.value_and_grad(x[keep], t[keep], spec.replace(ignore_index=None), class_weight=p["cw"])
        _close(ga[keep], gb)
        assert np.all(ga[~keep] == 0)


@pytest.mark.parametrize("name", ["jax", "torch"])
@given(p=problems())
def test_value_and_grad_equals_autodiff(name: str, p: dict[str, Any]) -> None:
    be = make_backend(Backend(name))
    spec = CrossEntropySpec(
        axis=p["axis"],
        ignore_index=p["ignore"],
        label_smoothing=p["smoothing"],
        reduction=p["reduction"],
        weighting=p["weighting"],
        denominator="label_weight",
    )
    x, t = be.asarray(p["x"]), be.asarray(p["t"])
    cw = None if p["cw"] is None else be.asarray(p["cw"])
    out = uce.cross_entropy(x, t, spec, class_weight=cw)
    go = be.asarray(p["rng"].normal(size=tuple(out.shape)))
    v1, g1 = uce.value_and_grad(x, t, spec, class_weight=cw, grad_output=go)
    v2, g2 = be.grad(lambda x: uce.cross_entropy(x, t, spec, class_weight=cw), x, go)
    _close(be.to_numpy(v1), be.to_numpy(v2))
    _close(be.to_numpy(g1), be.to_numpy(g2))


@given(problems())
def test_jit_equals_eager(p: dict[str, Any]) -> None:
    be = make_backend(Backend.JAX)
    import jax

    spec = CrossEntropySpec(
        axis=p["axis"],
        ignore_index=p["ignore"],
        label_smoothing=p["smoothing"],
        reduction=p["reduction"],
        weighting=p["weighting"],
        denominator="item_weight",
    )
    x, t = be.asarray(p["x"]), be.asarray(p["t"])
    cw = None if p["cw"] is None else be.asarray(p["cw"])

    def f(x: Any, t: Any) -> Any:
        return uce.cross_entropy(x, t, spec, class_weight=cw)

    _close(jax.jit(f)(x, t), f(x, t))
    _close(jax.jit(jax.grad(lambda x, t: f(x, t).sum()))(x, t), jax.grad(lambda x, t: f(x, t).sum())(x, t))


@st.composite
def torch_problems(draw: Any) -> dict[str, Any]:
    """Inputs in PyTorch's layout: (C,), (N, C) or (N, C, d1, ...); indices or probabilities."""
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(0 if ndim > 1 else 1, 4), min_size=ndim, max_size=ndim)))
    if ndim > 1:
        shape = (shape[0], max(shape[1], 1), *shape[2:])
    C = shape[1] if ndim > 1 else shape[0]
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    x = rng.normal(size=shape) * 3
    kw: dict[str, Any] = {"reduction": draw(st.sampled_from(["none", "sum", "mean"]))}
    if draw(st.booleans()):
        kw["weight"] = rng.random(C) + 0.1
    if draw(st.booleans()):
        kw["label_smoothing"] = draw(st.floats(0.0, 1.0))
    if draw(st.booleans()):
        t = rng.random(shape)
    else:
        tshape = (shape[0], *shape[2:]) if ndim > 1 else ()
        t = rng.integers(0, C, size=tshape)
        ignore = draw(st.sampled_from([-100, -1, 0]))
        kw["ignore_index"] = ignore
        t = np.where(rng.random(tshape) < 0.3, ignore, t)
    return {"x": x, "t": t, "kw": kw, "rng": rng}


@given(torch_problems())
def test_torch_dialect_equals_torch(p: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    from unified_ce.adapters.torch import CrossEntropyLoss, cross_entropy

    kw_t = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in p["kw"].items()}
    x = torch.from_numpy(p["x"]).requires_grad_(True)
    t = torch.from_numpy(p["t"])
    ref = F.cross_entropy(x, t, **kw_t)
    go = torch.from_numpy(p["rng"].normal(size=tuple(ref.shape)))
    (g_ref,) = torch.autograd.grad(ref, x, go)
    for fn in (cross_entropy, CrossEntropyLoss(**{k: v for k, v in kw_t.items()})):
        x2 = torch.from_numpy(p["x"]).requires_grad_(True)
        out = fn(x2, t) if fn is not cross_entropy else fn(x2, t, **kw_t)
        assert out.shape == ref.shape and out.dtype == ref.dtype
        (g,) = torch.autograd.grad(out, x2, go)
        _close(out.detach(), ref.detach())
        _close(g, g_ref, rtol=1e-9)
    # NumPy: the analytic gradient equals torch's
    value, grad = cross_entropy.value_and_grad(p["x"], p["t"], grad_output=go.numpy(), **p["kw"])
    _close(value, ref.detach())
    _close(grad, g_ref, rtol=1e-9)


@st.composite
def table_specs(draw: Any) -> CrossEntropySpec:
    """A spec with every field drawn from its row's examples in the spec-field table (unified_ce._fields)."""
    fields = {f.name: draw(st.sampled_from(f.examples)) for f in FIELDS}
    if fields["weighting"] == "per_label" and fields["target"] != "index":
        fields["weighting"] = "per_class"
    # float32 arithmetic cannot match float64 finite differences (tests/test_transformers.py covers it)
    fields["compute_dtype"] = "auto"
    if fields["activation"] != "softmax" or fields["inputs"] != "logits":  # the LLM fields: softmax of logits
        fields.update(z_loss=0.0, logit_softcap=None, logit_scale=1.0)
    if fields["activation"] != "softmax" or fields["keepdims"] or fields["reduction"] in ("sample_mean", "axis_mean"):
        fields.update(class_axes=None, mask_classes=False)  # several class axes / a class mask: softmax only
    if fields["inputs"] != "logits" or fields["label_smoothing"]:
        fields["mask_classes"] = False
    return CrossEntropySpec(**fields)


def _table_arrays(spec: CrossEntropySpec, rng: np.random.Generator) -> tuple[Any, Any, Any]:
    x = rng.normal(size=(3, 4)) * 2
    ax = spec.axis % 2 if spec.class_axes is None else 1  # class_axes (1,) or (0, 1): the classes end at axis 1
    C = x.shape[ax] if spec.activation == "softmax" else 2
    if spec.class_axes == (0, 1):  # every element is a class: one item
        t = rng.dirichlet(np.ones(12)).reshape(3, 4) if spec.target == "probs" else np.asarray(rng.integers(0, 12))
    elif spec.target == "probs":
        n = x.shape[1 - ax]
        t = rng.random(x.shape) if spec.activation == "sigmoid" else np.moveaxis(rng.dirichlet(np.ones(C), n), -1, ax)
        if spec.broadcast_target and spec.activation == "softmax" and ax == 1:  # one distribution for every item
            t = t[:1]
    else:
        t = rng.integers(0, C, size=x.shape if spec.activation == "sigmoid" else x.shape[1 - ax])
        if spec.ignore_index is not None:
            t = np.where(rng.random(t.shape) < 0.3, spec.ignore_index, t)
    if spec.inputs == "probs":  # probabilities inside the clip, away from 0 and 1 (finite differences)
        x = rng.uniform(0.05, 0.95, size=x.shape)
        if spec.activation == "softmax" and spec.probs_normalize == "none":
            x = x / np.sum(x, axis=ax, keepdims=True)
    cw = None
    if rng.random() < 0.5:  # sigmoid: pos_weight, one per class of the last axis
        cw = rng.random(C if spec.activation == "softmax" else x.shape[-1]) * 3 + 0.1
    return x, t, cw


@given(table_specs(), st.integers(0, 2**31 - 1))
def test_gradient_of_any_table_spec_is_the_derivative_of_its_loss(spec: CrossEntropySpec, seed: int) -> None:
    """value_and_grad's analytic gradient == central finite differences of sum(loss * g) (float64)."""
    from hypothesis import assume

    rng = np.random.default_rng(seed)
    x, t, cw = _table_arrays(spec, rng)
    if spec.mask_classes:  # some classes masked (an item may lose them all)
        cw = dict(class_weight=cw, class_mask=rng.random(x.shape) < 0.7)
    else:
        cw = dict(class_weight=cw)
    if spec.class_axes == (0, 1) and isinstance(cw.get("class_weight"), np.ndarray):
        cw["class_weight"] = rng.random(12) * 3 + 0.1
    if spec.min_shifted_logit is not None:  # the clip bites: the spec keeps the unclipped gradient (Paddle)
        ax = spec.axis % 2 if spec.class_axes is None else (1 if spec.class_axes == (1,) else None)
        assume(float((x.max(axis=ax, keepdims=True) - x).max()) < -spec.min_shifted_logit - 1e-3)
    out = np.asarray(uce.cross_entropy(x, t, spec, **cw))
    assume(bool(np.all(np.isfinite(out))))
    g = rng.normal(size=out.shape)
    _, grad = uce.value_and_grad(x, t, spec, grad_output=g, **cw)
    num = np.zeros_like(x)
    h = 1e-6
    for i in np.ndindex(x.shape):
        xp_, xm = x.copy(), x.copy()
        xp_[i] += h
        xm[i] -= h
        fp = np.sum(np.asarray(uce.cross_entropy(xp_, t, spec, **cw)) * g)
        fm = np.sum(np.asarray(uce.cross_entropy(xm, t, spec, **cw)) * g)
        num[i] = (fp - fm) / (2 * h)
    np.testing.assert_allclose(np.asarray(grad), num, rtol=1e-5, atol=1e-6)


@st.composite
def class_axes_problems(draw: Any) -> dict[str, Any]:
    """Logits of rank 2-4 with a tuple of class axes (any order, negative or not)."""
    ndim = draw(st.integers(2, 4))
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    axes = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    return {
        "x": rng.normal(size=shape) * 2,
        "axes": axes,
        "probs": draw(st.booleans()),
        "reduction": draw(st.sampled_from(["none", "sum", "mean"])),
        "rng": rng,
    }


@given(class_axes_problems())
def test_class_axes_are_the_axes_moved_last_and_flattened(p: dict[str, Any]) -> None:
    """``class_axes=(a, b)`` == moving axes a, b last (in that order) and flattening them; the gradient is
    the flattened one moved back."""
    x, axes, rng = p["x"], p["axes"], p["rng"]
    nd = x.ndim
    cls = tuple(a % nd for a in axes)
    rest = tuple(i for i in range(nd) if i not in cls)
    flat_shape = (*(x.shape[i] for i in rest), int(np.prod([x.shape[i] for i in cls])))
    xf = np.transpose(x, rest + cls).reshape(flat_shape)
    C = flat_shape[-1]
    if p["probs"]:
        tf = rng.dirichlet(np.ones(C), flat_shape[:-1]) if flat_shape[:-1] else rng.dirichlet(np.ones(C))
        moved = tf.reshape(tuple(x.shape[i] for i in rest + cls))
        t = np.transpose(moved, tuple(np.argsort(rest + cls)))
    else:
        t = tf = rng.integers(0, C, size=flat_shape[:-1])
    spec = CrossEntropySpec(target="probs" if p["probs"] else "index", reduction=p["reduction"])
    a, ga = uce.value_and_grad(x, t, spec, class_axes=axes)
    b, gb = uce.value_and_grad(xf, tf, spec)
    _close(a, b)
    moved_back = np.transpose(gb.reshape(tuple(x.shape[i] for i in rest + cls)), tuple(np.argsort(rest + cls)))
    _close(ga, moved_back)


@given(problems(), st.booleans())
def test_class_mask_equals_the_classes_sliced_out(p: dict[str, Any], probs: bool) -> None:
    """A class mask == each item's kept classes sliced out (loss and gradient; masked classes get 0);
    an index target's own logit enters even when masked (optax); an item with no class kept gives 0."""
    x = np.moveaxis(p["x"], p["axis"], -1).reshape(-1, p["C"])
    rng = p["rng"]
    n, C = x.shape
    mask = rng.random(x.shape) < 0.6
    if n > 1:
        mask[-1] = False  # an item with every class masked
    x = np.where(mask, x, rng.choice([np.nan, np.inf, -np.inf, 5.0], size=x.shape))  # masked logits: anything
    t = rng.dirichlet(np.ones(C), n) if probs else rng.integers(0, C, n)
    if not probs:
        mask[np.arange(n), t] |= rng.random(n) < 0.5  # some labels kept, others masked
        mask[-1] = False if n > 1 else mask[-1]
        x = np.where(mask | (np.arange(C) == t[:, None]), np.where(np.isfinite(x), x, 1.5), x)
    spec = CrossEntropySpec(target="probs" if probs else "index", reduction="none", mask_classes=True)
    loss, grad = uce.value_and_grad(x, t, spec, class_mask=mask)
    for i in range(n):
        keep = mask[i]
        if not keep.any():
            assert loss[i] == 0 and np.all(grad[i] == 0)
            continue
        xs = x[i, keep]
        lse = np.log(np.sum(np.exp(xs - xs.max()))) + xs.max()
        if probs:
            want, g = -np.sum(t[i, keep] * (xs - lse)), np.sum(t[i, keep]) * np.exp(xs - lse) - t[i, keep]
            gi = np.zeros(C)
            gi[keep] = g
        else:
            want = lse - x[i, t[i]]
            gi = np.zeros(C)
            gi[keep] = np.exp(xs - lse)
            gi[t[i]] -= 1.0
        _close(loss[i], want)
        _close(grad[i], gi)


@given(problems())
def test_broadcast_target_equals_the_target_broadcast_beforehand(p: dict[str, Any]) -> None:
    x = np.moveaxis(p["x"], p["axis"], -1)
    one = p["rng"].dirichlet(np.ones(p["C"]))  # one distribution for every item
    spec = CrossEntropySpec(target="probs", reduction=p["reduction"])
    a, ga = uce.value_and_grad(x, one, spec, broadcast_target=True)
    b, gb = uce.value_and_grad(x, np.broadcast_to(one, x.shape), spec)
    _close(a, b)
    _close(ga, gb)
