"""pytest configuration for the whole checkout."""

# The fused-kernel modules import torch / triton / cupy when they are imported (which happens only
# when unified_ce.kernels chooses them); --doctest-modules must not import them on its own.  They
# are tested by tests/test_kernels.py.
collect_ignore = ["unified_ce/kernels/_triton.py", "unified_ce/kernels/_cupy.py"]
