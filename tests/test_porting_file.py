"""``port-file``: realistic training scripts of each source dialect, rewritten to PyTorch, give the
original losses (the original run through the dialects installed under the frameworks' names, the
rewritten one with real torch tensors); what cannot be ported is left in place with a reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.porting_fakes import frameworks
from unified_ce.porting._file import port_source

torch = pytest.importorskip("torch")
pytest.importorskip("libcst")

SAMPLES = Path(__file__).parent / "porting_samples"
rng = np.random.default_rng(3)


def _load(source: str) -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "sample"}
    with frameworks():
        exec(compile(source, "sample.py", "exec"), ns)
    return ns


def _both(name: str, dest: str = "torch") -> tuple[dict[str, Any], dict[str, Any], str, list[str]]:
    old = (SAMPLES / name).read_text()
    new, messages = port_source(old, dest)
    return _load(old), _load(new), new, messages


def _t(a: np.ndarray) -> Any:
    return torch.from_numpy(np.array(a, copy=True))


def _close(got: Any, want: Any) -> None:
    got = got.detach().numpy() if hasattr(got, "detach") else np.asarray(got)
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-12, atol=1e-14)


def test_chainer_mnist_classifier() -> None:
    old, new, code, messages = _both("chainer_mnist.py")
    sizes = [(784, 20), (20, 20), (20, 10)]
    params = [(rng.normal(size=s) / 10, rng.normal(size=s[1])) for s in sizes]
    x = rng.normal(size=(8, 784))
    t = rng.integers(0, 10, size=8)
    t[2] = -1  # chainer's ignore label
    want = old["Classifier"](old["MLP"](params))(x, t)
    got = new["Classifier"](new["MLP"]([(_t(w), _t(b)) for w, b in params]))(_t(x), _t(t))
    _close(got, want)
    # the example's L.Classifier(MLP(...)): its default loss, now passed explicitly
    assert "return L.Classifier(MLP(params), lossfun=_uce_softmax_cross_entropy_1)" in code
    want = old["make_model"](params)(x, t)
    _close(new["make_model"]([(_t(w), _t(b)) for w, b in params])(_t(x), _t(t)), want)
    y = rng.normal(size=(8, 10))
    cw = rng.uniform(0.5, 2.0, size=10)
    _close(new["balanced_loss"](_t(y), _t(t), _t(cw)), old["balanced_loss"](y, t, cw))
    score = rng.normal(size=(2, 5, 3, 4))
    label = rng.integers(0, 5, size=(2, 3, 4))
    label[0, 1, 1] = 255
    _close(new["pixel_losses"](_t(score), _t(label)), old["pixel_losses"](score, label))
    # formatting and comments survive; a call with a non-literal option stays, with the reason
    assert "# rare digits count more" in code and "import torch.nn.functional as F" in code
    assert "return F.softmax_cross_entropy(y, t, normalize=normalize)  # not a literal: left alone" in code
    assert (
        "# unified_ce: F.softmax_cross_entropy(y, t, normalize=normalize) not ported to torch: normalize=normalize is not a literal"
        in code
    )
    assert sum("not ported" in m for m in messages) == 1 and sum("ported (" in m for m in messages) == 4


def test_gluon_segmentation_axis_1() -> None:
    old, new, code, _ = _both("gluon_segmentation.py")
    out = rng.normal(size=(2, 21, 4, 5))
    aux = rng.normal(size=(2, 21, 4, 5))
    lab = rng.integers(0, 21, size=(2, 4, 5))
    _close(new["train_step"](_t(out), _t(aux), _t(lab)), old["train_step"](out, aux, lab))
    assert "gluon.loss" not in code.split("NUM_CLASS")[1]


def test_paddle_soft_label_classifier() -> None:
    old, new, _, _ = _both("paddle_classifier.py")
    logits = rng.normal(size=(6, 5))
    q = old["mix_targets"](rng.integers(0, 5, 6), rng.integers(0, 5, 6), 0.7, 5)
    _close(new["mixup_loss"](_t(logits), _t(q)), old["mixup_loss"](logits, q))
    labels = rng.integers(-1, 5, size=(6, 1))
    _close(new["hard_loss"](_t(logits), _t(labels)), old["hard_loss"](logits, labels))


@pytest.mark.parametrize("dest", ["mxnet", "paddle", "brainpy"])
def test_chainer_script_to_other_dialects(dest: str) -> None:
    old, new, _, _ = _both("chainer_mnist.py", dest)
    y = rng.normal(size=(8, 10))
    t = rng.integers(-1, 10, size=8)
    cw = rng.uniform(0.5, 2.0, size=10)
    with frameworks():
        _close(new["balanced_loss"](y, t, cw), old["balanced_loss"](y, t, cw))
        _close(new["Classifier"](lambda v: v)(y, t), old["Classifier"](lambda v: v)(y, t))


def test_cli_diff_and_write(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text((SAMPLES / "paddle_classifier.py").read_text())
    run = [sys.executable, "-m", "unified_ce", "port-file", str(script), "--to", "torch"]
    diff = subprocess.run(run, capture_output=True, text=True, check=False)
    assert diff.returncode == 0, diff.stderr
    assert diff.stdout.startswith("--- a/") and "+    loss = F.cross_entropy(" in diff.stdout
    assert script.read_text() == (SAMPLES / "paddle_classifier.py").read_text()
    done = subprocess.run([*run, "--write"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "_uce_softmax_with_cross_entropy_1(logits, soft_targets)" in script.read_text()
    bad = subprocess.run([*run[:-2], "--to", "torhc"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "did you mean 'torch'" in bad.stderr and "Traceback" not in bad.stderr
