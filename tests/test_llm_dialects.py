"""The LLM dialects against golden data recorded from the real projects: both gradients.

``tests/test_golden.py`` replays every case with the gradient with respect to the first argument;
here the linear dialect (CCE) is also checked for the gradient with respect to the classifier ``c``
(``expect["grad_c"]``, recorded by ``tools/golden/record_cce.py``), by torch autograd and ``jax.vjp``
(eagerly and under ``jax.jit``), and the refusals raise the framework's exception class.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np
import pytest

from unified_ce.adapters import cce
from unified_ce.conformance import _format

from .conftest import Backend, BackendInfo, assert_close

CASES = _format.load(_format.GOLDEN_DIR / "cce.json")["cases"]
VALUE_CASES = [c for c in CASES if "error" not in c["expect"]]
ERROR_CASES = [c for c in CASES if "error" in c["expect"]]


def _fn(case: dict[str, Any]) -> Any:
    if case["init"] is not None:
        return cce.LinearCrossEntropy(**case["init"])
    return getattr(cce, case["api"])


@pytest.mark.parametrize("case", VALUE_CASES, ids=[c["id"] for c in VALUE_CASES])
def test_cce_both_gradients(autodiff_backend: BackendInfo, case: dict[str, Any]) -> None:
    be = autodiff_backend
    e, c, t = (be.asarray(a) for a in case["args"])
    fn = _fn(case)
    kw = case["kwargs"]
    go = None if case["grad_output"] is None else be.asarray(case["grad_output"])
    if be.backend in (Backend.TORCH, Backend.TORCH_CUDA):
        import torch

        e, c = e.requires_grad_(True), c.requires_grad_(True)
        out = fn(e, c, t, **kw)
        ge, gc = torch.autograd.grad(out, (e, c), torch.ones_like(out) if go is None else go)
    else:
        import jax

        def f(e: Any, c: Any) -> Any:
            return fn(e, c, t, **kw)

        def vg(e: Any, c: Any) -> Any:
            out, vjp = jax.vjp(f, e, c)
            return out, vjp(jax.numpy.ones_like(out) if go is None else go)

        out, (ge, gc) = be.call(vg, e, c)
    exp = case["expect"]
    assert_close(be.to_numpy(out), exp["output"], what="loss")
    assert be.to_numpy(out).dtype == exp["output"].dtype
    assert_close(be.to_numpy(ge), exp["grad"], what="d e")
    assert_close(be.to_numpy(gc), exp["grad_c"], what="d c")


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c["id"] for c in ERROR_CASES])
def test_cce_errors_have_the_framework_class(case: dict[str, Any]) -> None:
    theirs = getattr(builtins, case["expect"]["error"]["type"])
    with pytest.raises(theirs) as info:
        _fn(case)(*case["args"], **case["kwargs"])
    assert isinstance(info.value, (ValueError, TypeError))  # and one of unified_ce's classes


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [({"impl": "triton"}, NotImplementedError), ({"filter_eps": "low"}, RuntimeError)],
)
def test_cce_option_errors(kwargs: dict[str, Any], exc: type[Exception]) -> None:
    e, c, t = np.zeros((2, 3)), np.zeros((4, 3)), np.array([0, 1])
    with pytest.raises(exc):
        cce.linear_cross_entropy(e, c, t, **kwargs)
    cce.linear_cross_entropy(e, c, t, filter_eps=0.5, impl=cce.LinearCrossEntropyImpl.TORCH_COMPILE)


LIGER = _format.load(_format.GOLDEN_DIR / "liger.json")


def _liger_call(case: dict[str, Any], be: BackendInfo, args: list[Any]) -> Any:
    from unified_ce.adapters import liger

    init = {k: be.asarray(v) if isinstance(v, np.ndarray) else v for k, v in (case["init"] or {}).items()}
    if case["init"] is None:
        return getattr(liger, case["api"])(*args, **case["kwargs"])
    return getattr(liger, case["api"])(**init)(*args)


@pytest.mark.parametrize("case", LIGER["z_loss_cases"], ids=[c["id"] for c in LIGER["z_loss_cases"]])
def test_liger_return_z_loss(backend: BackendInfo, case: dict[str, Any]) -> None:
    """``return_z_loss=True``: Liger's ``CrossEntropyOutput(loss, z_loss)``; the gradient is the loss's."""
    x, t = (backend.asarray(a) for a in case["args"])
    go = None if case["grad_output"] is None else backend.asarray(case["grad_output"])
    loss, z = case["expect"]["output"]
    if backend.autodiff:
        _, g = backend.grad(lambda x: _liger_call(case, backend, [x, t]).loss, x, go)
        got = _liger_call(case, backend, [x, t])
        assert_close(backend.to_numpy(g), case["expect"]["grad"], what="grad")
    else:
        got = _liger_call(case, backend, [x, t])
    assert_close(backend.to_numpy(got.loss), loss, what="loss")
    assert_close(backend.to_numpy(got.z_loss), z, what="z_loss")
    assert got.token_accuracy is None and got.predicted_tokens is None


@pytest.mark.parametrize("case", LIGER["fused_linear_cases"], ids=[c["id"] for c in LIGER["fused_linear_cases"]])
def test_liger_fused_linear(backend: BackendInfo, case: dict[str, Any]) -> None:
    """``LigerFusedLinearCrossEntropyLoss(...)(lin_weight, _input, target, bias)``: value and d _input."""
    w, h, t, *b = (backend.asarray(a) for a in case["args"])
    go = None if case["grad_output"] is None else backend.asarray(case["grad_output"])

    def f(h: Any) -> Any:
        return _liger_call(case, backend, [w, h, t, *b])

    if backend.autodiff:
        out, g = backend.grad(f, h, go)
        assert_close(backend.to_numpy(g), case["expect"]["grad"], what="d _input")
    else:
        out = f(h)
    backend.check(out)
    assert_close(backend.to_numpy(out), case["expect"]["output"], what="loss")


def test_liger_refuses_what_it_cannot_match() -> None:
    from unified_ce.adapters import liger

    x, t = np.zeros((2, 3)), np.array([0, 1])
    with pytest.raises(ValueError, match="lse_square_scale > 0 and reduction='mean'"):
        liger.LigerCrossEntropyLoss(weight=np.ones(3), lse_square_scale=0.1)(x, t)
    with pytest.raises(ValueError, match="return_token_accuracy"):
        liger.LigerCrossEntropyLoss(return_token_accuracy=True)
    with pytest.raises(AssertionError, match=r"outside \[0, 3\)"):
        liger.LigerCrossEntropyLoss()(x, np.array([0, 3]))


def test_flash_attn_options() -> None:
    from unified_ce.adapters import flash_attn

    x, t = np.zeros((2, 3)), np.array([0, 1])
    with pytest.raises(NotImplementedError):
        flash_attn.CrossEntropyLoss(reduction="batchmean")
    with pytest.raises(ValueError, match="process_group"):
        flash_attn.CrossEntropyLoss(process_group=object())
    with pytest.raises(AssertionError):
        flash_attn.CrossEntropyLoss(logit_scale=0.0)(x, t)
    plain = flash_attn.CrossEntropyLoss()(x, t)
    assert flash_attn.CrossEntropyLoss(inplace_backward=True)(x, t, precomputed_lse=np.log(np.full(2, 3.0))) == plain
