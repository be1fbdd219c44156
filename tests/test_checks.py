"""The value-check policy ``UNIFIED_CE_CHECKS=eager|device|off`` (CPU side; the CUDA side needs a GPU).

``eager`` reads labels on the host and raises; ``off`` reads no torch tensor's values at all (no
hidden device synchronisation: every way of reading a value is patched to fail): a bad label gives
NaN, or the error of PyTorch's own CPU kernel where one evaluates the call (its index check runs
inside the op, no host read); ``device`` is ``eager`` for CPU tensors (reading them stalls nothing).
"""

from __future__ import annotations

from typing import Any

import pytest

import unified_ce as uce

torch = pytest.importorskip("torch")

from unified_ce.adapters.torch import cross_entropy  # noqa: E402

X = torch.zeros(2, 3)
BAD = torch.tensor([0, 7])
GOOD = torch.tensor([0, 2])


@pytest.mark.parametrize("policy", ["eager", "device"])
def test_cpu_tensors_are_checked(policy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNIFIED_CE_CHECKS", policy)
    with pytest.raises(uce.LabelOutOfRangeError):
        cross_entropy(X, BAD)


def test_off_reads_no_value_and_gives_nan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNIFIED_CE_CHECKS", "off")

    def host_read(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a tensor value was read on the host")

    with monkeypatch.context() as m:
        for name in ("item", "__bool__", "__float__", "__int__", "__index__", "tolist", "aminmax", "numpy"):
            m.setattr(torch.Tensor, name, host_read)
        try:
            bad = cross_entropy(X, BAD)
        except IndexError as exc:  # PyTorch's CPU kernel (gather / F.cross_entropy) checked the index itself
            assert not isinstance(exc, uce.LabelOutOfRangeError), "unified_ce read the labels"
            bad = torch.tensor(float("nan"))
        good = cross_entropy(X, GOOD, label_smoothing=0.1, reduction="none")
        x = X.clone().requires_grad_(True)
        loss = cross_entropy(x, GOOD)
        loss.backward()
        _, g = cross_entropy.value_and_grad(X, GOOD, reduction="sum")
    assert torch.isnan(bad)
    assert torch.allclose(good, torch.nn.functional.cross_entropy(X, GOOD, label_smoothing=0.1, reduction="none"))
    x2 = X.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(x2, GOOD).backward()
    assert torch.allclose(x.grad, x2.grad)
    assert torch.allclose(g, x2.grad * 2)


def test_unknown_policy_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNIFIED_CE_CHECKS", "lazy")
    with pytest.raises(uce.InvalidArgumentError, match="UNIFIED_CE_CHECKS"):
        cross_entropy(X.double(), GOOD, weight=torch.ones(3))  # not a tiny call PyTorch's op evaluates directly
