"""Every dialect against golden data recorded from the real framework, on every backend.

The table is ``dialect × golden case × backend``; the golden cases live in
``unified_ce/conformance/golden/<dialect>.json`` and were recorded by ``tools/golden/record_*.py``
from chainer 7.8.1, mxnet 1.9.1, paddle 3.3.1, torch and brainpy.  For each case we check:

* values, output shapes and dtypes (float32 within float32-accumulation error; float64 tightly);
* the gradient with respect to the logits: by the library's autodiff (torch, jax:jit; eager JAX runs the same compiled custom_vjp) and
  by the dialect's ``value_and_grad`` (every backend);
* inputs the framework refuses raise here too; inputs the framework silently turns into a number
  (``invalid``) raise here (eager backends) or give NaN (lazy backends, where values are unknown
  until computed);
* the caller's arrays are not modified.

A case's ``wrt`` (default 0) is the index in ``args`` of the differentiated input (Keras and
``tf.nn`` take the target first).  ``GOLDEN_PENDING`` (case id, or a prefix ending in ``*`` -> reason) lists cases a
dialect cannot run yet; they are reported as skipped with the reason.

A dialect may list deliberate, documented deviations in ``GOLDEN_DEVIATIONS`` (case id ->
reason): there the framework raised but unified_ce accepts the input (e.g. int32 labels in the
torch dialect).  ``GOLDEN_GRAD_DEVIATIONS`` (case id -> reason) lists cases where the framework's
backward is not the derivative of its own forward (Chainer's soft-target backward with targets
that do not sum to 1): there the gradient is compared with ``expect["grad_of_forward"]``, the
derivative of the framework's forward taken by the framework's own autodiff.
"""

from __future__ import annotations

import builtins
import importlib
from typing import Any

import numpy as np
import pytest

from tests.conftest import BackendInfo, assert_close
from unified_ce.adapters import DIALECTS
from unified_ce.conformance import _format
from unified_ce.conformance._runner import _least_precise, pending_reason

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

_ERRORS = (ValueError, TypeError)

#: framework exception classes (as recorded by name) that derive from a built-in class: an error of
#: the dialect must be an instance of those built-in classes (``MXNetError`` is a ``RuntimeError``,
#: NumPy's ``AxisError`` a ``ValueError`` and an ``IndexError``).  Framework classes not listed and
#: not built in (Chainer's ``InvalidType``, BrainPy's ``UnsupportedError``: plain ``Exception``
#: subclasses) cannot be matched without importing the framework and are not checked.
_FRAMEWORK_BASES: dict[str, tuple[type[BaseException], ...]] = {
    "MXNetError": (RuntimeError,),
    "AxisError": (ValueError, IndexError),
}


def framework_classes(name: str) -> tuple[type[BaseException], ...]:
    """The built-in classes an error must be an instance of, for the framework's class ``name``."""
    if name in _FRAMEWORK_BASES:
        return _FRAMEWORK_BASES[name]
    cls = getattr(builtins, name, None)
    return (cls,) if isinstance(cls, type) and issubclass(cls, BaseException) else ()


def _cases() -> list[Any]:
    params = []
    for dialect in DIALECTS:
        path = _format.GOLDEN_DIR / f"{dialect}.json"
        if not path.exists():
            continue
        for case in _format.load(path)["cases"]:
            params.append(pytest.param(dialect, case, id=f"{dialect}:{case['id']}"))
    return params


CASES = _cases()


def _is_array(v: Any) -> bool:
    return isinstance(v, np.ndarray)


def _callable(dialect: str, case: dict[str, Any], be: BackendInfo) -> Any:
    module = importlib.import_module(f"unified_ce.adapters.{dialect}")
    api = getattr(module, case["api"])
    if case.get("init") is not None:
        init = {k: be.asarray(v) if _is_array(v) else v for k, v in case["init"].items()}
        obj = api(**init)
        return getattr(obj, case.get("method") or "__call__"), getattr(obj, "value_and_grad", None)
    return api, getattr(api, "value_and_grad", None)


def _bind(fn: Any, case: dict[str, Any], be: BackendInfo) -> tuple[Any, list[Any], Any]:
    """``fn`` as a function of the array arguments only (Python values closed over), those arrays (the
    differentiated one, ``args[case["wrt"]]``, first), and ``rebuild(*arrays) -> (args, kwargs)``."""
    args, kwargs = case["args"], case["kwargs"]
    wrt = case.get("wrt", 0)
    slots = [("a", i) for i, v in enumerate(args) if _is_array(v)] + [
        ("k", k) for k, v in kwargs.items() if _is_array(v)
    ]
    if ("a", wrt) in slots:
        slots.remove(("a", wrt))
        slots.insert(0, ("a", wrt))
    arrays = [be.asarray(args[i] if s == "a" else kwargs[i]) for s, i in slots]

    def rebuild(*arrs: Any) -> tuple[list[Any], dict[str, Any]]:
        a, k = list(args), dict(kwargs)
        for (s, i), arr in zip(slots, arrs):
            if s == "a":
                a[i] = arr
            else:
                k[i] = arr
        return a, k

    def bound(*arrs: Any) -> Any:
        a, k = rebuild(*arrs)
        return fn(*a, **k)

    return bound, arrays, rebuild


