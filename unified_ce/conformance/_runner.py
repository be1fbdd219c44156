"""Replaying golden cases against an implementation, and reporting what differs."""

from __future__ import annotations

import importlib
import inspect
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import _format
from ._arrays import from_numpy, to_numpy

__all__ = ["CaseResult", "Report", "check", "resolve", "tolerance"]


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
        return not self.failures and bool(self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "impl": self.impl,
            "array": self.array,
            "ok": self.ok,
            "counts": {k: {"passed": p, "total": t} for k, (p, t) in self.counts().items()},
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "failures": [asdict(r) for r in self.failures],
        }

    def summary_line(self) -> str:
        c = self.counts()
        cells = "  ".join(f"{k} {p}/{t}" for k, (p, t) in c.items())
        return f"{self.dialect:8s} {self.array:17s} {cells}  {'ok' if self.ok else 'FAIL'}"

    def format(self, max_failures: int = 20) -> str:
        lines = [f"{self.impl} against the {self.dialect} golden cases, {self.array} arrays: " + self.summary_line()]
        for r in self.failures[:max_failures]:
            lines.append(f"FAIL {r.case_id} [{r.kind}]\n{r.detail}")
        if len(self.failures) > max_failures:
            lines.append(f"... and {len(self.failures) - max_failures} more failures")
        return "\n".join(lines)


def resolve(impl: Any) -> Any:
    """``"module:attr"`` (or ``"module.attr"``) to the object; anything else is returned unchanged."""
    if not isinstance(impl, str):
        return impl
    mod, sep, attr = impl.partition(":")
    if not sep:
        mod, _, attr = impl.rpartition(".")
    obj: Any = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


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


