"""Dialects: each framework's cross-entropy interface, translated to one :class:`~unified_ce.CrossEntropySpec`.

One module per dialect (``chainer``, ``mxnet``, ``paddle``, ``torch``, ``brainpy``, ``tensorflow``, ``mlx``, ``optax``;
``cce``: Apple's Cut Cross-Entropy, a linear cross-entropy; ``liger``, ``flash_attn``: the LLM kernels'
interfaces; ``transformers``: Hugging Face's causal-LM loss), named after the framework it emulates.  Importing a dialect imports no framework.
"""

DIALECTS = (
    "torch",
    "chainer",
    "mxnet",
    "paddle",
    "brainpy",
    "tensorflow",
    "cce",
    "mlx",
    "optax",
    "keras",
    "liger",
    "flash_attn",
    "transformers",
)

__all__ = ["DIALECTS"]
