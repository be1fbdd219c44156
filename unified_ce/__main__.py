"""Command line: ``python -m unified_ce`` (or ``unified-ce``).

``python -m unified_ce``
    The conformance report of unified_ce itself: every dialect × every installed array library,
    against the golden data recorded from the real frameworks.  Exit status 1 if anything fails.
``python -m unified_ce conformance --dialect torch --impl torch.nn:CrossEntropyLoss --array torch``
    Check any implementation against a dialect's golden cases (``--json`` for machines).
``python -m unified_ce explain chainer.softmax_cross_entropy normalize=False``
    What a dialect call computes, in plain words.
``python -m unified_ce port chainer torch normalize=False class_weight=w``
    The verified equivalent in another dialect, as code (exit 1 if there is no exact one).
``python -m unified_ce port-file train.py --to torch [--write]``
    Rewrite the cross-entropy calls of a script into another dialect (a unified diff).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from . import __version__
from .adapters import DIALECTS
from .conformance import GOLDEN_DIR, LIBRARIES, available, check
from .porting import _cli as porting_cli


def _report(args: argparse.Namespace) -> int:
    arrays = args.array or [lib for lib in LIBRARIES if lib == "numpy" or available(lib)]
    dialects = args.dialect or [d for d in DIALECTS if (GOLDEN_DIR / f"{d}.json").exists()]
    t0 = time.perf_counter()
    reports = []
    if not args.json:
        print(f"unified_ce {__version__}: conformance against golden data recorded from the real frameworks")
        print(f"{'dialect':8s} {'arrays':17s} results")
    for dialect in dialects:
        for array in arrays:
            r = check(dialect, None, array)
            reports.append(r)
            if not args.json:
                print(f"{r.summary_line()}  ({r.seconds:.1f}s)", flush=True)
    failed = [r for r in reports if not r.ok]
    if args.json:
        print(json.dumps({"ok": not failed, "reports": [r.to_dict() for r in reports]}, indent=1))
    else:
        for r in failed:
            print()
            print(r.format(args.max_failures))
        total = sum(len(r.results) for r in reports)
        print(
            f"\n{len(reports) - len(failed)}/{len(reports)} dialect x array combinations passed "
            f"({total} case runs, {time.perf_counter() - t0:.1f}s)"
        )
    return 1 if failed else 0


def _conformance(args: argparse.Namespace) -> int:
    report = check(args.dialect, args.impl, args.array[0] if args.array else "numpy", api=args.api)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(report.format(args.max_failures))
        if report.skipped:
            print(f"({report.skipped} cases recorded through another API of the dialect were not applicable)")
    return 0 if report.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="unified-ce", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"unified_ce {__version__}")
    sub = parser.add_subparsers(dest="command")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--array",
            action="append",
            choices=LIBRARIES,
            help="array library to feed (repeatable; default: every installed one, or numpy)",
        )
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--max-failures", type=int, default=20, help="failures shown in full")

    rep = sub.add_parser("report", help="conformance report of unified_ce itself (the default)")
    rep.add_argument("--dialect", action="append", choices=DIALECTS)
    common(rep)
    conf = sub.add_parser("conformance", help="check an implementation against a dialect's golden cases")
    conf.add_argument("--dialect", required=True, choices=DIALECTS)
    conf.add_argument("--impl", default=None, help="module:attr of the implementation (default: unified_ce's)")
    conf.add_argument("--api", default=None, help="only the cases recorded through this API of the dialect")
    common(conf)
    porting_cli.add_subcommands(sub)

    args = parser.parse_args(argv)
    if args.command in (None, "report"):
        if args.command is None:
            args.array, args.dialect, args.json, args.max_failures = None, None, False, 20
        return _report(args)
    if args.command == "conformance":
        return _conformance(args)
    return porting_cli.run(args)


if __name__ == "__main__":
    sys.exit(main())
