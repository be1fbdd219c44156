"""``port`` and ``explain``: the public face of the search in :mod:`._engine`."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import InvalidArgumentError
from ._args import parse_kwargs
from ._engine import MAX_NDIM, Plan, Source, Verdict, battery, closest, run_plan, search, source_info
from ._registry import Api, dialects, find_api, idiom

__all__ = ["PortResult", "emit", "explain", "port"]


# ------------------------------------------------------------------------------------ emitting


def _fmt(v: Any) -> str:
    return repr(v) if not isinstance(v, float) else repr(float(v))


def emit(plan: Plan, names: dict[str, str]) -> str:
    """The plan as a self-contained snippet in the target framework's idiom.

    It reads ``x``, ``t`` (and the class / sample weights under the source call's names) in the
    source layout and assigns the result, in the source call's shape, to ``loss``.
    """
    idm = idiom(plan.api.dialect)
    var = {"w": names.get("w", "w"), "sw": names.get("sw", "sw"), "n": names.get("n", "n")}

    def ref(a: Any) -> str:
        if isinstance(a, str):
            return var.get(a, a)
        return _fmt(a)

    def expr(op: str, args: tuple[Any, ...]) -> str:
        r = [ref(a) for a in args]
        if op == "moveaxis":
            return idm.moveaxis.format(a=r[0], s=args[1], d=args[2])
        if op == "expand":
            return idm.expand.format(a=r[0], axis=args[1])
        if op == "squeeze":
            return idm.squeeze.format(a=r[0], axis=args[1])
        if op == "ne":
            return f"{r[0]} != {r[1]}"
        if op == "where0":
            return idm.where0.format(a=r[0], m=r[1])
        if op == "onehot":
            return idm.onehot.format(a=r[0], n=f"x.shape[{args[1]}]", x="x")
        if op == "smooth":
            return f"{r[0]} * {_fmt(1.0 - args[1])} + {_fmt(args[1])} / x.shape[{args[2]}]"
        if op == "tofloat":
            return idm.tofloat.format(a=r[0], x="x")
        if op == "log_softmax":
            return idm.log_softmax.format(a=r[0], axis=args[1])
        if op == "mul":
            return f"{r[0]} * {r[1]}"
        if op == "div":
            return f"{r[0]} / {r[1]}"
        if op == "add":
            return f"{r[0]} + {r[1]}"
        if op == "floordiv":
            return f"{r[0]} // {r[1]}"
        if op == "affine":
            return f"{r[0]} * {r[1]} + {r[2]}"
        if op == "take":
            return f"{r[0]}[{r[1]}]"
        if op == "sum":
            return idm.sum.format(a=r[0])
        if op == "count":  # the True entries of a boolean mask (an array, never a Variable)
            return f"{r[0]}.sum()"
        if op == "mean":
            return idm.sum.format(a=r[0]) + f" / {r[0]}.shape[0]"
        if op == "mean_axes":
            return idm.mean_axes.format(a=r[0], axes=args[1])
        if op == "mean_rest":
            return idm.mean_rest.format(a=r[0])
        if op == "numel":
            return idm.numel.format(a=r[0])
        if op == "dim":
            return f"{r[0]}.shape[{args[1]}]"
        if op == "clamp1":
            return idm.clamp1.format(a=r[0])
        if op == "float32":
            return idm.float32.format(a=r[0])
        if op == "shift":
            assert idm.shift is not None  # the engine writes no shift without one
            return idm.shift.format(a=r[0], v=r[1])
        if op == "var":
            return r[0]
        raise AssertionError(op)  # pragma: no cover

    imp, callee, _ = plan.api.code_name()
    lines = [f"{v} = {expr(op, args)}" for v, op, args in plan.pre]
    t = plan.t_var
    t_arg = idm.toindex.format(a=t) if plan.index_target else t
    kw = [(k, var.get(v, v) if isinstance(v, str) and v in ("w", "sw", "msw") else _fmt(v)) for k, v in plan.kwargs]
    if plan.api.is_class:
        init = {p.name for p in plan.api.init_params}
        args = ", ".join(f"{k}={v}" for k, v in kw if k in init)
        # a loss object is called with positional arrays (Gluon's Block.__call__ takes no keywords)
        order = [p.name for p in plan.api.call_params]
        rest = dict((k, v) for k, v in kw if k not in init)
        extra = []
        for name in order:
            if name in rest:
                extra.append(rest[name])
            elif any(o in rest for o in order[order.index(name) + 1 :]):
                extra.append("None")
        call = f"{callee}({args})({', '.join([*plan.api.pair(plan.x_var, t_arg), *extra])})"
    else:
        call = f"{callee}({', '.join([*plan.api.pair(plan.x_var, t_arg), *(f'{k}={v}' for k, v in kw)])})"
    lines.append(f"loss = {call}")
    lines += [f"{v} = {expr(op, args)}" for v, op, args in plan.post]
    lines = _inline(lines, callee)
    imports = [imp]
    body = "\n".join(lines)
    if plan.pre or plan.post or idm.toindex != "{a}":
        imports += [i for i in idm.imports if _used(i, body)]
    if "math." in body:
        imports.insert(0, "import math")
    return "\n".join([*dict.fromkeys(imports), *lines])


def _atomic(e: str) -> bool:
    """Whether ``e`` needs no parentheses inside a larger expression (a name, call, subscript)."""
    if re.fullmatch(r"[\w.]+", e):
        return True
    depth = 0
    for i, ch in enumerate(e):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth == 0 and i < len(e) - 1 and e[i + 1] not in ".([":
                return False
        elif depth == 0 and not (ch.isalnum() or ch in "_."):
            return False
    return True


def _inline(lines: list[str], callee: str) -> list[str]:
    """Fold each temporary used exactly once into its use (``d = x.shape[0]; d = max(d, 1);
    loss = loss / d`` becomes ``loss = loss / max(x.shape[0], 1)``)."""
    pairs = [tuple(line.split(" = ", 1)) for line in lines]
    changed = True
    while changed:
        changed = False
        for i, (v, e) in enumerate(pairs):
            if v == "loss":
                continue
            word = re.compile(rf"\b{re.escape(v)}\b")
            uses = []
            for j in range(i + 1, len(pairs)):
                uses += [j] * len(word.findall(pairs[j][1]))
                if pairs[j][0] == v:
                    break
            if len(uses) != 1:
                continue
            j = uses[0]
            if pairs[j][0] == "loss" and pairs[j][1].startswith(callee) and len(e) > 24:
                continue  # the loss API's own arguments stay readable
            use = pairs[j][1]
            whole = re.search(rf"(^|[(\[,] ?){re.escape(v)}(?= ?[),\]]|$)", use)  # a whole argument
            new = e if (_atomic(e) or whole) else f"({e})"
            line = word.sub(new.replace("\\", "\\\\"), use)
            if len(line) > 90:
                continue  # a line too long to read: keep the temporary
            pairs[j] = (pairs[j][0], line)
            del pairs[i]
            changed = True
            break
    return [f"{v} = {e}" for v, e in pairs]


def _used(import_line: str, body: str) -> bool:
    alias = import_line.split(" as ")[-1] if " as " in import_line else import_line.split()[-1].split(".")[0]
    return f"{alias}." in body


# --------------------------------------------------------------------------------------- port


@dataclass
class PortResult:
    """A port of one call to another dialect.

    Attributes
    ----------
    code : str
        A self-contained snippet in the target framework's idiom: reads ``x``, ``t`` (and the
        weights, under the source call's names) in the source layout, assigns ``loss`` in the
        source call's shape.  For an inexact port, the closest candidate.
    exact : bool
        Whether the translation agreed with the source dialect on every input of the battery.
    notes : list of str
        What was verified, or where and by how much the closest candidate differs.
    """

    source: str
    target: str
    code: str
    exact: bool
    notes: list[str] = field(default_factory=list)
    plans: dict[int, Plan] = field(default_factory=dict, repr=False)
    names: dict[str, str] = field(default_factory=dict, repr=False)

    def evaluate(self, x: Any, t: Any, w: Any = None, sw: Any = None) -> Any:
        """Run the translation (the target dialect and the same steps as :attr:`code`) on NumPy
        arrays in the source layout."""
        x = np.asarray(x)
        plan = self.plans.get(x.ndim) or self.plans.get(0)
        if plan is None:
            raise InvalidArgumentError(
                f"no translation for rank-{x.ndim} input; this port covers ranks {sorted(self.plans)}"
            )
        return run_plan(
            plan, x, np.asarray(t), None if w is None else np.asarray(w), None if sw is None else np.asarray(sw)
        )

    def __str__(self) -> str:
        head = [f"# {n}" for n in self.notes]
        return "\n".join([*head, self.code])


def _ndim(ndim: Any) -> int | None:
    if ndim is None:
        return None
    try:
        value = operator.index(ndim)
        if isinstance(ndim, bool):
            raise TypeError
    except TypeError:
        raise InvalidArgumentError(f"ndim must be an int in [1, {MAX_NDIM}] or None (any rank); got {ndim!r}") from None
    if not 1 <= value <= MAX_NDIM:
        raise InvalidArgumentError(f"ndim must be an int in [1, {MAX_NDIM}] or None (any rank); got {value}")
    return value


def _target_kind(target: Any) -> str | None:
    if target not in (None, "index", "probs"):
        raise InvalidArgumentError(f"target must be 'index', 'probs' or None (inferred); got {target!r}")
    return target  # type: ignore[no-any-return]


def _source(source: str, ndim: Any, target: Any, kwargs: dict[str, Any]) -> Source:
    if not isinstance(source, str):
        raise InvalidArgumentError(f"source must be a string 'dialect[.api]'; got {source!r}")
    api = find_api(source)
    return source_info(api, parse_kwargs(api, kwargs), _ndim(ndim), _target_kind(target))


def _ranks(ranks: tuple[int, ...]) -> str:
    if len(ranks) == 1:
        return f"rank {ranks[0]}"
    if ranks == tuple(range(ranks[0], ranks[-1] + 1)):
        return f"ranks {ranks[0]}-{ranks[-1]}"
    return "ranks " + ", ".join(map(str, ranks))


def port(
    source: str, target_dialect: str, /, *, ndim: int | None = None, target: str | None = None, **kwargs: Any
) -> PortResult:
    """The call in ``target_dialect`` that computes what ``source(**kwargs)`` computes, verified.

    Parameters
    ----------
    source : str
        ``"dialect"`` or ``"dialect.api"``, e.g. ``"chainer.softmax_cross_entropy"``.
    target_dialect : str
        The dialect to port to.
    ndim : int, optional
        The rank of the logits; ``None``: every rank 1-4 the source takes (a translation valid
        at every rank, or a message saying which ranks need which code).
    target : {"index", "probs"}, optional
        The kind of target, where only the arrays decide it (PyTorch, Chainer, BrainPy);
        otherwise inferred from the arguments (``sparse_label=False``, ``soft_label=True``).
    **kwargs
        The source call's arguments: Python values, or text as on the command line (``"false"``,
        ``"0.1"``); arrays by the name of their variable (``class_weight="w"``).

    Returns
    -------
    PortResult
        ``.exact`` only if the translation agreed with the source dialect, in float64, on every
        input of a random battery covering the call's regime.

    Examples
    --------
    >>> from unified_ce import port
    >>> r = port("chainer", "torch", ndim=4, normalize=False, class_weight="w")
    >>> r.exact
    True
    >>> print(r.code)
    import torch.nn.functional as F
    loss = F.cross_entropy(x, t.long(), weight=w, ignore_index=-1, reduction='sum')
    loss = loss / max(x.shape[0], 1)
    """
    src = _source(source, ndim, target, kwargs)
    if not isinstance(target_dialect, str) or target_dialect not in dialects():
        from ._args import suggest

        raise InvalidArgumentError(
            f"unknown target dialect {target_dialect!r}{suggest(str(target_dialect), dialects())}; "
            f"expected one of {', '.join(dialects())}"
        )
    names = src.array_names()
    exact, tried, reason = search(src, target_dialect)
    where = _ranks(src.ranks)
    if exact is not None:
        n = exact.checked
        prec = "float32, as the source computes" if any(i.f32 for i in src.infos) else "float64"
        notes = [f"exact: agrees with {src.text()} on all {n} inputs of the battery ({where}, {prec})"]
        notes += _caveats(src, exact.plan)
        return PortResult(src.text(), target_dialect, emit(exact.plan, names), True, notes, {0: exact.plan}, names)
    if len(src.ranks) > 1:  # maybe each rank has its own exact translation
        groups = _per_rank(src, tried)
        if groups:
            notes = [
                f"no translation to {target_dialect} of {src.text()} is exact at every rank ({where}); "
                "it depends on the rank (give ndim):"
            ]
            plans: dict[int, Plan] = {}
            for ranks, plan in groups:
                notes.append(f"{_ranks(ranks)}: " + ("no exact equivalent" if plan is None else "exact:"))
                if plan is not None:
                    notes += ["    " + line for line in emit(plan, names).splitlines()]
                    plans.update(dict.fromkeys(ranks, plan))
            top = max((p for _, p in groups if p is not None), key=lambda p: sum(q is p for q in plans.values()))
            return PortResult(src.text(), target_dialect, emit(top, names), False, notes, plans, names)
    notes = [f"no exact equivalent of {src.text()} in {target_dialect} ({where})"]
    if reason:
        notes.append(f"reason: {reason}")
        return PortResult(src.text(), target_dialect, "", False, notes, {}, names)
    best = closest(tried, battery(src))
    notes.append(f"closest candidate (differs on {len(best.failures)} of {best.checked} inputs):")
    for case, how in best.failures[:6]:
        notes.append(f"  {case}: {how}")
    if len(best.failures) > 6:
        notes.append(f"  ... and {len(best.failures) - 6} more")
    return PortResult(src.text(), target_dialect, emit(best.plan, names), False, notes, {0: best.plan}, names)


def _per_rank(src: Source, tried: list[Verdict]) -> list[tuple[tuple[int, ...], Plan | None]]:
    """Group the ranks by an exact translation valid at all of them (fewest groups first)."""
    useful = [v for v in tried if v.exact_ranks]
    if not useful:
        return []
    out: list[tuple[tuple[int, ...], Plan | None]] = []
    left = set(src.ranks)
    while left:
        best = max(useful, key=lambda v: (len(v.exact_ranks & left), -v.plan.cost[0]))
        got = tuple(r for r in src.ranks if r in best.exact_ranks and r in left)
        if not got:
            break
        out.append((got, best.plan))
        left -= set(got)
    if left:
        out.append((tuple(sorted(left)), None))
    return sorted(out, key=lambda g: g[0])


def _caveats(src: Source, plan: Plan) -> list[str]:
    """What the battery does not exercise but the specs say differs (Paddle's CPU softmax clip)."""
    from ._engine import probe, unreduced_empty_batch

    S = src.infos[0].spec
    out: list[str] = []
    if unreduced_empty_batch(src):
        out.append(
            "except an empty batch (N=0), where the source returns the empty per-item losses unreduced "
            "(Keras's reduce_values) and the port a 0-d result"
        )
    t = probe(
        plan.api,
        plan.kwargs if "msw" not in dict(plan.kwargs).values() else (),
        src.infos[0].ndim,
        "probs" if not plan.index_target else "index",
    )
    T = t.spec if t else None
    clip_s, clip_t = S.min_shifted_logit, T.min_shifted_logit if T else None
    if clip_s != clip_t:
        m = clip_s if clip_s is not None else clip_t
        assert m is not None
        out.append(
            f"except where a logit is more than {-m:g} below its row's maximum: one side clips the shifted "
            "logits there (Paddle's CPU softmax); the battery's logits stay within that range"
        )
    return out


# ------------------------------------------------------------------------------------ explain


def explain(name: str, /, *, ndim: int | None = None, target: str | None = None, **kwargs: Any) -> str:
    """What a dialect call computes, in plain words (and at which ranks that holds).

    Parameters
    ----------
    name : str
        ``"<dialect>"`` or ``"<dialect>.<api>"``, e.g. ``"chainer.softmax_cross_entropy"``.
    ndim : int, optional
        The rank of the logits; ``None``: every rank 1-4 the call takes.
    target : {"index", "probs"}, optional
        The kind of target where only the arrays decide it; inferred from the arguments otherwise.
    **kwargs
        The call's arguments, parsed as by :func:`port`.

    Examples
    --------
    >>> from unified_ce import explain
    >>> print(explain("chainer.softmax_cross_entropy", normalize=False))  # doctest: +NORMALIZE_WHITESPACE
    chainer.softmax_cross_entropy(normalize=False) (ranks 2-4): softmax cross-entropy over axis 1 of the logits;
    targets: integer class labels; items labelled -1 are ignored;
    reduction: the sum divided by the size of axis 0 (the batch) (0 when that is 0).
    """
    src = _source(name, ndim, target, kwargs)
    texts: dict[str, list[int]] = {}
    for info in src.infos:
        text = info.spec.describe(class_weight=info.cw)
        if info.sw:
            text = text[:-1] + "; per-sample weights multiply each item's loss."
        if info.shift:
            text = (
                text[:-1] + f"; the labels are first shifted one token left along their last axis (token i is "
                f"scored against label i + 1, the last token against {info.spec.ignore_index}, i.e. nothing)."
            )
        if info.f32 and info.spec.compute_dtype != "float32":
            text = text[:-1] + "; computed and returned in float32 whatever the dtype of the inputs."
        texts.setdefault(text, []).append(info.ndim)
    if len(texts) == 1:
        ((text, ranks),) = texts.items()
        return f"{src.text()} ({_ranks(tuple(ranks))}): {text}"
    lines = [f"{src.text()}: depends on the rank of the logits:"]
    lines += [f"  {_ranks(tuple(r))}: {t}" for t, r in texts.items()]
    return "\n".join(lines)


_ = (Api, battery)
