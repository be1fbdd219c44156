"""Replaying golden cases against an implementation, and reporting what differs."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ._arrays import LIBRARIES, from_numpy, to_numpy
from ._select import (
    SAMPLED_LIBRARIES,
    UsageError,
    case_features,
    case_kind,
    covering_sample,
    infer_array,
    load_cases,
    recorded_apis,
    resolve,
    select,
    suggest,
)

__all__ = ["CaseResult", "Report", "UsageError", "applies", "check", "resolve", "run_case", "tolerance"]

#: Stop a run once this many value cases in a row raised from the start: the arrays (or the
#: implementation) are of the wrong kind, and a score would mislead.
_ALL_RAISED_STOP = 10
#: Stop a run after this many cases timed out.
_TIMEOUT_STOP = 3


def tolerance(dtype: Any) -> tuple[float, float]:
    """``(rtol, atol)`` for comparing results computed in ``dtype``; atol scales with max(1, |expected|)."""
    dt = np.dtype(dtype)
    if dt == np.float64:
        return 1e-9, 1e-11
    if dt == np.float32:
        return 2e-5, 2e-6
    return 1e-2, 1e-3


@dataclass
class CaseResult:
    """The outcome of one golden case."""

    case_id: str
    kind: str  # "value" (valid input), "error" (the framework refused), "invalid" (it returned a number)
    value_ok: bool | None = None  # None: not checked
    grad_ok: bool | None = None
    error_ok: bool | None = None
    detail: str = ""
    features: list[str] = field(default_factory=list)  # tags and named arguments (for grouping failures)
    raised: bool = False  # a value case on which the implementation raised

    @property
    def ok(self) -> bool:
        return all(v is not False for v in (self.value_ok, self.grad_ok, self.error_ok))


@dataclass
class Report:
    """All results of one implementation on one dialect's golden cases, fed arrays of one library."""

    dialect: str
    impl: str
    array: str
    results: list[CaseResult] = field(default_factory=list)
    skipped: int = 0  # cases that do not apply to this implementation (e.g. functional cases for a class)
    seconds: float = 0.0
    selected: int = 0  # cases chosen (after --api / --tags filters and sampling)
    total: int = 0  # cases before sampling (after the filters)
    problem: str = ""  # why the run stopped early (every case raised, timeouts)

    def counts(self) -> dict[str, tuple[int, int]]:
        """``{"values": (passed, total), "gradients": ..., "errors": ...}``."""
        out = {}
        for name, attr in (("values", "value_ok"), ("gradients", "grad_ok"), ("errors", "error_ok")):
            checked = [getattr(r, attr) for r in self.results if getattr(r, attr) is not None]
            out[name] = (sum(checked), len(checked))
        return out

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failures and bool(self.results) and not self.problem

    @property
    def sampled(self) -> bool:
        """Whether only a covering sample of the cases ran (``full=False`` on JAX or Dask)."""
        return self.selected < self.total

    def to_dict(self, *, all_results: bool = False) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "impl": self.impl,
            "array": self.array,
            "ok": self.ok,
            "problem": self.problem,
            "counts": {k: {"passed": p, "total": t} for k, (p, t) in self.counts().items()},
            "skipped": self.skipped,
            "selected": self.selected,
            "total": self.total,
            "seconds": round(self.seconds, 3),
            "failures": [asdict(r) for r in self.failures],
            "shared_by_failures": self.failure_groups(),
            **({"results": [asdict(r) for r in self.results]} if all_results else {}),
        }

    def _results_text(self) -> str:
        cells = "  ".join(f"{k} {p}/{t}" for k, (p, t) in self.counts().items())
        verdict = "ok" if self.ok else ("STOPPED" if self.problem else "FAIL")
        sample = f"  (sample of {self.selected}/{self.total} cases)" if self.sampled else ""
        return f"{cells}  {verdict}{sample}"

    def summary_line(self) -> str:
        """``dialect  array  values p/t  gradients p/t  errors p/t  ok|FAIL|STOPPED``."""
        return f"{self.dialect:8s} {self.array:17s} {self._results_text()}"

    def failure_groups(self, limit: int = 5) -> list[dict[str, Any]]:
        """What the failing cases share: for each tag or named argument carried by at least a quarter
        of the failures, 1.5 times as often as by the cases run (and not by every case), ``{"feature", "failures", "of_failures", "cases"}``, most
        shared first."""
        fails = self.failures
        if not fails:
            return []
        in_fails = Counter(f for r in fails for f in r.features)
        in_all = Counter(f for r in self.results for f in r.features)
        rows: list[dict[str, Any]] = [
            {"feature": f, "failures": n, "of_failures": len(fails), "cases": in_all[f]}
            for f, n in in_fails.items()
            if 4 * n >= len(fails)
            and n >= min(2, len(fails))
            and in_all[f] < len(self.results)
            # much more common among the failures than among all the cases run
            and n * len(self.results) >= 1.5 * in_all[f] * len(fails)
        ]
        rows.sort(key=lambda r: (-r["failures"], r["cases"], r["feature"]))
        return rows[:limit]

    def format(self, max_failures: int = 10) -> str:
        """A readable report: the summary, the first ``max_failures`` failures in full (all with a
        negative number), and what the failures share."""
        lines = [f"{self.impl} against the {self.dialect} golden cases, {self.array} arrays: {self._results_text()}"]
        if self.problem:
            lines.append(f"STOPPED: {self.problem}")
        if self.problem:  # the failures all say the same: show one
            max_failures = min(max_failures, 1) if max_failures >= 0 else 1
        shown = self.failures if max_failures < 0 else self.failures[:max_failures]
        for r in shown:
            lines.append(f"FAIL {r.case_id} [{r.kind}]\n{r.detail}")
        if len(self.failures) > len(shown):
            lines.append(f"... and {len(self.failures) - len(shown)} more failures (-v or --json for all)")
        groups = [] if self.problem else self.failure_groups()
        if groups:
            lines.append("What the failures share:")
            for g in groups:
                lines.append(
                    f"  {g['failures']} of {g['of_failures']} failures have {g['feature']}"
                    f" ({g['cases']} of {len(self.results)} cases do)"
                )
        if self.sampled:
            lines.append(
                f"(a sample of {self.selected} of {self.total} cases covering every API, tag and argument ran: "
                "--full runs all)"
            )
        return "\n".join(lines)


