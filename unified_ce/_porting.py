"""Porting aid: what a dialect call means (:func:`explain`) and its equivalent in another dialect (:func:`port`).

Both work from the canonical spec, not from tables per pair of dialects: a call is translated by
the dialect itself (on small placeholder NumPy arrays) into a :class:`CrossEntropySpec`; porting
searches the target dialect's argument space for a call with the same spec (on inputs of the
given rank), and where none exists, takes the closest one and derives the correction from the
fields that differ.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._spec import CrossEntropySpec

__all__ = ["PortResult", "explain", "port", "translate_call"]

#: The API a port writes, per dialect (softmax; chainer's sigmoid too).
PORT_API = {
    "torch": ("cross_entropy",),
    "chainer": ("softmax_cross_entropy", "sigmoid_cross_entropy"),
    "mxnet": ("SoftmaxCrossEntropyLoss",),
    "paddle": ("softmax_with_cross_entropy",),
    "brainpy": ("CrossEntropyLoss",),
}

_WEIGHT_NAMES = ("class_weight", "weight")
_SAMPLE_WEIGHT_NAMES = ("sample_weight",)
_STRINGS = ("mean", "sum", "none", "no", "cross-entropy", "kl-divergence")


@dataclass(frozen=True)
class Translated:
    """A dialect call on placeholder arrays: its spec and which weights it carries."""

    spec: CrossEntropySpec
    class_weight: bool
    sample_weight: bool


def _parse_value(v: Any) -> Any:
    if not isinstance(v, str):
        return v
    try:
        return ast.literal_eval(v)
    except (ValueError, SyntaxError):
        return v  # a name standing for an array, e.g. class_weight=w


def _split_api(name: str) -> tuple[str, str]:
    dialect, _, api = name.partition(".")
    if dialect not in PORT_API:
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {', '.join(PORT_API)}")
    return dialect, api or PORT_API[dialect][0]


def _placeholder_arrays(ndim: int, target: str, activation: str) -> tuple[np.ndarray, list[np.ndarray], int]:
    """Logits ``(N, C, d...)`` with C = 3 on axis 1 (for rank 2, axis 1 == axis -1, so every dialect's
    default agrees), and the target layouts a dialect may want (class axis dropped, or kept with size 1)."""
    shape = (2, 3, *([2] * (ndim - 2))) if ndim >= 2 else (3,)
    x = np.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape)
    if activation == "sigmoid" or target == "probs":
        t = np.full(shape, 1.0 / 3.0) if target == "probs" else np.zeros(shape, dtype=np.int32)
        return x, [t], shape[1] if ndim >= 2 else shape[0]
    if ndim < 2:
        return x, [np.zeros((), dtype=np.int64), np.zeros((1,), dtype=np.int64)], shape[0]
    dropped = shape[:1] + shape[2:]
    layouts = [
        np.zeros(dropped, dtype=np.int64),
        np.zeros((*shape[:1], 1, *shape[2:]), dtype=np.int64),
        np.zeros((*dropped, 1), dtype=np.int64),
    ]
    return x, layouts, shape[1]


def translate_call(name: str, kwargs: dict[str, Any], *, target: str = "index", ndim: int = 2) -> Translated:
    """Translate ``dialect.api(**kwargs)`` on placeholder inputs of rank ``ndim``.

    Array-valued arguments may be given as names (``class_weight="w"``): a placeholder of the
    right length stands in for them.
    """
    import warnings

    dialect, api = _split_api(name)
    module = importlib.import_module(f"unified_ce.adapters.{dialect}")
    obj = getattr(module, api)
    activation = "sigmoid" if api.startswith("sigmoid") else "softmax"
    x, layouts, C = _placeholder_arrays(ndim, target, activation)
    kw = {k: _parse_value(v) for k, v in kwargs.items()}
    for k, v in list(kw.items()):
        if isinstance(v, str) and k in _WEIGHT_NAMES:
            kw[k] = np.linspace(1.0, 2.0, C)
        elif isinstance(v, str) and k in _SAMPLE_WEIGHT_NAMES:
            kw[k] = np.ones((x.shape[0],) + (1,) * (x.ndim - 1))
    error: Exception | None = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in layouts:
            try:
                if inspect.isclass(obj):
                    init_params = set(inspect.signature(obj.__init__).parameters) - {"self", "kwargs"}
                    inst = obj(**{k: v for k, v in kw.items() if k in init_params})
                    call = getattr(inst, "_translate")(x, t, **{k: v for k, v in kw.items() if k not in init_params})  # noqa: B009
                else:
                    call = obj.translate(x, t, **kw)
                return Translated(call.spec, call.class_weight is not None, call.sample_weight is not None)
            except (ValueError, IndexError) as exc:  # a target layout this dialect does not take: try the next
                error = error or exc
    assert error is not None
    raise error


def explain(name: str, /, *, target: str = "index", ndim: int = 2, **kwargs: Any) -> str:
    """What a dialect call computes, in plain words.

    Parameters
    ----------
    name : str
        ``"<dialect>.<api>"``, e.g. ``"chainer.softmax_cross_entropy"`` (the api defaults to the
        dialect's main one).
    target : {"index", "probs"}
        The kind of target the call receives.
    ndim : int
        The rank of the logits.
    **kwargs
        The call's arguments; arrays may be given as names (``class_weight="w"``).

    Examples
    --------
    >>> from unified_ce import explain
    >>> print(explain("chainer.softmax_cross_entropy", normalize=False))  # doctest: +NORMALIZE_WHITESPACE
    chainer.softmax_cross_entropy(normalize=False): softmax cross-entropy over axis 1 of the logits;
    targets: integer class labels; items labelled -1 are ignored;
    reduction: the sum divided by the size of axis 0 (the batch) (0 when that is 0).
    """
    tr = translate_call(name, kwargs, target=target, ndim=ndim)
    call = f"{'.'.join(_split_api(name))}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
    text = f"{call}: {tr.spec.describe(class_weight=tr.class_weight)}"
    if tr.sample_weight:
        text = text[:-1] + "; per-sample weights multiply each item's loss."
    return text


# ----------------------------------------------------------------------------------------- port


def _relevant(tr: Translated, ndim: int) -> dict[str, Any]:
    """The fields of a translated spec that change the numbers on inputs of rank ``ndim``."""
    s = tr.spec
    out: dict[str, Any] = {
        "activation": s.activation,
        "target": s.target,
        "class_weight": tr.class_weight,
        "sample_weight": tr.sample_weight,
        "label_smoothing": s.label_smoothing,
        "scale": s.scale,
    }
    if s.activation == "softmax":
        out["axis"] = s.axis % ndim
        out["inputs"] = s.inputs
    # labels must lie in [0, C): a negative ignore value only matters where the target holds it
    out["ignore_index"] = s.ignore_index if s.uses_ignore else None
    out["ignore_index_used"] = out["ignore_index"]
    if s.activation == "softmax" and s.min_shifted_logit is not None:
        out["min_shifted_logit"] = s.min_shifted_logit
    if s.target == "probs":
        out["soft_loss"] = s.soft_loss
        if s.soft_loss == "kl":
            out["kl_eps"] = s.kl_eps
    if tr.class_weight or s.target == "probs" or s.label_smoothing:
        weighting = s.weighting
        if s.target == "index" and (not tr.class_weight or not s.label_smoothing):
            weighting = "per_class"  # identical for one-hot targets, or without class weights
        out["weighting"] = weighting
    out["reduction"] = s.reduction
    if (
        s.reduction == "sample_mean"
        and s.activation == "softmax"
        and ndim == 2
        and s.batch_axis % ndim != s.axis % ndim
    ):
        out["reduction"] = "none"  # one item per batch index: the per-sample means are the item losses
    if out["reduction"] == "none":
        out["keepdims"] = s.keepdims or s.activation == "sigmoid"
    if out["reduction"] == "sample_mean":
        out["batch_axis"] = s.batch_axis % ndim
    if s.reduction == "mean":
        d = s.denominator
        if d in ("label_weight", "item_weight") and not tr.class_weight:
            d = "valid"
        if d == "label_weight" and s.target == "probs":
            d = "item_weight"
        if d == "item_weight" and s.target == "index" and not s.label_smoothing:
            d = "label_weight"  # sum_c w_c q_c = w[label] for one-hot targets
        if d == "valid" and not s.uses_ignore:
            d = "items"
        if d == "batch" and ndim == 2 and s.batch_axis % ndim == 0 and s.activation == "softmax":
            d = "items"
        out["denominator"] = d
        out["zero_denominator"] = s.zero_denominator
    return out


#: How much a differing field weighs when choosing the closest call (lower is easier to correct).
_COST = {
    "reduction": 1,
    "denominator": 1,
    "zero_denominator": 1,
    "keepdims": 1,
    "batch_axis": 1,
    "scale": 1,
    "axis": 2,
    "inputs": 2,
    "label_smoothing": 4,
    "ignore_index": 4,
    "weighting": 4,
    "kl_eps": 2,
    "soft_loss": 4,
    "class_weight": 5,
    "sample_weight": 5,
    "target": 8,
    "activation": 20,
}


_DENOMINATOR_WORDS = {
    "items": "the number of items",
    "valid": "the number of non-ignored items",
    "label_weight": "the sum of w[label] over non-ignored items",
    "item_weight": "the sum of the per-item weights sum_c w_c q_c over non-ignored items",
    "batch": "the batch size",
}


def _correction(key: str, want: dict[str, Any], got: dict[str, Any]) -> str:
    """One line that turns the closest call's result into the source's, or says what cannot be matched."""
    w, g = want.get(key), got.get(key)
    if key == "zero_denominator" and want.get("denominator") == got.get("denominator"):
        return (
            "gives 0 instead of nan" if w == "nan" else "gives nan instead of 0"
        ) + " when there is nothing to average (every label ignored, or no items)"
    if key in ("reduction", "denominator", "zero_denominator"):
        if got["reduction"] == "sample_mean" and want["reduction"] in ("mean", "sum"):
            per = "the output (one mean per batch index) times the number of items per batch index (1 for rank 2)"
            if want["reduction"] == "sum":
                return f"sum {per}"
            return f"sum {per} and divide by {_DENOMINATOR_WORDS[want['denominator']]}"
        if want["reduction"] == "mean":
            den = _DENOMINATOR_WORDS[want["denominator"]]
            zero = " (0 when it is 0)" if want["zero_denominator"] == "zero" else " (nan when it is 0)"
            if got["reduction"] == "sum":
                return f"divide the sum by {den}{zero}"
            if got["reduction"] == "mean":
                return f"multiply by {_DENOMINATOR_WORDS[got['denominator']]} and divide by {den}{zero}"
            return f"sum the per-item losses and divide by {den}{zero}"
        if want["reduction"] == "sum":
            if got["reduction"] == "mean":
                return f"multiply the mean by {_DENOMINATOR_WORDS[got['denominator']]}"
            return "sum the per-item losses"
        if want["reduction"] == "none":
            return (
                "the target dialect cannot return per-item losses here: compute them with reduction='none' "
                "elsewhere, or use unified_ce.cross_entropy(..., reduction='none')"
            )
        return f"take the mean of the per-item losses over every axis except axis {want.get('batch_axis', 0)}"
    if key == "keepdims":
        return "add the class axis back with size 1 (expand_dims)" if w else "squeeze the size-1 class axis"
    if key == "scale":
        return f"multiply the result by {float(w) / float(g):g}"  # type: ignore[arg-type]
    if key == "axis":
        return f"move the class axis to position {g} first (moveaxis(x, {w}, {g}))"
    if key == "inputs":
        if w == "log_probs":
            return "pass log-probabilities: log_softmax leaves them unchanged, so they work as logits"
        return "apply log_softmax to the logits first"
    if key == "label_smoothing":
        return f"cannot be matched: label smoothing {w} (give smoothed probability targets (1-eps)*onehot + eps/C)"
    if key == "ignore_index":
        if w is None:
            return f"labels equal to {g} would be ignored there (valid labels never are)"
        return f"cannot be matched: ignore label {w} (only matters where t == {w}: drop those items first)"
    if key == "min_shifted_logit":
        m: Any = w if w is not None else g
        return f"differs only where a logit is more than {-m:g} below its row's maximum (Paddle's CPU clip)"
    if key == "class_weight":
        return "cannot be matched: class weights" if w else "leave out the class weights"
    if key == "sample_weight":
        return (
            "cannot be matched: per-sample weights (multiply the per-item losses yourself)"
            if w
            else "leave out the per-sample weights"
        )
    if key == "kl_eps":
        return f"the KL term uses log(q + {w}) instead of log(q + {g})"
    if key == "soft_loss":
        return "subtract the target entropy sum_c q_c log q_c" if w == "kl" else "add the target entropy"
    return f"cannot be matched: {key}={w!r} (closest has {g!r})"


@dataclass
class PortResult:
    """The call in the target dialect and what it does not match."""

    source: str
    call: str
    exact: bool
    corrections: list[str] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    api: str = ""

    def __str__(self) -> str:
        lines = [self.call]
        if self.exact:
            lines.append("# exact equivalent")
        else:
            lines += [f"# {c}" for c in self.corrections]
        return "\n".join(lines)


def _candidates(obj: Any, want: Translated) -> list[dict[str, Any]]:
    """A finite set of argument values to try for each parameter of ``obj`` (classes: init + call)."""
    if inspect.isclass(obj):
        params = list(inspect.signature(obj.__init__).parameters.values())[1:]
        params += list(inspect.signature(getattr(obj, "_translate")).parameters.values())[3:]  # noqa: B009  # self, logits, target
    else:
        params = list(inspect.signature(obj.translate).parameters.values())[2:]
    s = want.spec
    choices: list[list[tuple[str, Any]]] = []
    for p in params:
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        d = p.default
        opts: list[Any] = [d]
        if p.name in _WEIGHT_NAMES:
            opts = [None, "w"] if d is None else [d]
            if p.name == "weight" and d is None:
                opts = [None, "w", s.scale]
        elif p.name in _SAMPLE_WEIGHT_NAMES:
            opts = [None, "sample_weight"]
        elif isinstance(d, bool) or p.name in ("size_average", "reduce"):
            opts = [d] if p.name in ("size_average", "reduce", "cache_score") else [True, False]
        elif isinstance(d, str):
            opts = [d, *[v for v in _STRINGS if v != d]]
        elif isinstance(d, int) and "axis" in p.name:
            opts = sorted({d, 0, 1, -1}, key=lambda v: v != d)
        elif isinstance(d, int):
            opts = [d] + ([s.ignore_index] if s.ignore_index is not None and s.ignore_index != d else [])
        elif isinstance(d, float):
            opts = [d] + ([s.label_smoothing] if s.label_smoothing != d else [])
        choices.append([(p.name, o) for o in dict.fromkeys(opts, None)])
    return [dict(c) for c in itertools.product(*choices)]


def _fmt_call(name: str, obj: Any, kwargs: dict[str, Any]) -> str:
    items = [
        f"{k}={v}" if isinstance(v, str) and k in (*_WEIGHT_NAMES, *_SAMPLE_WEIGHT_NAMES) else f"{k}={v!r}"
        for k, v in kwargs.items()
    ]
    if inspect.isclass(obj):
        init_params = set(inspect.signature(obj.__init__).parameters)
        init = ", ".join(i for i, k in zip(items, kwargs) if k in init_params)
        call = ", ".join(["x", "t", *[i for i, k in zip(items, kwargs) if k not in init_params]])
        return f"{name}({init})({call})"
    return f"{name}({', '.join(['x', 't', *items])})"


def port(source: str, target_dialect: str, /, *, target: str = "index", ndim: int = 2, **kwargs: Any) -> PortResult:
    """The call in ``target_dialect`` equivalent to ``source(**kwargs)``, or the closest and its correction.

    Examples
    --------
    >>> from unified_ce import port
    >>> print(port("chainer", "torch", normalize=False, class_weight="w"))
    torch.cross_entropy(x, t, weight=w, ignore_index=-1, reduction='sum')
    # divide the sum by the number of items (0 when it is 0)
    """
    src = translate_call(source, kwargs, target=target, ndim=ndim)
    want = _relevant(src, ndim)
    best: tuple[float, int, str, dict[str, Any], dict[str, Any], Any] | None = None
    for api in PORT_API[target_dialect]:
        name = f"{target_dialect}.{api}"
        obj = getattr(importlib.import_module(f"unified_ce.adapters.{target_dialect}"), api)
        for cand in _candidates(obj, src):
            try:
                tr = translate_call(name, cand, target=target, ndim=ndim)
            except Exception:  # not a valid combination in that dialect
                continue
            got = _relevant(tr, ndim)
            cost: float = sum(_COST.get(k, 3) for k in _diffs(want, got))
            changed = sum(1 for k, v in cand.items() if v != _default(obj, k))
            if best is None or (cost, changed) < (best[0], best[1]):
                best = (cost, changed, name, cand, got, obj)
    assert best is not None
    cost, _, name, cand, got, obj = best
    shown = {k: v for k, v in cand.items() if v != _default(obj, k)}
    text = _fmt_call(name, obj, shown)
    src_name = ".".join(_split_api(source))
    if cost == 0:
        return PortResult(src_name, text, True, [], shown, name)
    diffs = sorted(
        _diffs(want, got), key=lambda k: (not _correction(k, want, got).startswith("cannot"), _COST.get(k, 3))
    )
    if "reduction" in diffs:  # the reduction's correction covers its details
        diffs = [k for k in diffs if k not in ("denominator", "zero_denominator", "keepdims", "batch_axis")]
    if "class_weight" in diffs or "label_smoothing" in diffs:
        diffs = [k for k in diffs if k != "weighting"]
    seen: list[str] = []
    for k in diffs:
        c = _correction(k, want, got)
        if c not in seen:
            seen.append(c)
    return PortResult(src_name, text, False, seen, shown, name)


def _diffs(want: dict[str, Any], got: dict[str, Any]) -> list[str]:
    out = []
    keys = set(want) | set(got)
    if want["reduction"] != got["reduction"]:  # one correction covers the reduction and its details
        keys -= {"denominator", "zero_denominator", "keepdims", "batch_axis"}
    for k in keys:
        w, g = want.get(k), got.get(k)
        if k == "ignore_index_used":
            continue
        if k == "ignore_index" and w is None and g is not None and g < 0:
            continue  # an ignore value no valid label can take changes nothing
        if w != g:
            out.append(k)
    return out


def _default(obj: Any, name: str) -> Any:
    cls: Any = obj  # a loss class or a dialect function
    sigs = (
        [inspect.signature(cls.__init__), inspect.signature(cls._translate)]
        if inspect.isclass(obj)
        else [inspect.signature(obj.translate)]
    )
    for sig in sigs:
        if name in sig.parameters:
            return sig.parameters[name].default
    return inspect.Parameter.empty
