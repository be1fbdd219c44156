#!/usr/bin/env bash
# The conformance suite against the real frameworks of the torch-family, modern-Paddle and MXNet
# sigmoid losses, and the same implementations with a deliberate 0.1% error (which must fail).
# Run from the repository root; venvs as in tools/golden/README.md (golden-a needs array-api-compat:
# /work/venvs/golden-a/bin/pip install array-api-compat).  Exit status 0 when every expectation holds.
set -u
A=${GOLDEN_A:-/work/venvs/golden-a/bin/python}
fail=0
expect() {  # expect <0|1> <python> <args...>
  want=$1; py=$2; shift 2
  PYTHONPATH=.:tools/golden/real_b "$py" -m unified_ce conformance "$@" > /tmp/uce_conf.txt 2>&1
  rc=$?
  echo "exit $rc (want $want): $*"; tail -n 1 /tmp/uce_conf.txt
  if { [ "$want" = 0 ] && [ $rc -ne 0 ]; } || { [ "$want" = 1 ] && [ $rc -ne 1 ]; }; then fail=1; fi
}
# PyTorch (values and gradients on torch tensors)
expect 0 python --dialect torch --impl torch.nn.functional:nll_loss
expect 0 python --dialect torch --impl torch.nn:NLLLoss
expect 0 python --dialect torch --impl torch.nn.functional:binary_cross_entropy_with_logits
expect 0 python --dialect torch --impl torch.nn:BCEWithLogitsLoss
expect 1 python --dialect torch --impl wrong_torch:nll_loss --array torch
expect 1 python --dialect torch --impl wrong_torch:binary_cross_entropy_with_logits --array torch
# Paddle and MXNet (values, on NumPy arrays converted by the wrappers)
expect 0 "$A" --dialect paddle --impl paddle_np:cross_entropy --array numpy
expect 0 "$A" --dialect paddle --impl paddle_np:binary_cross_entropy_with_logits --array numpy
expect 0 "$A" --dialect mxnet --impl mxnet_np:SigmoidBinaryCrossEntropyLoss --array numpy
export UCE_WRONG_SCALE=1.001
expect 1 "$A" --dialect paddle --impl paddle_np:cross_entropy --array numpy
expect 1 "$A" --dialect paddle --impl paddle_np:binary_cross_entropy_with_logits --array numpy
expect 1 "$A" --dialect mxnet --impl mxnet_np:SigmoidBinaryCrossEntropyLoss --array numpy
exit $fail
