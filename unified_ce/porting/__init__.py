"""Porting between dialects, right by construction.

:func:`port` finds the call of another dialect (plus a few array operations around it) that
computes what a given call computes, and *proves* it numerically before calling it exact;
:func:`explain` says what a call computes; :func:`port_file` rewrites the cross-entropy calls of
a whole Python source file.  See ``docs/porting.md``.
"""

from __future__ import annotations

from ._port import PortResult, explain, port

__all__ = ["PortResult", "explain", "port"]