def _least_precise(case: dict[str, Any]) -> np.dtype[Any]:
    """The least precise floating dtype among a case's array arguments (it bounds the framework's error)."""
    floats = [a.dtype for a in case["args"] if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    return min(floats, key=lambda d: d.itemsize) if floats else np.dtype(np.float64)


def _library_of(a: Any) -> str:
    return type(a).__module__.split(".")[0]


class _Runner:
    def __init__(self, dialect: str, impl: Any, array: str, ours: bool, deviations: dict[str, str]) -> None:
        self.dialect, self.impl, self.array, self.ours, self.deviations = dialect, impl, array, ours, deviations
        self.module = importlib.import_module(f"unified_ce.adapters.{dialect}") if ours else None

    def target(self, case: dict[str, Any]) -> Any:
        """The callable for a case, or None when the case does not apply to this implementation."""
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
        args = [x] + [from_numpy(self.array, a) if isinstance(a, np.ndarray) else a for a in case["args"][1:]]
        kwargs = {k: from_numpy(self.array, v) if isinstance(v, np.ndarray) else v for k, v in case["kwargs"].items()}
        return fn(*args, **kwargs)

    def run(self, case: dict[str, Any]) -> CaseResult | None:
        expect = case["expect"]
        kind = "error" if "error" in expect else ("invalid" if case.get("invalid") else "value")
        res = CaseResult(case["id"], kind)
        head = f"  inputs: {_inputs_summary(case)}"
        x_np = case["args"][0]
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
                res.value_ok = False
                res.detail = f"{head}\n  raised {type(exc).__name__}: {exc}\n  expected a value"
            else:
                res.error_ok = True
            return res
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        if kind == "error":
            if self.ours and case["id"] in self.deviations:
                res.error_ok = True
                res.detail = f"  accepted on purpose: {self.deviations[case['id']]}"
            elif self.array == "dask" and any(np.isnan(to_numpy(o)).any() for o in outs):
                res.error_ok = True  # values are checked when computed: a bad label gives NaN (documented)
            else:
                res.error_ok = False
                err = expect["error"]
                res.detail = f"{head}\n  the framework raised {err['type']}: {err['message']}\n  got a value instead"
            return res
        got = [to_numpy(o) for o in outs]
        expected = expect["output"] if isinstance(expect["output"], list) else [expect["output"]]
        tol_dtype = _least_precise(case)
        if kind == "invalid":
            # raising is the right answer; a lazy library may defer the check and give NaN
            same = len(got) == len(expected) and not any(_compare(g, e, tol_dtype, "") for g, e in zip(got, expected))
            res.error_ok = same or bool(np.isnan(got[0]).any())
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
            except Exception as exc:  # the implementation's autodiff failed
                grad, how = None, ""
                res.grad_ok = False
                msgs.append(f"  gradient: raised {type(exc).__name__}: {str(exc)[:300]}")
            if grad is not None:
                m = _compare(to_numpy(grad), g_expected, tol_dtype, f"gradient ({how})")
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

            y, vjp = jax.vjp(f, from_numpy("jax", case["args"][0]))
            go = jax.numpy.ones_like(y) if go_np is None else from_numpy("jax", go_np).astype(y.dtype)
            return vjp(go)[0], "jax.vjp"
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
    array: str = "numpy",
    *,
    cases: list[dict[str, Any]] | None = None,
    api: str | None = None,
) -> Report:
    """Run a dialect's golden cases against an implementation.

    Parameters
    ----------
    dialect : str
        ``"torch"``, ``"chainer"``, ``"mxnet"``, ``"paddle"`` or ``"brainpy"``.
    impl : callable, class, or str, optional
        The implementation under test: a function called like the dialect's functional API, or a
        loss class constructed with the case's ``init`` and called like the dialect's loss object;
        ``"module:attr"`` imports it.  Default: unified_ce's own dialect.  A class runs the cases
        recorded through a loss class, a function those recorded through a function.
    array : str
        The array library fed to the implementation (``numpy``, ``torch``, ``jax``, ``cupy``,
        ``dask``, ``array_api_strict``).
    cases : list, optional
        The cases to run (default: the golden file shipped with unified_ce).
    api : str, optional
        Only the cases recorded through this API name.

    Returns
    -------
    Report
        Per-case results; ``report.ok`` is true when every applicable case passed.

    Examples
    --------
    >>> from unified_ce.conformance import check
    >>> report = check("torch", api="cross_entropy")
    >>> report.ok, report.counts()["values"][0] > 50
    (True, True)
    """
    ours = impl is None
    obj = None if ours else resolve(impl)
    name = f"unified_ce.adapters.{dialect}" if ours else (impl if isinstance(impl, str) else _qualname(obj))
    deviations: dict[str, str] = {}
    grad_deviations: dict[str, str] = {}
    if ours:
        module = importlib.import_module(f"unified_ce.adapters.{dialect}")
        deviations = getattr(module, "GOLDEN_DEVIATIONS", {})
        grad_deviations = getattr(module, "GOLDEN_GRAD_DEVIATIONS", {})
    if cases is None:
        cases = _format.load(dialect)["cases"]
    if grad_deviations:  # the framework's backward is not the derivative of its own forward there (documented)
        cases = [
            {**c, "expect": {**c["expect"], "grad": c["expect"]["grad_of_forward"]}}
            if c["id"] in grad_deviations
            else c
            for c in cases
        ]
    if api is not None:
        cases = [c for c in cases if c["api"] == api]
    runner = _Runner(dialect, obj, array, ours, deviations)
    report = Report(dialect, name, array)
    t0 = time.perf_counter()
    import warnings

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for case in cases:
            r = runner.run(case)
            if r is None:
                report.skipped += 1
            else:
                report.results.append(r)
    report.seconds = time.perf_counter() - t0
    return report


def _representable(case: dict[str, Any], array: str) -> bool:
    """Whether every input array of ``case`` has a dtype that ``array`` supports."""
    if array != "array_api_strict":
        return True
    arrays = [*case["args"], *case["kwargs"].values(), *(case.get("init") or {}).values()]
    return not any(isinstance(a, np.ndarray) and a.dtype == np.float16 for a in arrays)


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
