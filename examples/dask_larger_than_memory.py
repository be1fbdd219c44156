"""Cross-entropy (and its gradient) of a dataset larger than memory, on a Dask cluster.

The logits are a lazy Dask array in chunks along the rows *and* the classes; they are never
materialised.  Each chunk is produced on a worker (here by Dask's random generator; in practice read
from Zarr / HDF5 / Parquet, or produced by a model with ``map_blocks``), reduced to per-row
statistics (max, sum of exponentials, the target logit) and freed.  The loss is the PyTorch
dialect's ``cross_entropy`` (mean over non-ignored rows, ``ignore_index=-100``): unified_ce only
builds the graph; Dask runs it.

Run it (defaults: 1,048,576 rows x 32,000 classes of float32 = 134 GB of logits, far more than
the workers' memory; smaller sizes for a quick look)::

    python examples/dask_larger_than_memory.py --rows 1048576 --classes 32000 --memory-limit 2GiB
    python examples/dask_larger_than_memory.py --rows 100000 --classes 8000 --memory-limit 1GiB

``tests/test_distributed_dask.py`` runs :func:`lazy_dataset` and :func:`evaluate` at a small size
on a ``LocalCluster`` and checks them against NumPy.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import dask.array as da
import numpy as np

from unified_ce.adapters.torch import cross_entropy


def lazy_dataset(
    n_rows: int, n_classes: int, *, rows_per_chunk: int = 8192, classes_per_chunk: int = 8000, seed: int = 0
) -> tuple[Any, Any]:
    """Lazy float32 logits ``(n_rows, n_classes)`` and int64 labels (10 % of them ``-100``: padding)."""
    rng = da.random.default_rng(seed)
    logits = rng.standard_normal((n_rows, n_classes), chunks=(rows_per_chunk, classes_per_chunk), dtype=np.float32)
    labels = rng.integers(0, n_classes, size=n_rows, chunks=rows_per_chunk)
    padding = rng.random(n_rows, chunks=rows_per_chunk) < 0.1
    return logits, da.where(padding, -100, labels)


def evaluate(logits: Any, labels: Any) -> tuple[Any, Any]:
    """The mean loss and the norm of its gradient, both lazy 0-d Dask arrays.

    The gradient has the logits' (huge) shape and chunks; it is only ever reduced chunk by chunk,
    here to its norm (in practice: a matrix product with the activations, chunk by chunk).
    """
    loss, grad = cross_entropy.value_and_grad(logits, labels)
    return loss, da.sqrt(da.sum(grad.astype(np.float64) ** 2))


def main() -> None:
    from distributed import Client, LocalCluster

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1 << 20)
    p.add_argument("--classes", type=int, default=32_000)
    p.add_argument("--rows-per-chunk", type=int, default=8192)
    p.add_argument("--classes-per-chunk", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory-limit", default="2GiB", help="per worker")
    a = p.parse_args()
    logits, labels = lazy_dataset(
        a.rows, a.classes, rows_per_chunk=a.rows_per_chunk, classes_per_chunk=a.classes_per_chunk
    )
    print(f"logits: {logits.shape} {logits.dtype}, {logits.nbytes / 2**30:.1f} GiB in {logits.npartitions} chunks")
    with (
        LocalCluster(
            n_workers=a.workers, threads_per_worker=1, memory_limit=a.memory_limit, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        loss, grad_norm = evaluate(logits, labels)
        t0 = time.perf_counter()
        loss_v, grad_norm_v = client.compute([loss, grad_norm], sync=True)
        print(f"loss {float(loss_v):.6f}, |grad| {float(grad_norm_v):.6g} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
