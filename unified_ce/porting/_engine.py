"""Search, then prove: the translations of a call into another dialect, each verified numerically.

A translation (:class:`Plan`) is one call of a loss API of the target dialect plus a few array
operations around it (move the class axis, squeeze / expand a kept class axis of the labels, mask
ignored labels, gather a weight per label, build a smoothed one-hot target, then sum or average,
divide by a count or a sum of weights, multiply by a constant).  Candidates are enumerated from
the target API's parameters and the source call's spec; each candidate is then run, in float64,
through the target *dialect* on a battery of random inputs that covers the source call's regime
and compared with the source dialect.  Only a plan that agrees on every input is exact.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import InvalidArgumentError
from .._spec import CrossEntropySpec
from ._registry import Api, _module, apis, idiom

__all__ = ["MAX_NDIM", "Case", "Info", "Plan", "Source", "battery", "candidates", "check_call", "source_info"]

#: The largest rank ``--ndim`` / ``ndim=`` accepts (inputs of the battery stay tiny at any rank).
MAX_NDIM = 8
#: The ranks covered when no rank is given.
ANY_RANKS = (1, 2, 3, 4)
#: Placeholder and battery sizes of the non-class axes, in order (the first is the batch).
_SIZES = (4, 2, 3, 2, 2, 2, 2, 2)
_RTOL, _ATOL = 1e-10, 1e-12
#: for a source that computes in float32 whatever its input (Keras's loss classes, Hugging Face): the
#: port computes in float32 too, and the two may round the last bits of a sum differently
_RTOL32, _ATOL32 = 1e-5, 1e-6


def _tolerance(want: np.ndarray) -> tuple[float, float]:
    """``(rtol, atol)`` of the comparison with a source result of ``want``'s dtype."""
    return (_RTOL32, _ATOL32) if want.dtype == np.float32 else (_RTOL, _ATOL)


# ---------------------------------------------------------------------------- calling a dialect


