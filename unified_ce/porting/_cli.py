"""The ``port``, ``explain`` and ``port-file`` subcommands (registered by ``unified_ce.__main__``).

Argument errors print one line (``unified-ce port: error: ...``) and exit 2; a port without an
exact equivalent prints the closest candidate and where it differs, and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from .._errors import InvalidArgumentError, InvalidTypeError

__all__ = ["add_subcommands", "run"]


def _kwargs(items: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise InvalidArgumentError(f"arguments are name=value pairs (e.g. normalize=False); got {item!r}")
        if key in out:
            raise InvalidArgumentError(f"argument {key!r} given twice")
        out[key] = value
    return out


def _ndim(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int in [1, 8]; got {text!r}") from None


def add_subcommands(sub: Any) -> None:
    """Add ``explain``, ``port`` and ``port-file`` to the CLI's subparsers."""
    kinds = ("index", "probs")
    exp = sub.add_parser(
        "explain",
        help="what a dialect call computes",
        epilog="examples:\n"
        "  unified-ce explain chainer.softmax_cross_entropy normalize=False\n"
        "  unified-ce explain torch.CrossEntropyLoss label_smoothing=0.1 --target index --ndim 2",
    )
    exp.add_argument("call", help="dialect[.api], e.g. chainer.softmax_cross_entropy")
    exp.add_argument("kwargs", nargs="*", help="name=value arguments (Python or JSON literals; arrays by name)")
    exp.add_argument("--target", choices=kinds, default=None, help="kind of target where only the arrays decide it")
    exp.add_argument("--ndim", type=_ndim, default=None, help="rank of the logits (default: every rank 1-4)")
    prt = sub.add_parser(
        "port",
        help="the verified equivalent of a call in another dialect",
        epilog="examples:\n"
        "  unified-ce port chainer torch normalize=False class_weight=w\n"
        "  unified-ce port torch.cross_entropy optax reduction=none --ndim 2",
    )
    prt.add_argument("source", help="dialect[.api] of the call to port")
    prt.add_argument("dest", help="dialect to port to")
    prt.add_argument("kwargs", nargs="*", help="name=value arguments of the source call (arrays by name: weight=w)")
    prt.add_argument("--target", choices=kinds, default=None, help="kind of target where only the arrays decide it")
    prt.add_argument("--ndim", type=_ndim, default=None, help="rank of the logits (default: every rank 1-4)")
    pf = sub.add_parser(
        "port-file",
        help="rewrite the cross-entropy calls of a Python file into another dialect",
        epilog="examples:\n"
        "  unified-ce port-file train.py --to torch          # prints a unified diff\n"
        "  unified-ce port-file train.py --to optax --write  # rewrites train.py",
    )
    pf.add_argument("path", help="the Python source file")
    pf.add_argument("--to", required=True, dest="dest", help="dialect to port to")
    pf.add_argument("--ndim", type=_ndim, default=None, help="rank of the logits in that file (default: any)")
    pf.add_argument("--write", action="store_true", help="write the file instead of printing a unified diff")


def run(args: argparse.Namespace) -> int:
    """Run one of these subcommands; 0 exact / done, 1 no exact equivalent, 2 bad arguments."""
    try:
        if args.command == "explain":
            from . import explain

            print(explain(args.call, ndim=args.ndim, target=args.target, **_kwargs(args.kwargs)))
            return 0
        if args.command == "port":
            from . import port

            result = port(args.source, args.dest, ndim=args.ndim, target=args.target, **_kwargs(args.kwargs))
            print(result)
            return 0 if result.exact else 1
        from ._file import port_file

        return port_file(args.path, args.dest, ndim=args.ndim, write=args.write)
    except (InvalidArgumentError, InvalidTypeError, OSError) as exc:
        print(f"unified-ce {args.command}: error: {exc}", file=sys.stderr)
        return 2
