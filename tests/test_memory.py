"""What the autodiff glue keeps alive: O(items) residuals, released by backward like ``save_for_backward``.

Measured with ``torch.autograd.graph.saved_tensors_hooks`` (what autograd saves), weak references
(what stays alive) and the garbage collector's view of live tensors (state hidden on ``ctx``).
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from unified_ce.adapters import torch as dialect  # noqa: E402

N, C = 64, 1000


def _live(shape: tuple[int, ...], dtype: Any) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, torch.Tensor) and o.shape == shape and o.dtype == dtype)


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.1, "reduction": "none"}, {"ignore_index": 3}])
def test_saved_tensors_are_the_logits_and_o_items(kwargs: dict[str, Any]) -> None:
    """Autograd saves the logits as given (no copy) and O(items) tensors, nothing else of size items x classes."""
    h = torch.randn(N, C, requires_grad=True)
    t = torch.randint(0, C, (N,))
    saved: list[Any] = []

    def pack(v: Any) -> Any:
        saved.append(v)
        return v

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda v: v):
        dialect.cross_entropy(h, t, **kwargs)
    big = [v for v in saved if v.numel() >= N * C]
    assert len(big) == 1 and big[0].data_ptr() == h.data_ptr(), [tuple(v.shape) for v in big]
    assert sum(v.numel() for v in saved if v is not big[0]) <= 4 * N, [tuple(v.shape) for v in saved]


def test_logits_released_by_backward_while_the_loss_lives() -> None:
    """``loss.backward(); kept.append(loss)`` must not keep the logits alive (pytorch: 24 MB, ours was 2.6 GB)."""
    h = torch.randn(N, 32, requires_grad=True)
    w = torch.randn(32, C, requires_grad=True)
    kept = []
    refs = []
    for _ in range(3):
        logits = h @ w
        refs.append(weakref.ref(logits))
        loss = dialect.cross_entropy(logits, torch.randint(0, C, (N,)))
        del logits
        loss.backward()
        kept.append(loss)
    gc.collect()
    assert all(r() is None for r in refs), "the logits outlive backward"
    assert _live((N, C), torch.float32) == 0


def test_no_float32_copy_of_half_logits_in_the_graph() -> None:
    """float16 / bfloat16 logits: the float32 copy used to compute is not kept until backward."""
    for dtype in (torch.float16, torch.bfloat16):
        h = torch.randn(N, C, dtype=dtype, requires_grad=True)
        loss = dialect.cross_entropy(h, torch.randint(0, C, (N,)))
        assert _live((N, C), torch.float32) == 0, f"a float32 copy of the {dtype} logits is alive"
        loss.backward()
        assert h.grad is not None and h.grad.dtype == dtype