def _summary(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"{v.dtype}{tuple(v.shape)}"
    return repr(v)


def _inputs_summary(case: dict[str, Any]) -> str:
    parts = [_summary(a) for a in case["args"]]
    parts += [f"{k}={_summary(v)}" for k, v in case["kwargs"].items()]
    if case.get("init"):
        parts.insert(0, "init(" + ", ".join(f"{k}={_summary(v)}" for k, v in case["init"].items()) + ")")
    return ", ".join(parts)


def _short(a: np.ndarray) -> str:
    with np.printoptions(precision=8, threshold=12, edgeitems=3):
        return f"{a.dtype} {tuple(a.shape)} {a}"


def _compare(got: np.ndarray, expected: np.ndarray, tol_dtype: Any, what: str) -> str:
    """'' if equal within tolerance (NaN positions exactly), else a readable explanation."""
    if got.shape != expected.shape:
        return f"  {what}: shape {got.shape}, expected {expected.shape}"
    if expected.dtype.kind == "f" and got.dtype.kind in "fc":
        rtol, atol = tolerance(tol_dtype)
        g, e = got.astype(np.float64), expected.astype(np.float64)
        scale = float(np.nanmax(np.abs(np.where(np.isinf(e), 0, e)), initial=1.0)) if e.size else 1.0
        if not np.array_equal(np.isnan(g), np.isnan(e)):
            return (
                f"  {what}: NaN where a number was expected or the reverse\n    expected {_short(expected)}\n"
                f"    got      {_short(got)}"
            )
        if np.allclose(g, e, rtol=rtol, atol=atol * max(1.0, scale), equal_nan=True):
            return ""
        err = float(np.nanmax(np.abs(g - e))) if e.size else 0.0
        return (
            f"  {what}: values differ (max abs error {err:.3g}; tolerance rtol={rtol:g}, "
            f"atol={atol:g}*max(1,|expected|), {np.dtype(tol_dtype)})\n"
            f"    expected {_short(expected)}\n    got      {_short(got)}"
        )
    return "" if np.array_equal(got, expected) else f"  {what}: expected {_short(expected)}, got {_short(got)}"


def pending_reason(pending: dict[str, str], case_id: str) -> str | None:
    """Why a dialect cannot run a golden case yet (its ``GOLDEN_PENDING``: case id -> reason; a key
    ending in ``*`` is a prefix of case ids), or None."""
    for key, reason in pending.items():
        if case_id == key or (key.endswith("*") and case_id.startswith(key[:-1])):
            return reason
    return None


def _least_precise(case: dict[str, Any]) -> np.dtype[Any]:
    """The least precise floating dtype among a case's array arguments (it bounds the framework's error),
    or the case's ``tolerance_dtype`` where the recorder says the framework computes less precisely
    than its dtype (MLX's float64 ``exp`` on the CPU: relative error ~6e-7)."""
    if case.get("tolerance_dtype"):
        return np.dtype(case["tolerance_dtype"])
    floats = [a.dtype for a in case["args"] if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    return min(floats, key=lambda d: d.itemsize) if floats else np.dtype(np.float64)


def _library_of(a: Any) -> str:
    return type(a).__module__.split(".")[0]


def _is_lazy(a: Any) -> bool:
    """A result whose values are unknown until computed (a Dask array, a JAX tracer): there a refusal
    may show as NaN instead of an exception."""
    if _library_of(a) == "dask":
        return True
    return "Tracer" in type(a).__name__ and _library_of(a) in ("jax", "jaxlib")


def _has_nan(a: np.ndarray) -> bool:
    return a.dtype.kind in "fc" and bool(np.isnan(a).any())


def _clip(exc: BaseException, n: int = 300) -> str:
    text = str(exc).strip().replace("\n", " ")
    return text if len(text) <= n else text[: n - 3] + "..."


class _BadResult(Exception):
    """The implementation's result is not an array of numbers."""


def _result_to_numpy(a: Any) -> np.ndarray:
    """An implementation's result as a numeric NumPy array, or :class:`_BadResult` saying why not."""
    if a is None or isinstance(a, (str, bytes, dict, set)):
        raise _BadResult(f"returned {type(a).__name__} {a!r:.60}, expected an array")
    try:
        out = to_numpy(a)
    except Exception as exc:
        raise _BadResult(
            f"returned a {type(a).__name__} that could not be converted to NumPy: {type(exc).__name__}: {_clip(exc)}"
        ) from None
    if out.dtype.kind not in "biufc":
        raise _BadResult(f"returned {type(a).__name__} with {out.dtype} values, expected an array of numbers")
    return out


class _Runner:
    def __init__(self, dialect: str, impl: Any, array: str, ours: bool, deviations: dict[str, str]) -> None:
        self.dialect, self.impl, self.array, self.ours, self.deviations = dialect, impl, array, ours, deviations
        self.module = importlib.import_module(f"unified_ce.adapters.{dialect}") if ours else None
        self.name = f"unified_ce.adapters.{dialect}" if ours else _qualname(impl)
        self.pending: dict[str, str] = getattr(self.module, "GOLDEN_PENDING", {})
        #: an outside implementation named like one of the golden file's APIs runs only its cases
        self.only_api: str | None = None

    def target(self, case: dict[str, Any]) -> Any:
        """The callable for a case, or None when the case does not apply to this implementation."""
        if self.only_api is not None and case["api"] != self.only_api:
            return None
        if self.ours:
            obj = getattr(self.module, case["api"])
        else:
            obj = self.impl
        is_class = inspect.isclass(obj)
        if is_class != (case.get("init") is not None):
            return None
        if is_class:
            init = {k: from_numpy(self.array, v) if isinstance(v, np.ndarray) else v for k, v in case["init"].items()}
            inst = obj(**init)
            return getattr(inst, case.get("method") or "__call__")
        if case.get("method", "__call__") not in (None, "__call__"):
            return None
        return obj

    def call(self, fn: Any, case: dict[str, Any], x: Any) -> Any:
        wrt = case.get("wrt", 0)
        args = [from_numpy(self.array, a) if isinstance(a, np.ndarray) else a for a in case["args"]]
        args[wrt] = x
        kwargs = {k: from_numpy(self.array, v) if isinstance(v, np.ndarray) else v for k, v in case["kwargs"].items()}
        return fn(*args, **kwargs)

    def run(self, case: dict[str, Any]) -> CaseResult | None:
        expect = case["expect"]
        kind = case_kind(case)
        res = CaseResult(case["id"], kind, features=case_features(case))
        head = f"  inputs: {_inputs_summary(case)}"
        wrt = case.get("wrt", 0)  # the differentiated argument (Keras, tf.nn: the target comes first)
        x_np = case["args"][wrt]
        if self.ours and pending_reason(self.pending, case["id"]) is not None:
            return None  # the dialect cannot run this case yet (GOLDEN_PENDING, with the reason)
        if not _representable(case, self.array):
            return None  # e.g. float16 inputs: the array API standard (array_api_strict) has no float16
        try:
            fn = self.target(case)
            if fn is None:
                return None
            x = from_numpy(self.array, x_np) if isinstance(x_np, np.ndarray) else x_np
            if self.array == "torch" and kind == "value" and expect.get("grad") is not None and x_np.size:
                x = x.requires_grad_(True)
            out = self.call(fn, case, x)
        except Exception as exc:  # the implementation refused the input
            if kind == "value":
                res.value_ok, res.raised = False, True
                res.detail = f"{head}\n  raised {type(exc).__name__}: {_clip(exc)}\n  expected a value"
            else:
                res.error_ok = True
            return res
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        try:  # the result may be None, a string, or an object whose conversion raises
            got = [_result_to_numpy(o) for o in outs]
        except _BadResult as exc:
            if kind == "value":
                res.value_ok = False
            else:
                res.error_ok = False
            res.detail = f"{head}\n  {exc}"
            return res
        lazy = any(_is_lazy(o) for o in outs)
        if kind == "error":
            if self.ours and case["id"] in self.deviations:
                res.error_ok = True
                res.detail = f"  accepted on purpose: {self.deviations[case['id']]}"
            elif lazy and any(_has_nan(g) for g in got):
                res.error_ok = True  # values are checked when computed: a bad label gives NaN (documented)
            else:
                res.error_ok = False
                err = expect["error"]
                res.detail = f"{head}\n  the framework raised {err['type']}: {err['message']}\n  got a value instead"
            return res
        expected = expect["output"] if isinstance(expect["output"], list) else [expect["output"]]
        tol_dtype = _least_precise(case)
        if kind == "invalid":
            # raising is the right answer, and so is the framework's own number; only a lazy library
            # (values unknown until computed) may stand for the refusal with NaN
            same = len(got) == len(expected) and not any(_compare(g, e, tol_dtype, "") for g, e in zip(got, expected))
            res.error_ok = same or (lazy and _has_nan(got[0]))
            if not res.error_ok:
                res.detail = (
                    f"{head}\n  invalid input ({case['invalid']}) gave {_short(got[0])}; "
                    f"the framework gave {_short(expected[0])}"
                )
            return res
        msgs = []
        if len(got) != len(expected):
            msgs.append(f"  {len(got)} outputs, expected {len(expected)}")
        for i, (g, e) in enumerate(zip(got, expected)):
            if g.dtype != e.dtype:
                msgs.append(f"  output {i}: dtype {g.dtype}, expected {e.dtype}")
            m = _compare(
                g, e, np.result_type(tol_dtype) if tol_dtype.itemsize <= e.dtype.itemsize else e.dtype, f"output {i}"
            )
            if m:
                msgs.append(m)
        res.value_ok = not msgs
        g_expected = expect.get("grad")
        if g_expected is not None and x_np.size:
            try:
                grad, how = self.gradient(fn, case, x, outs[0])
                grad_np = None if grad is None else _result_to_numpy(grad)
            except Exception as exc:  # the implementation's autodiff failed
                grad_np, how = None, ""
                res.grad_ok = False
                msgs.append(f"  gradient: raised {type(exc).__name__}: {_clip(exc)}")
            if grad_np is not None:
                m = _compare(grad_np, g_expected, tol_dtype, f"gradient ({how})")
                res.grad_ok = not m
                if m:
                    msgs.append(m)
        if msgs:
            res.detail = head + "\n" + "\n".join(msgs)
        return res

    def gradient(self, fn: Any, case: dict[str, Any], x: Any, first: Any) -> tuple[Any, str]:
        go_np = case.get("grad_output")
        lib = _library_of(first)
        if lib == "torch" and getattr(first, "requires_grad", False):
            import torch

            go = torch.ones_like(first) if go_np is None else from_numpy("torch", go_np).to(first.dtype)
            (g,) = torch.autograd.grad(first, x, go, allow_unused=True)
            return (torch.zeros_like(x) if g is None else g), "torch autograd"
        if lib in ("jax", "jaxlib"):
            import jax

            def f(x: Any) -> Any:
                out = self.call(fn, case, x)
                return out[0] if isinstance(out, (tuple, list)) else out

            def vjp(x: Any, go: Any) -> Any:
                return jax.vjp(f, x)[1](go)[0]

            x0 = from_numpy("jax", case["args"][case.get("wrt", 0)])
            go = jax.numpy.ones_like(first) if go_np is None else from_numpy("jax", go_np).astype(first.dtype)
            try:  # one compiled program (an eager vjp of a JAX function compiles every step of it)
                return jax.jit(vjp)(x0, go), "jax.vjp"
            except Exception:  # not traceable under jit (e.g. eager label checks): eager vjp
                return vjp(x0, go), "jax.vjp"
        vag = getattr(fn, "value_and_grad", None) or getattr(getattr(fn, "__self__", None), "value_and_grad", None)
        if vag is not None and (case.get("method") in (None, "__call__")):
            args = [from_numpy(self.array, a) if isinstance(a, np.ndarray) else a for a in case["args"]]
            kwargs = {
                k: from_numpy(self.array, v) if isinstance(v, np.ndarray) else v for k, v in case["kwargs"].items()
            }
            go = None if go_np is None else from_numpy(self.array, go_np)
            return vag(*args, grad_output=go, **kwargs)[1], "value_and_grad"
        return None, ""


def check(
    dialect: str,
    impl: Any = None,
    array: str | None = None,
    *,
    cases: list[dict[str, Any]] | None = None,
    api: str | None = None,
    tags: Iterable[str] | None = None,
    skip_tags: Iterable[str] | None = None,
    full: bool = True,
    timeout: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Run a dialect's golden cases against an implementation.

    Parameters
    ----------
    dialect : str
        ``"torch"``, ``"chainer"``, ``"mxnet"``, ``"paddle"``, ``"brainpy"``, or any other dialect
        with a golden file.
    impl : callable, class, or str, optional
        The implementation under test: a function called like the dialect's functional API, or a
        loss class constructed with the case's ``init`` and called like the dialect's loss object;
        ``"module:attr"`` imports it (the current directory first).  Default: unified_ce's own
        dialect.  An implementation named like one of the recorded APIs runs that API's cases;
        otherwise a class runs the cases recorded through a loss class, a function those recorded
        through a function.
    array : str, optional
        The array library fed to the implementation (``numpy``, ``torch``, ``jax``, ``cupy``,
        ``dask``, ``array_api_strict``).  Default: the library the implementation belongs to
        (a ``torch`` function gets torch tensors, an ``optax`` one JAX arrays; see
        :func:`~unified_ce.conformance.infer_array`), NumPy for unified_ce's own dialects.
    cases : list, optional
        The cases to run (default: the golden file shipped with unified_ce).
    api : str, optional
        Only the cases recorded through this API name.  Default: for an ``impl`` named like one of the
        dialect's APIs (``keras.losses:SparseCategoricalCrossentropy``), that API's cases; else all.
    tags, skip_tags : iterable of str, optional
        Only the cases carrying any of ``tags``; none carrying any of ``skip_tags`` (``"a,b"``
        strings are split at commas).  ``python -m unified_ce conformance --dialect D --list-tags``
        lists a dialect's tags.
    full : bool
        ``False``: on JAX and Dask (a compilation or a task graph per case) run a sample of the cases
        that covers every API, kind of case, tag and named argument.  Default ``True``: every case.
    timeout : float, optional
        Seconds one case may take; a case that takes longer fails (its call is abandoned in a
        background thread) and the run stops after three such cases.  Default: no limit.
    progress : callable, optional
        Called as ``progress(done, total)`` after each case.

    Returns
    -------
    Report
        Per-case results; ``report.ok`` is true when every applicable case passed.  When every value
        case raised (arrays of a library the implementation does not take), the run stops early and
        ``report.problem`` says so.

    Raises
    ------
    UsageError
        An unknown dialect, array library, API or tag, or an ``impl`` string that cannot be imported
        (the message names the valid choices and the closest one).

    Examples
    --------
    >>> from unified_ce.conformance import check
    >>> report = check("torch", api="cross_entropy")
    >>> report.ok, report.counts()["values"][0] > 50
    (True, True)
    """
    runner, cases = _prepare(dialect, impl, array, cases)
    array, name = runner.array, runner.name
    if api is None:
        api = runner.only_api
    cases = select(cases, dialect, api=api, tags=tags, skip_tags=skip_tags)
    report = Report(dialect, name, array, total=len(cases))
    if not full and array in SAMPLED_LIBRARIES:  # cover with the cases that run (pending ones are skipped)
        runs = [c for c in cases if not (runner.ours and pending_reason(runner.pending, c["id"]) is not None)]
        cases = covering_sample(runs)
    report.selected = len(cases)
    t0 = time.perf_counter()
    timeouts = 0
    with _quiet(), _jax_x64(array):
        for i, case in enumerate(cases):
            if timeout is None:
                r = runner.run(case)
            else:
                r = _run_with_timeout(runner, case, timeout)
                if r is not None and r.detail.startswith("  timed out"):
                    timeouts += 1
            if r is None:
                report.skipped += 1
            else:
                report.results.append(r)
            if progress is not None:
                progress(i + 1, len(cases))
            if timeouts >= _TIMEOUT_STOP:
                report.problem = f"{timeouts} cases took longer than the {timeout:g} s timeout; the run stopped"
                break
            values = [r for r in report.results if r.kind == "value"]
            if len(values) >= _ALL_RAISED_STOP and all(r.raised for r in values):
                first = values[0].detail.split("\n")[1].strip().removeprefix("raised ")
                report.problem = (
                    f"every case raised (the first: {first}): are the arrays of the right library? "
                    f"The implementation was given {array} arrays; choose another with --array / array="
                )
                break
    report.seconds = time.perf_counter() - t0
    return report


def _prepare(
    dialect: str, impl: Any, array: str | None, cases: list[dict[str, Any]] | None
) -> tuple[_Runner, list[dict[str, Any]]]:
    """The runner (implementation resolved, array library chosen) and the dialect's cases."""
    if cases is None:
        cases = load_cases(dialect)
    ours = impl is None
    obj = None if ours else resolve(impl)
    if array is None:
        array = "numpy" if ours else infer_array(obj)
    if array not in LIBRARIES:
        raise UsageError(suggest(array, "array library", LIBRARIES))
    name = f"unified_ce.adapters.{dialect}" if ours else (impl if isinstance(impl, str) else _qualname(obj))
    deviations: dict[str, str] = {}
    grad_deviations: dict[str, str] = {}
    if ours:
        try:
            module = importlib.import_module(f"unified_ce.adapters.{dialect}")
        except ModuleNotFoundError:
            from ..adapters import DIALECTS

            raise UsageError(suggest(dialect, "dialect of unified_ce", DIALECTS)) from None
        deviations = getattr(module, "GOLDEN_DEVIATIONS", {})
        grad_deviations = getattr(module, "GOLDEN_GRAD_DEVIATIONS", {})
    if grad_deviations:  # the framework's backward is not the derivative of its own forward there (documented)
        cases = [
            {**c, "expect": {**c["expect"], "grad": c["expect"]["grad_of_forward"]}}
            if c["id"] in grad_deviations
            else c
            for c in cases
        ]
    runner = _Runner(dialect, obj, array, ours, deviations)
    runner.name = name
    if not ours:
        # a golden file holds several APIs (cross_entropy and nll_loss, ...): an implementation named
        # like one of them (torch.nn.functional.nll_loss, keras...:SparseCategoricalCrossentropy) runs
        # that API's cases only; one of another name runs every case of its kind (class or function)
        own = getattr(obj, "__name__", None)
        try:
            recorded = set(recorded_apis(dialect))
        except UsageError:
            recorded = {c["api"] for c in cases}
        runner.only_api = own if own in recorded else None
    return runner, cases


def run_case(
    dialect: str, impl: Any, case: dict[str, Any], array: str | None = None, *, timeout: float | None = None
) -> CaseResult | None:
    """One golden case against an implementation (as :func:`check` runs it); ``None`` when the
    case does not apply (a functional case for a loss class, float16 on array-api-strict)."""
    runner, _ = _prepare(dialect, impl, array, [case])
    with _quiet(), _jax_x64(runner.array):
        return runner.run(case) if timeout is None else _run_with_timeout(runner, case, timeout)


def applies(impl: Any, case: dict[str, Any], apis: Iterable[str] = ()) -> bool:
    """Whether a case applies to a third-party implementation: cases recorded through a loss class
    for a class, those recorded through a function (``__call__``) for a function; and when the
    implementation is named like one of ``apis`` (the APIs of the golden file), only that API's."""
    own = getattr(impl, "__name__", None)
    if own is not None and own in set(apis) and case["api"] != own:
        return False
    if inspect.isclass(impl):
        return case.get("init") is not None
    return case.get("init") is None and case.get("method", "__call__") in (None, "__call__")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def _jax_x64(array: str) -> Iterator[None]:
    """JAX's 64-bit mode on while golden float64 cases run on JAX arrays, restored afterwards (the
    flag is process-wide: the caller's own JAX code must not see it change)."""
    if array != "jax":
        yield
        return
    import jax

    before = bool(jax.config.read("jax_enable_x64"))
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", before)


def _run_with_timeout(runner: _Runner, case: dict[str, Any], timeout: float) -> CaseResult | None:
    """``runner.run(case)`` in a daemon thread; a case that does not finish in time fails."""
    box: list[Any] = []

    def work() -> None:
        try:
            with _quiet():
                box.append(runner.run(case))
        except BaseException as exc:  # never lose a crash of the runner itself
            box.append(exc)

    t = threading.Thread(target=work, name=f"unified_ce-case-{case['id']}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        res = CaseResult(case["id"], case_kind(case), features=case_features(case))
        if res.kind == "value":
            res.value_ok = False
        else:
            res.error_ok = False
        res.detail = f"  timed out: no result within {timeout:g} s\n  inputs: {_inputs_summary(case)}"
        return res
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]  # type: ignore[no-any-return]


def _representable(case: dict[str, Any], array: str) -> bool:
    """Whether every input array of ``case`` has a dtype that ``array`` supports."""
    if array != "array_api_strict":
        return True
    arrays = [*case["args"], *case["kwargs"].values(), *(case.get("init") or {}).values()]
    return not any(isinstance(a, np.ndarray) and a.dtype == np.float16 for a in arrays)


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