def _split(api: Api, kw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    init = {p.name for p in api.init_params}
    return {k: v for k, v in kw.items() if k in init}, {k: v for k, v in kw.items() if k not in init}


def _implicit(api: Api, kw: dict[str, Any], x: Any) -> dict[str, Any]:
    """``kw`` with the arguments the logits decide (``vocab_size``: the size of their last axis), as the
    dialect module declares them in ``PORT_FROM_LOGITS`` (``{parameter: axis of the logits}``)."""
    sizes = getattr(_module(api.dialect), "PORT_FROM_LOGITS", {})
    if not sizes:
        return kw
    shape = getattr(x, "shape", ())
    return {**{k: shape[a] for k, a in sizes.items() if k not in kw and len(shape)}, **kw}


def _module_of(api: Api) -> Any:
    return _module(api.dialect)


def _translate(api: Api, kw: dict[str, Any], x: Any, t: Any) -> Any:
    kw = _implicit(api, kw, x)
    if api.is_class:
        init, call = _split(api, kw)
        return api.obj(**init)._translate(*api.pair(x, t), **call)
    return api.obj.translate(*api.pair(x, t), **kw)


def call_api(api: Api, kw: dict[str, Any], x: Any, t: Any) -> Any:
    """Run ``api`` on arrays (``kw`` holds arrays already); the loss as a NumPy array."""
    kw = _implicit(api, kw, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if api.is_class:
            init, call = _split(api, kw)
            out = api.obj(**init)(*api.pair(x, t), **call)
        else:
            out = api.obj(*api.pair(x, t), **kw)
    if isinstance(out, tuple):  # (loss, softmax) of Paddle's return_softmax
        out = out[0]
    return np.asarray(out)


#: options that add outputs or save memory without changing the loss (the LLM dialects): left at their default
_OUTPUT_ONLY = (
    "return_z_loss",
    "return_token_accuracy",
    "return_predicted_tokens",
    "inplace_backward",
    "process_group",
)


def translate_placeholder(api: Api, kw: dict[str, Any], x: np.ndarray) -> Any:
    """The :class:`~unified_ce.adapters._base.Call` of ``api`` on ``x`` and any label layout it takes."""
    for _, t in _layouts(x, x.ndim - 1 if x.ndim else 0):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return _translate(api, kw, x, t)
        except Exception:
            continue
    return None


def check_call(api: Api, kw: dict[str, Any]) -> None:
    """Raise the dialect's own error if no input of rank 1-3 makes ``api(**kw)`` valid."""
    first: Exception | None = None
    named: Exception | None = None
    kw = _placeholder_weights(kw, api, 3, (2, 1))
    for ndim in (2, 3, 1):
        for axis in _axis_order(ndim):
            x = np.zeros(_shape(ndim, axis, 3))
            for _, t in _layouts(x, axis):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        _translate(api, kw, x, t)
                    return
                except Exception as exc:
                    first = first or exc
                    if named is None and any(k in str(exc) for k in kw):
                        named = exc
    err = named or first
    assert err is not None
    if isinstance(err, (ValueError, TypeError)):
        raise err
    raise InvalidArgumentError(f"{api.qualname}: {err}")


def _placeholder_weights(kw: dict[str, Any], api: Api, C: int, sw_shape: tuple[int, ...]) -> dict[str, Any]:
    from ._args import role

    out = dict(kw)
    for k, v in kw.items():
        if isinstance(v, str) and role(api, k) == "class_weight":
            out[k] = np.linspace(1.0, 2.0, C)
        elif isinstance(v, str) and role(api, k) == "sample_weight":
            out[k] = np.ones(sw_shape)
        elif isinstance(v, str) and role(api, k) == "divisor":
            out[k] = 7
    return out


def _axis_order(ndim: int) -> list[int]:
    return list(dict.fromkeys([a for a in (1, ndim - 1, 0, *range(ndim)) if 0 <= a < ndim]))


def _shape(ndim: int, axis: int, C: int, sizes: tuple[int, ...] = _SIZES) -> tuple[int, ...]:
    rest = list(sizes[: max(ndim - 1, 0)])
    return tuple([*rest[:axis], C, *rest[axis:]]) if ndim else ()


def _layouts(x: np.ndarray, axis: int) -> Iterator[tuple[str, np.ndarray]]:
    """The label layouts a dialect may take: class axis dropped, kept with size 1, the logits' shape
    (integer: sigmoid labels), the logits' shape (float: probabilities)."""
    shape = x.shape
    if x.ndim:
        yield "dropped", np.zeros(shape[:axis] + shape[axis + 1 :], dtype=np.int64)
        yield "kept", np.zeros((*shape[:axis], 1, *shape[axis + 1 :]), dtype=np.int64)
    yield "full", np.zeros(shape, dtype=np.int64)
    C = shape[axis] if x.ndim else 1
    yield "probs", np.full(shape, 1.0 / C)


# ------------------------------------------------------------------------------- call regimes


@dataclass(frozen=True)
class Info:
    """A call of one API at one rank: its spec, class axis and label layout, which weights it carries."""

    spec: CrossEntropySpec
    ndim: int
    axis: int  # the class axis, in [0, ndim)
    layout: str  # "dropped" | "kept" | "full" | "probs"
    cw: bool
    sw: bool
    sw_keep: bool  # the sample weight has the class axis kept with size 1
    #: the call computes (and returns) float32 whatever the logits' dtype (Keras's loss classes convert
    #: both arguments to float32 first; Hugging Face upcasts the logits with ``.float()``)
    f32: bool = False
    #: the labels are shifted one step left along their last axis, padded with the ignore label (the
    #: causal-LM losses: token t is scored against label t + 1); declared by the dialect module as
    #: ``SHIFTS_LABELS`` (the names of its APIs that shift)
    shift: bool = False
    #: the mean divides by a number given at the call (Hugging Face's ``num_items_in_batch``)
    given: bool = False

    @property
    def kind(self) -> str:
        return "probs" if self.layout == "probs" else "index"

    @property
    def sigmoid(self) -> bool:
        return self.spec.activation == "sigmoid"


def probe(api: Api, kw: tuple[tuple[str, Any], ...], ndim: int, kind: str) -> Info | None:
    """The :class:`Info` of ``api(**kw)`` at rank ``ndim`` with targets of ``kind``, or None."""
    return _probe(api, kw, ndim, kind)


@functools.lru_cache(maxsize=8192)
def _probe(api: Api, kw: tuple[tuple[str, Any], ...], ndim: int, kind: str) -> Info | None:
    with warnings.catch_warnings():  # once per probe: the translations' warnings are not the user's
        warnings.simplefilter("ignore")
        return _probe_quiet(api, kw, ndim, kind)


def _probe_quiet(api: Api, kw: tuple[tuple[str, Any], ...], ndim: int, kind: str) -> Info | None:
    from ._args import role

    given = {role(api, k) for k, v in kw if isinstance(v, str)}
    C = 3
    for axis in _axis_order(ndim) or [0]:
        x = np.zeros(_shape(ndim, axis, C))
        for layout, t in _layouts(x, axis):
            if (layout == "probs") != (kind == "probs"):
                continue
            for sw_keep in (True, False):
                item = x.shape[:axis] + ((1,) if sw_keep else ()) + x.shape[axis + 1 :]
                kwa = _placeholder_weights(dict(kw), api, C, item)
                try:
                    call = _translate(api, kwa, x, t)
                except Exception:
                    continue
                spec = call.spec
                if spec.activation == "softmax" and (layout == "full" or (ndim and spec.axis % ndim != axis)):
                    break
                if spec.activation == "sigmoid" and layout not in ("full", "probs"):
                    break
                if kind == "index" and spec.target != "index" and spec.activation == "softmax":
                    break
                # a weight counts when the call was given one (a dialect may fill in a default, e.g.
                # PyTorch's pos_weight=None is 1) and it reaches the computation
                cw = "class_weight" in given and call.class_weight is not None
                sw = "sample_weight" in given and call.sample_weight is not None
                f32 = spec.compute_dtype == "float32" or getattr(call.logits, "dtype", None) == np.float32
                shift = api.name in getattr(_module_of(api), "SHIFTS_LABELS", ())
                if shift and layout != "dropped":
                    break  # the labels are shifted along their token axis: one label per token
                return Info(spec, ndim, axis, layout, cw, sw, sw_keep, f32, shift, spec.denominator == "given")
    return None


@dataclass(frozen=True)
class Source:
    """The call to port: its API, arguments (arrays as names) and its :class:`Info` per rank."""

    api: Api
    kwargs: tuple[tuple[str, Any], ...]
    kind: str
    infos: tuple[Info, ...]

    @property
    def ranks(self) -> tuple[int, ...]:
        return tuple(i.ndim for i in self.infos)

    def text(self) -> str:
        args = ", ".join(f"{k}={v}" if _array_arg(self.api, k, v) else f"{k}={v!r}" for k, v in self.kwargs)
        return f"{self.api.qualname}({args})"

    def array_names(self) -> dict[str, str]:
        """``{"w": name, "sw": name}`` of the array arguments the call has."""
        from ._args import role

        out = {}
        for k, v in self.kwargs:
            if isinstance(v, str) and role(self.api, k) == "class_weight":
                out["w"] = v
            elif isinstance(v, str) and role(self.api, k) == "sample_weight":
                out["sw"] = v
            elif isinstance(v, str) and role(self.api, k) == "divisor":
                out["n"] = v
        return out


def _array_arg(api: Api, k: str, v: Any) -> bool:
    from ._args import role

    return isinstance(v, str) and role(api, k) in ("class_weight", "sample_weight", "divisor")


def source_info(api: Api, kwargs: dict[str, Any], ndim: int | None, target: str | None) -> Source:
    """Translate the source call at the given rank (every rank 1-4 it takes when None)."""
    kw = tuple(kwargs.items())
    ranks = ANY_RANKS if ndim is None else (ndim,)
    kinds = (target,) if target else ("index", "probs")
    for kind in kinds:
        infos = tuple(i for r in ranks if (i := probe(api, kw, r, kind)) is not None)
        if infos:  # the ranks whose inputs the source really evaluates (not only translates)
            src = Source(api, kw, kind, infos)
            have = {c.ndim for c in battery(src)}
            infos = tuple(i for i in infos if i.ndim in have)
        if infos:
            return Source(api, kw, kind, infos)
    what = f"rank {ndim}" if ndim is not None else "any rank 1-4"
    raise InvalidArgumentError(
        f"{api.qualname} with these arguments takes no input of {what}" + (f" with target={target!r}" if target else "")
    )


# ----------------------------------------------------------------------------------- battery


@dataclass
class Case:
    """One input of the battery, in the source call's layout."""

    name: str
    ndim: int
    x: np.ndarray
    t: np.ndarray
    w: np.ndarray | None = None
    sw: np.ndarray | None = None
    expected: Any = None
    n: Any = None  # the divisor given at the call (``num_items_in_batch``)


def battery(src: Source, seed: int = 0) -> list[Case]:
    """Random float64 inputs covering the source call's regime; each with the source's result.

    Per rank: labels with some items ignored, none ignored, all ignored (when the call ignores
    a label), the extreme labels 0 and C-1, one class (C=1), an empty batch (N=0); soft targets
    that are distributions and (where the source takes them) that are not; class and sample
    weights whenever the call has them.  Inputs the source itself refuses are not in its regime.
    """
    return list(_battery(src, seed))


@functools.lru_cache(maxsize=1024)
def _battery_cached(src: Source, seed: int) -> tuple[Case, ...]:
    rng = np.random.default_rng(seed)
    out: list[Case] = []
    names = src.array_names()
    for info in src.infos:
        spec, n, a = info.spec, info.ndim, info.axis
        plans: list[tuple[str, int, int, str]] = [("random", 5, 4, "some"), ("no label ignored", 5, 4, "none")]
        if spec.uses_ignore and info.kind == "index":
            plans += [("every label ignored", 5, 4, "all")]
        plans += [("extreme labels", 5, 4, "extreme"), ("C=1", 1, 4, "none")]
        if n >= 1 and not (n == 1):
            plans += [("N=0", 5, 0, "none")]
        if info.kind == "probs":
            plans += [("soft targets not summing to 1", 5, 4, "unnormalised")]
        for name, C, N, labels in plans:
            sizes = (N, *_SIZES[1:])
            shape = _shape(n, a, C, sizes)
            x = rng.normal(scale=2.0, size=shape)
            t = _labels(rng, info, x, labels)
            if t is None:
                continue
            w = rng.uniform(0.5, 2.0, size=C) if "w" in names else None
            sw = None
            if "sw" in names:
                item = shape[:a] + ((1,) if info.sw_keep else ()) + shape[a + 1 :]
                sw = rng.uniform(0.0, 2.0, size=item)
            case = Case(f"{name}, rank {n}", n, x, t, w, sw)
            if "n" in names:  # the token count of a whole accumulation step: more than the items here
                case.n = int(t.size + 1 + rng.integers(0, 5))
            try:
                case.expected = evaluate_source(src, case)
            except Exception:
                continue
            if _unreduced_empty(spec, N, case.expected):
                continue  # Keras's empty batch: stated by the port as a caveat (see unreduced_empty_batch)
            out.append(case)
    return tuple(out)


def _unreduced_empty(spec: CrossEntropySpec, N: int, result: Any) -> bool:
    """A reducing call that returns an empty batch's per-item losses unreduced (Keras's
    ``reduce_values``: values of shape ``(0,)`` are returned as they are)."""
    return N == 0 and spec.reduction in ("mean", "sum") and np.shape(result) == (0,)


@functools.lru_cache(maxsize=1024)
def unreduced_empty_batch(src: Source) -> bool:
    """Whether the source returns an empty batch's losses unreduced (the battery leaves that input
    out; a port says so): evaluated on an N=0 input of its first rank >= 2."""
    for info in src.infos:
        if info.ndim < 2:
            continue
        shape = _shape(info.ndim, info.axis, 3, (0, *_SIZES[1:]))
        x = np.zeros(shape)
        t = _labels(np.random.default_rng(0), info, x, "none")
        if t is None:
            return False
        names = src.array_names()
        item = shape[: info.axis] + ((1,) if info.sw_keep else ()) + shape[info.axis + 1 :]
        case = Case(
            "N=0", info.ndim, x, t, np.ones(3) if "w" in names else None, np.ones(item) if "sw" in names else None
        )
        case.n = 1 if "n" in names else None
        try:
            return _unreduced_empty(info.spec, 0, evaluate_source(src, case))
        except Exception:
            return False
    return False


def _battery(src: Source, seed: int) -> tuple[Case, ...]:
    return _battery_cached(src, seed)


def _labels(rng: np.random.Generator, info: Info, x: np.ndarray, how: str) -> np.ndarray | None:
    spec, a = info.spec, info.axis
    if info.kind == "probs":
        if how == "unnormalised":
            return rng.uniform(0.0, 1.0, size=x.shape)
        if how in ("all", "extreme"):
            return None
        q = rng.uniform(0.05, 1.0, size=x.shape)
        return q / q.sum(axis=a, keepdims=True) if x.ndim else q / q.sum()
    C = x.shape[a] if x.ndim else 1
    if info.sigmoid:
        t = rng.integers(0, 2, size=x.shape)
        if how == "extreme":
            t = np.ones_like(t)
    else:
        item = x.shape[:a] + x.shape[a + 1 :]
        t = rng.integers(0, C, size=item)
        if how == "extreme":
            t = np.where(rng.random(item) < 0.5, 0, C - 1)
    ig = spec.ignore_index if spec.uses_ignore else None
    if ig is not None:
        if how == "all":
            t = np.full_like(t, ig)
        elif how == "some" and t.size:
            mask = rng.random(t.shape) < 0.4
            mask.flat[0] = True
            t = np.where(mask, ig, t)
        elif how in ("none", "extreme") and 0 <= ig < C:
            return None if np.any(t == ig) else t
    if info.layout == "kept":
        t = np.expand_dims(t, a)
    return t.astype(np.int64)


def _kwargs_with_arrays(
    api: Api, kwargs: tuple[tuple[str, Any], ...], w: Any, sw: Any, n: Any = None
) -> dict[str, Any]:
    from ._args import role

    out = {}
    for k, v in kwargs:
        r = role(api, k)
        if isinstance(v, str) and r == "class_weight":
            v = w
        elif isinstance(v, str) and r == "sample_weight":
            v = sw
        elif isinstance(v, str) and r == "divisor":
            v = n
        out[k] = v
    return out


def evaluate_source(src: Source, case: Case) -> np.ndarray:
    """The source call's result on one case (float64)."""
    return call_api(src.api, _kwargs_with_arrays(src.api, src.kwargs, case.w, case.sw, case.n), case.x, case.t)


# -------------------------------------------------------------------------------------- plans

#: One step of a plan: ``(variable, op, arguments)``; see :func:`run_steps` and the emitter.
Step = tuple[str, str, tuple[Any, ...]]


@dataclass(frozen=True)
class Plan:
    """A translation: the target call with its arguments and the steps before and after it."""

    api: Api
    kwargs: tuple[tuple[str, Any], ...]  # literal values; "w" / "sw" stand for the arrays
    pre: tuple[Step, ...]
    post: tuple[Step, ...]
    x_var: str = "x"
    t_var: str = "t"
    index_target: bool = True
    notes: tuple[str, ...] = ()

    @property
    def cost(self) -> tuple[int, int]:
        return (len(self.pre) + len(self.post), len(self.kwargs))


def _np_op(op: str, args: tuple[Any, ...], env: dict[str, Any]) -> Any:
    def v(a: Any) -> Any:
        return env[a] if isinstance(a, str) and a in env else a

    A = [v(a) for a in args]
    with np.errstate(all="ignore"):
        if op == "moveaxis":
            return np.moveaxis(A[0], A[1], A[2])
        if op == "expand":
            return np.expand_dims(A[0], A[1])
        if op == "squeeze":
            return np.squeeze(A[0], A[1])
        if op == "ne":
            return A[0] != A[1]
        if op == "where0":
            return np.where(A[1], A[0], 0)
        if op == "onehot":  # (labels, axis of x holding the classes)
            C = env["x"].shape[A[1]] if env["x"].ndim else env["x"].shape[0]
            return np.eye(C, dtype=env["x"].dtype)[A[0]]
        if op == "log_softmax":
            a = A[0]
            mx = a.max(axis=A[1], keepdims=True) if a.size else a
            return a - mx - np.log(np.exp(a - mx).sum(axis=A[1], keepdims=True))
        if op == "tofloat":
            return A[0].astype(env["x"].dtype)
        if op == "mul":
            return A[0] * A[1]
        if op == "div":
            q = A[0] / A[1]
            if isinstance(A[1], (int, np.integer)) and np.asarray(A[0]).dtype == np.float32:
                q = np.asarray(q, dtype=np.float32)  # a count does not promote float32 (torch, JAX, ...)
            return q
        if op == "affine":  # a * c1 + c2
            return A[0] * A[1] + A[2]
        if op == "smooth":  # (1 - eps) q + eps / C, C = x.shape[axis]
            return A[0] * (1.0 - A[1]) + A[1] / env["x"].shape[A[2]]
        if op == "add":
            return A[0] + A[1]
        if op == "floordiv":
            return A[0] // A[1]
        if op == "mean":
            return A[0].mean()
        if op == "take":
            return A[0][A[1]]
        if op in ("sum", "count"):
            return A[0].sum()
        if op == "mean_axes":
            return A[0].mean(axis=A[1])
        if op == "mean_rest":
            return A[0].reshape((A[0].shape[0], math.prod(A[0].shape[1:]))).mean(axis=1)
        if op == "numel":
            return A[0].size
        if op == "dim":
            return A[0].shape[A[1]]
        if op == "clamp1":
            return max(A[0], 1)
        if op == "float32":
            return np.asarray(A[0]).astype(np.float32)
        if op == "shift":  # F.pad(labels, (0, 1), value=ignore)[..., 1:]
            pad = [(0, 0)] * (A[0].ndim - 1) + [(0, 1)]
            return np.pad(A[0], pad, constant_values=A[1])[..., 1:]
        if op == "var":
            return A[0]
    raise AssertionError(op)  # pragma: no cover


#: The plan variables that stand for arrays when they appear as argument values.
_ARRAYS = ("w", "sw", "msw")


def run_plan(plan: Plan, x: np.ndarray, t: np.ndarray, w: Any = None, sw: Any = None, n: Any = None) -> np.ndarray:
    """Evaluate a plan on NumPy arrays in the source layout, through the target dialect (``n``: the
    divisor given at the source call)."""
    env: dict[str, Any] = {"x": x, "t": t, "w": w, "sw": sw, "n": n}
    for var, op, args in plan.pre:
        env[var] = _np_op(op, args, env)
    kw = {k: (env[v] if isinstance(v, str) and v in _ARRAYS else v) for k, v in plan.kwargs}
    env["loss"] = call_api(plan.api, kw, env[plan.x_var], env[plan.t_var])
    for var, op, args in plan.post:
        env[var] = _np_op(op, args, env)
    return np.asarray(env["loss"])


def _target_options(api: Api, src: Source) -> Iterator[dict[str, Any]]:
    """A finite set of argument combinations for ``api``, from its parameters and the source spec."""
    from ._args import role

    spec = src.infos[0].spec
    names = src.array_names()
    choices: list[list[tuple[str, Any]]] = []
    for p in api.params:
        r = role(api, p.name)
        d = p.default
        opts: list[Any]
        if r == "class_weight":
            opts = [None, "w"] if "w" in names else [None]
        elif r == "sample_weight":
            opts = [None, "sw"] if ("sw" in names or "w" in names or spec.uses_ignore) else [None]
        elif r == "divisor":
            opts = [None, "n"] if "n" in names else [None]
        elif r == "ignore":
            opts = [d] + ([spec.ignore_index] if spec.uses_ignore else [])
        elif r == "legacy" or p.name in (
            "cache_score",
            "enable_double_backprop",
            "return_softmax",
            "numeric_stable_mode",
            "name",
            *_OUTPUT_ONLY,
        ):
            opts = [d]
        elif p.name == "dtype" and d is None:  # Keras's loss classes compute in float32 unless told
            opts = [d] + ([] if any(i.f32 for i in src.infos) else ["float64"])
        elif r == "bool":
            opts = [d, not d]
        elif r == "str":
            opts = [d, *(s for s in _STRINGS if s != d)]
        elif r == "int" and "axis" in p.name:
            opts = [d]
            if "batch" not in p.name:
                opts += [i.spec.axis for i in src.infos] + [i.axis for i in src.infos] + [1, -1]
            else:
                opts += [i.spec.batch_axis for i in src.infos]
        elif r == "int":
            opts = [d] + ([spec.ignore_index] if spec.ignore_index is not None else [])
        elif r == "float":
            opts = [d] + [i.spec.label_smoothing for i in src.infos if i.spec.label_smoothing]
        elif r == "number":
            opts = [d] + ([spec.scale] if spec.scale != 1.0 else [])
        else:
            opts = [d]
        choices.append([(p.name, o) for o in dict.fromkeys(opts)])
    for combo in itertools.product(*choices):
        yield {k: v for k, v in combo if v != api.param(k).default}


_STRINGS = ("mean", "sum", "none", "no", "cross-entropy", "kl-divergence")


def candidates(src: Source, api: Api) -> list[Plan]:
    """Every plan through ``api`` that could give the source's numbers, cheapest first."""
    out: dict[Any, Plan] = {}
    for kw in _target_options(api, src):
        key = tuple(kw.items())
        for kind in ("index", "probs"):
            tinfos = [probe(api, key, s.ndim, kind) for s in src.infos]
            if any(ti is None for ti in tinfos):
                continue
            plans = [_plan(s, ti, api, key) for s, ti in zip(src.infos, tinfos)]  # type: ignore[arg-type]
            merged = _merge(plans, src.infos, tinfos)  # type: ignore[arg-type]
            for p in merged:
                if p is not None:
                    out.setdefault((p.pre, p.post, p.kwargs, p.api.name), p)
    return sorted(out.values(), key=lambda p: p.cost)


def _merge(plans: list[Plan | None], sinfos: tuple[Info, ...], tinfos: list[Info]) -> list[Plan | None]:
    """One plan for every rank when there is one: the per-rank plans if identical, or the plan with
    the most steps (its axis moves are no-ops at the other ranks), else the per-rank plans."""
    if any(p is None for p in plans):
        return []
    distinct = list(dict.fromkeys(plans))
    if len(distinct) == 1:
        return distinct
    longest = max(distinct, key=lambda p: p.cost if p else (0, 0))
    return [longest, *(p for p in distinct if p is not longest)]


def _per_item_reduction(info: Info) -> str:
    """The spec's reduction, with MXNet's per-sample mean at rank 2 read as per item (one item per row)."""
    S, n = info.spec, info.ndim
    if S.reduction == "sample_mean" and n == 2 and S.activation == "softmax" and S.batch_axis % n != info.axis:
        return "none"
    return S.reduction


def _plan(s: Info, ti: Info, api: Api, kw: tuple[tuple[str, Any], ...]) -> Plan | None:
    """The plan turning the target call ``ti`` into the source call ``s`` at one rank (or None).

    Variables: ``x, t, w, sw`` the source's arrays (``t`` becomes the labels with the class axis
    dropped, ignored ones set to 0, ``m`` the mask of the others), ``xt`` / ``tt`` / ``q`` the
    inputs in the target's layout, ``wt`` the weight of each item's label, ``d`` the denominator.
    """
    S, T = s.spec, ti.spec
    if S.activation != T.activation or (S.inputs, T.inputs) not in (
        ("logits", "logits"),
        ("log_probs", "log_probs"),
        ("logits", "log_probs"),
    ):
        return None
    n = s.ndim
    pre: list[Step] = []
    post: list[Step] = []
    per_item: list[str] = []
    xv, tv = "x", "t"
    if (ti.f32 and not s.f32) or ti.shift or ti.given:
        return None  # the target computes in float32 only, shifts its labels or divides by a given count
    cast = s.f32 and not ti.f32  # the source computes in float32: so does the port (``x.float()``)
    if cast:
        pre.append(("xt", "float32", ("x",)))
        xv = "xt"
        if s.sw:
            pre.append(("sw", "float32", ("sw",)))
    moved = S.activation == "softmax" and n > 0 and s.axis != ti.axis
    if moved:
        pre.append(("xt", "moveaxis", (xv, S.axis, T.axis)))
        xv = "xt"
    if S.inputs == "logits" and T.inputs == "log_probs":  # e.g. nll_loss(log_softmax(x))
        pre.append(("xt", "log_softmax", (xv, T.axis if n else 0)))
        xv = "xt"
    if s.kind == "probs":
        if ti.kind != "probs" or T.label_smoothing != S.label_smoothing or (ti.cw and not s.cw):
            return None
        if cast:
            pre.append(("tt", "float32", ("t",)))
            tv = "tt"
        if moved:
            pre.append(("tt", "moveaxis", (tv, S.axis, T.axis)))
            tv = "tt"
        if s.cw and not ti.cw:  # per-class weights folded into the target: sum_c (w_c q_c) l_c
            if S.weighting != "per_class" or S.activation != "softmax" or S.label_smoothing:
                return None
            last = T.axis == -1 or not n or T.axis == n - 1
            if last:
                pre.append(("tw", "mul", (tv, "w")))
            else:
                pre.append(("tw", "moveaxis", (tv, T.axis, -1)))
                pre.append(("tw", "mul", ("tw", "w")))
                pre.append(("tw", "moveaxis", ("tw", -1, T.axis)))
            tv = "tw"
    else:
        ig = S.ignore_index if S.uses_ignore else None
        if s.layout == "kept":
            pre.append(("y", "squeeze", ("t", S.axis)))
        if s.shift:  # the label of the next token, the last one ignored (Hugging Face's F.pad)
            if idiom(api.dialect).shift is None:
                return None
            pre.append(("y", "shift", (_lab(pre), S.ignore_index)))
        masked = ig is not None and not (ti.kind == "index" and T.uses_ignore and T.ignore_index == ig)
        if masked:
            pre.append(("m", "ne", (_lab(pre), ig)))
            pre.append(("y", "where0", (_lab(pre), "m")))
            per_item.append("m")
        elif ti.kind == "index" and T.uses_ignore and ig is None:
            if not (T.ignore_index is not None and T.ignore_index < 0):
                return None  # the target would ignore a valid label
        if ti.kind == "index":
            if T.label_smoothing != S.label_smoothing:
                return None
            tv = _lab(pre)
            if ti.layout == "kept":
                pre.append(("tk", "expand", (_lab(pre), T.axis)))
                tv = "tk"
        else:  # the (smoothed) distribution the source's labels stand for
            if T.label_smoothing:
                return None
            eps = S.label_smoothing
            if S.activation == "softmax":
                pre.append(("q", "onehot", (_lab(pre), S.axis if n else 0)))
                if eps:
                    pre.append(("q", "smooth", ("q", eps, S.axis if n else 0)))
                if masked:
                    pre.append(("me", "expand", ("m", -1)))
                    pre.append(("q", "mul", ("q", "me")))
                if s.cw and not ti.cw and eps and S.weighting == "per_class":
                    pre.append(("q", "mul", ("q", "w")))  # sum_c w_c q~_c l_c
                if n and ti.axis != n - 1:
                    pre.append(("q", "moveaxis", ("q", -1, T.axis)))
            else:
                pre.append(("q", "tofloat", (_lab(pre),)))
                if eps:
                    pre.append(("q", "affine", ("q", 1.0 - eps, eps / 2)))
            if cast:
                pre.append(("q", "float32", ("q",)))
            tv = "q"
        if s.cw and not ti.cw and not (tv == "q" and S.label_smoothing and S.weighting == "per_class"):
            if (S.label_smoothing and S.weighting != "per_label") or S.activation != "softmax":
                return None
            pre.append(("wt", "take", ("w", _lab(pre))))
            per_item.append("wt")
        elif ti.cw and not s.cw:
            return None
    kwd = dict(kw)
    if s.sw and not ti.sw:
        if s.sw_keep and n and S.activation == "softmax":
            pre.append(("swi", "squeeze", ("sw", S.axis)))
            per_item.append("swi")
        else:
            per_item.append("sw")
    elif ti.sw and not s.sw:
        # the target's per-item weight carries the mask of ignored items
        if per_item != ["m"]:
            return None
        per_item = []
        pre.append(("msw", "tofloat", ("m",)))
        if ti.sw_keep and n and T.activation == "softmax":
            pre.append(("msw", "expand", ("msw", T.axis)))
        kwd = {k: ("msw" if v == "sw" else v) for k, v in kwd.items()}
    elif ti.sw and s.sw and (s.sw_keep != ti.sw_keep or moved):
        return None
    tr, sr = _per_item_reduction(ti), _per_item_reduction(s)
    if "axis_mean" in (tr, sr):  # the mean over one axis of several (Keras's binary losses at rank > 2)
        return None
    if per_item and tr != "none":
        return None
    if tr == "none":
        if T.reduction == "none" and T.keepdims and T.activation == "softmax" and n:
            post.append(("loss", "squeeze", ("loss", T.axis)))
        for f in per_item:
            post.append(("loss", "mul", ("loss", f)))
    if sr == "none":
        if tr != "none":
            return None
        if S.reduction == "none" and S.keepdims and S.activation == "softmax" and n:
            post.append(("loss", "expand", ("loss", S.axis)))
    elif sr == "sum":
        if tr == "none":
            post.append(("loss", "sum", ("loss",)))
        elif tr == "sample_mean":
            if not _sum_of_sample_means(s, ti, pre, post):
                return None
        elif tr != "sum":
            return None
    elif sr == "sample_mean":
        if tr == "sample_mean":
            if T.batch_axis % n != S.batch_axis % n:
                return None
        elif tr == "none" and S.activation == "softmax" and n:
            b = S.batch_axis % n
            b -= b > s.axis
            axes = tuple(i for i in range(n - 1) if i != b)
            if b == 0 and n >= 2:  # the same code at every rank: the mean over all axes but the first
                post.append(("loss", "mean_rest", ("loss",)))
            elif axes:
                post.append(("loss", "mean_axes", ("loss", axes)))
            if n == 1:
                post.append(("loss", "expand", ("loss", 0)))
        elif tr == "none" and S.activation == "sigmoid" and n >= 2:  # Keras's binary mean over the last axis
            b = S.batch_axis % n
            # counted from the end: the same code holds at rank 1 (Keras's mean over the only axis)
            axes = tuple(i - n for i in range(n) if i != b)
            if axes:  # (torch's mean(dim=()) would reduce every axis)
                post.append(("loss", "mean_axes", ("loss", axes)))
        else:
            return None
    else:  # mean
        if tr in ("none", "sum", "sample_mean"):
            if tr == "none":
                post.append(("loss", "sum", ("loss",)))
            if tr == "sample_mean" and not _sum_of_sample_means(s, ti, pre, post):
                return None
            if not _denominator(s, pre, post):
                return None
            post.append(("loss", "div", ("loss", "d")))
        elif tr != "mean":  # a mean: the same denominator, or the verification says otherwise
            return None
    scale = S.scale / T.scale
    if scale != 1.0:
        post.append(("loss", "mul", ("loss", scale)))
    return Plan(api, tuple(kwd.items()), tuple(pre), tuple(post), xv, tv, ti.kind == "index")


def _sum_of_sample_means(s: Info, ti: Info, pre: list[Step], post: list[Step]) -> bool:
    """Append the steps turning per-sample means over the non-batch axes (MXNet) into the sum over
    every item: the sum of the means times the number of items per sample."""
    n, T = s.ndim, ti.spec
    if n < 2 or T.batch_axis % n != 0:
        return False
    if s.sigmoid != ti.sigmoid or (not s.sigmoid and (s.kind != "index" or s.axis == 0 or ti.axis == 0)):
        return False
    lab = "x" if s.sigmoid else _lab(pre)  # the items: a sigmoid loss has one per logit
    post.append(("loss", "sum", ("loss",)))
    post.append(("nb", "dim", (lab, 0)))
    post.append(("nb", "clamp1", ("nb",)))
    post.append(("k", "numel", (lab,)))
    post.append(("k", "floordiv", ("k", "nb")))
    post.append(("loss", "mul", ("loss", "k")))
    return True


def _lab(pre: list[Step]) -> str:
    """The variable holding the labels (class axis dropped, ignored ones 0) after ``pre``."""
    return "y" if any(v == "y" for v, _, _ in pre) else "t"


def _denominator(s: Info, pre: list[Step], post: list[Step]) -> bool:
    """Append the steps computing the source's mean denominator ``d``; False if none fits."""
    S = s.spec
    d = "items" if S.denominator == "logits_per_class" else S.denominator  # the same with C >= 1 classes
    has_mask = any(v == "m" for v, _, _ in pre)
    if s.kind == "probs" or s.sigmoid:
        if d not in ("items", "batch", "valid") or (d == "valid" and s.kind == "probs"):
            return False
    if d in ("label_weight", "item_weight") and not s.cw:
        d = "valid"
    if d == "item_weight" and (not S.label_smoothing or S.weighting == "per_label"):
        d = "label_weight"
    if d == "valid" and not S.uses_ignore:
        d = "items"
    if S.uses_ignore and d in ("valid", "label_weight", "item_weight") and not has_mask:
        at = (
            next(i for i, st in enumerate(pre) if st[0] not in ("xt", "tt"))
            if any(st[0] not in ("xt", "tt") for st in pre)
            else len(pre)
        )
        if any(st[1] in ("squeeze", "shift") and st[0] == "y" for st in pre):
            at = max(i for i, st in enumerate(pre) if st[1] in ("squeeze", "shift") and st[0] == "y") + 1
        pre.insert(at, ("m", "ne", (_lab(pre[:at]), S.ignore_index)))
        has_mask = True
    if d == "items":
        if s.kind == "probs" and s.ndim and not s.sigmoid:  # one item per distribution over the classes
            post.append(("d", "numel", ("x",)))
            post.append(("C", "dim", ("x", S.axis)))
            post.append(("d", "floordiv", ("d", "C")))
        elif s.kind == "probs" or s.sigmoid:  # a sigmoid loss: one item per logit
            post.append(("d", "numel", ("x",)))
        else:
            post.append(("d", "numel", (_lab(pre),)))
    elif d == "batch":
        post.append(("d", "dim", ("x", S.batch_axis)))
    elif d == "valid":
        post.append(("d", "count", ("m",)))
    elif d == "given":  # Hugging Face's num_items_in_batch: the sum divided by the count given
        if not s.given:
            return False
        post.append(("d", "var", ("n",)))
    elif d in ("label_weight", "item_weight"):
        if s.sigmoid or s.kind == "probs":
            return False
        t = _lab(pre)
        if not any(v == "wt" for v, _, _ in pre):
            if S.uses_ignore and not any(st[1] == "where0" for st in pre):
                post.append(("t0", "where0", (t, "m")))
                t = "t0"
            post.append(("wt", "take", ("w", t)))
        if d == "item_weight":  # sum_c w_c q~_c = (1 - eps) w[y] + eps mean(w)
            eps = S.label_smoothing
            post.append(("wm", "mean", ("w",)))
            post.append(("wm", "mul", ("wm", eps)))
            post.append(("wt", "mul", ("wt", 1.0 - eps)))
            post.append(("wt", "add", ("wt", "wm")))
        if S.uses_ignore:
            post.append(("d", "mul", ("wt", "m")))
            post.append(("d", "sum", ("d",)))
        else:
            post.append(("d", "sum", ("wt",)))
    else:
        return False
    if S.zero_denominator == "zero":
        if d not in ("items", "batch", "valid"):
            return False
        post.append(("d", "clamp1", ("d",)))
    return True


@dataclass
class Verdict:
    """How a plan fared on the battery."""

    plan: Plan
    failures: list[tuple[str, str]] = field(default_factory=list)  # (case, how it differs)
    checked: int = 0
    failed_ranks: set[int] = field(default_factory=set)
    ranks: set[int] = field(default_factory=set)

    @property
    def exact(self) -> bool:
        return not self.failures and self.checked > 0

    @property
    def exact_ranks(self) -> set[int]:
        """The ranks at which every input agreed."""
        return self.ranks - self.failed_ranks


def verify(plan: Plan, cases: list[Case], *, stop_at_first: bool = True) -> Verdict:
    """Run ``plan`` on every case and compare with the source's results (float64, rtol 1e-10);
    ``stop_at_first``: stop at the first failure of each rank."""
    v = Verdict(plan)
    for case in cases:
        v.ranks.add(case.ndim)
        if stop_at_first and case.ndim in v.failed_ranks:
            continue
        v.checked += 1
        why = _compare(plan, case)
        if why:
            v.failures.append((case.name, why))
            v.failed_ranks.add(case.ndim)
    return v


def _compare(plan: Plan, case: Case) -> str:
    try:
        got = run_plan(plan, case.x, case.t, case.w, case.sw, case.n)
    except Exception as exc:
        return f"the target raises {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
    want = np.asarray(case.expected)
    if got.shape != want.shape:
        return f"shape {got.shape} instead of {want.shape}"
    rtol, atol = _tolerance(want)
    if want.dtype == np.float32 and got.dtype != want.dtype:
        return f"dtype {got.dtype} instead of float32 (the source computes in float32)"
    with np.errstate(all="ignore"):
        if np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
            return ""
        diff = np.abs(got - want)
    if want.size == 1:
        return f"{float(got.reshape(-1)[0]):.6g} instead of {float(want.reshape(-1)[0]):.6g}"
    finite = np.isfinite(diff)
    worst = float(np.max(diff[finite])) if finite.any() else math.nan
    bad = int(np.sum(~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)))
    return f"differs by up to {worst:.3g} ({bad} of {want.size} values)"


def search(src: Source, dialect: str, *, budget: int = 36) -> tuple[Verdict | None, list[Verdict], str]:
    """``(exact verdict or None, verdicts of the candidates tried, reason)`` for porting ``src`` to
    ``dialect``.  The candidates are those valid at every rank of ``src`` and, when it has several,
    those of each rank alone (each verified at every rank: its :attr:`Verdict.exact_ranks` say where
    it holds)."""
    if src.infos[0].spec.inputs == "probs":  # no plan takes probability inputs (see _plan): say why at once
        return None, [], _no_plan_reason(src, dialect)
    cases = battery(src)
    if not cases:
        return None, [], "the source call takes none of the battery's inputs"
    subs = [src]
    if len(src.infos) > 1:
        subs += [Source(src.api, src.kwargs, src.kind, (i,)) for i in src.infos]
    plans = list(dict.fromkeys(p for sub in subs for api in apis(dialect) for p in candidates(sub, api)))
    plans.sort(key=lambda p: p.cost)
    if not plans:
        return None, [], _no_plan_reason(src, dialect)
    tried: list[Verdict] = []
    for plan in plans[:budget]:
        v = verify(plan, cases)
        if v.exact:
            return v, tried, ""
        tried.append(v)
    return None, tried, ""


def closest(tried: list[Verdict], cases: list[Case], n: int = 4) -> Verdict:
    """The candidate failing on the fewest inputs (all its failures listed)."""
    top = sorted(tried, key=lambda v: (len(v.failed_ranks), len(v.failures), v.plan.cost))[:n]
    full = [verify(v.plan, cases, stop_at_first=False) for v in top]
    return min(full, key=lambda v: (len(v.failures), v.plan.cost))


def _no_plan_reason(src: Source, dialect: str) -> str:
    S = src.infos[0].spec
    shifting = getattr(_module(dialect), "SHIFTS_LABELS", ())
    if shifting and all(a.name in shifting for a in apis(dialect)):
        return f"the {dialect} dialect shifts its labels one token ({', '.join(shifting)}); a port to it is not written"
    acts = {
        i.spec.activation
        for api in apis(dialect)
        for kind in ("index", "probs")
        if (i := probe(api, (), src.infos[0].ndim, kind)) is not None
    }
    if S.activation not in acts:
        return f"the {dialect} dialect has no {S.activation} cross-entropy API"
    if S.inputs == "log_probs":
        return f"no API of the {dialect} dialect takes log-probabilities"
    if S.inputs == "probs":
        return f"no API of the {dialect} dialect takes probabilities clipped and logged the same way"
    return f"no API of the {dialect} dialect can express this call (its targets, weights or reduction)"