def _as_list(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _check_output(case: dict[str, Any], out: Any, be: BackendInfo) -> None:
    expected = _as_list(case["expect"]["output"])
    got = _as_list(out)
    assert len(got) == len(expected), f"{len(got)} outputs, expected {len(expected)}"
    for i, (g, e) in enumerate(zip(got, expected)):
        be.check(g)
        g = be.to_numpy(g)
        assert g.dtype == e.dtype, f"output {i}: dtype {g.dtype} != framework's {e.dtype}"
        # tolerance of the least precise input (float32 logits with a float64 target: float32 error)
        assert_close(g, e, dtype=_least_precise(case), what=f"output {i} of {case['id']}")


@pytest.mark.parametrize("dialect,case", CASES)
def test_golden(dialect: str, case: dict[str, Any], backend: BackendInfo) -> None:
    be = backend
    module = importlib.import_module(f"unified_ce.adapters.{dialect}")
    deviations: dict[str, str] = getattr(module, "GOLDEN_DEVIATIONS", {})
    pending: dict[str, str] = getattr(module, "GOLDEN_PENDING", {})
    reason = pending_reason(pending, case["id"])
    if reason is not None:
        pytest.skip(f"not translated yet: {reason}")
    expect = case["expect"]
    args = case["args"]
    logits_np = args[case.get("wrt", 0)]
    if be.backend.value.startswith("array_api_strict") and any(
        _is_array(v) and v.dtype == np.float16 for v in [*args, *case["kwargs"].values()]
    ):
        pytest.skip("the array API standard (array_api_strict) has no float16")
    if "error" in expect or case.get("invalid"):
        if case["id"] in deviations:
            fn, _ = _callable(dialect, case, be)
            bound, arrays, _ = _bind(fn, case, be)
            be.call(bound, *arrays)  # accepted on purpose (documented); the value is checked elsewhere
            return
        if be.lazy:
            # Shapes and dtypes are checked while tracing; label values only exist once computed, so a
            # bad label poisons the result with NaN instead of raising.
            try:
                fn, _ = _callable(dialect, case, be)
                bound, arrays, _ = _bind(fn, case, be)
                out = be.call(bound, *arrays)
            except _ERRORS:
                return
            first = be.to_numpy(_as_list(out)[0])
            assert np.isnan(first).any(), f"invalid input ({case.get('invalid') or expect['error']}) gave {first}"
            return
        with pytest.raises(_ERRORS) as info:
            fn, _ = _callable(dialect, case, be)
            bound, arrays, _ = _bind(fn, case, be)
            be.call(bound, *arrays)
        if "error" in expect:  # the framework's own class too, so that its except clauses catch
            for cls in framework_classes(expect["error"]["type"]):
                assert isinstance(info.value, cls), (
                    f"{type(info.value).__qualname__} is not a {cls.__name__} (the framework raises "
                    f"{expect['error']['type']}: {expect['error']['message'][:80]!r})"
                )
        return

    fn, vag = _callable(dialect, case, be)
    bound, arrays, rebuild = _bind(fn, case, be)
    before = [be.to_numpy(a).copy() for a in arrays]

    grad_expected = expect.get("grad")
    grad_deviations: dict[str, str] = getattr(module, "GOLDEN_GRAD_DEVIATIONS", {})
    if case["id"] in grad_deviations:
        # the framework's backward is not the derivative of its own forward here (documented in the
        # dialect): compare with that derivative, recorded by the framework's autodiff of its forward
        grad_expected = expect["grad_of_forward"]
        assert not np.allclose(grad_expected, expect["grad"], rtol=2e-5, atol=2e-6), "no deviation to document"
    with_grad = grad_expected is not None and _is_array(logits_np) and logits_np.size > 0
    go = case.get("grad_output")
    go_b = None if go is None or not with_grad else be.asarray(go)
    if vag is not None and (case.get("init") is not None or case["api"][0].isupper()):
        if (case.get("method") or "__call__") != "__call__":
            vag = None  # value_and_grad follows __call__; other methods are checked by value above

    def value_and_grad(*arrs: Any) -> Any:
        """The dialect's own value_and_grad on these arrays (Python arguments as in the case)."""
        a, k = rebuild(*arrs)
        return vag(*a, grad_output=go_b, **k)  # type: ignore[misc]

    out = g = vg = None
    if be.jit and with_grad:
        # jax:jit: the output, the autodiff gradient and value_and_grad in one program (one
        # compilation); the output is the primal output of jax.vjp, i.e. the custom_vjp forward
        def program(*arrs: Any) -> Any:
            out, g = be.vjp(lambda x: bound(x, *arrs[1:]), arrs[0], go_b)
            return out, g, (value_and_grad(*arrs) if vag is not None else None)

        out, g, vg = be.call(program, *arrays)
    else:
        out = be.call(bound, *arrays)
    _check_output(case, out, be)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(be.to_numpy(a), b, err_msg="an input array was modified")
    if not with_grad:
        return
    # Eager JAX runs the same custom_vjp as jax:jit (compiled once per spec, after the eager label
    # checks): its autodiff gradient is checked there and in tests/test_core.py, not again per case.
    if be.autodiff and (g is not None or not be.backend.value.startswith("jax")):
        if g is None:
            rest = arrays[1:]
            _, g = be.grad(lambda x: bound(x, *rest), arrays[0], go_b)
        be.check(g)
        assert_close(be.to_numpy(g), grad_expected, dtype=_least_precise(case), what=f"autodiff grad of {case['id']}")
    if vag is not None:
        out2, g2 = vg if vg is not None else value_and_grad(*arrays)
        be.check(g2)
        assert_close(be.to_numpy(g2), grad_expected, dtype=_least_precise(case), what=f"value_and_grad of {case['id']}")
        assert_close(
            be.to_numpy(_as_list(out2)[0]),
            _as_list(expect["output"])[0],
            dtype=_least_precise(case),
            what=f"value of value_and_grad {case['id']}",
        )


def test_golden_files_present() -> None:
    """Every dialect ships golden data (the conformance suite is useless without it)."""
    missing = [d for d in DIALECTS if not (_format.GOLDEN_DIR / f"{d}.json").exists()]
    assert not missing, f"no golden data for {missing}"
    assert len(CASES) > 0
