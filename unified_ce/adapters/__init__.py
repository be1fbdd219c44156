"""Dialects: each framework's cross-entropy interface, translated to one :class:`~unified_ce.CrossEntropySpec`.

One module per dialect (``chainer``, ``mxnet``, ``paddle``, ``torch``, ``brainpy``), named after the
framework it emulates.  Importing a dialect imports no framework.
"""

DIALECTS = ("torch", "chainer", "mxnet", "paddle", "brainpy", "tensorflow")

__all__ = ["DIALECTS"]
