"""Command line: ``python -m unified_ce`` (or ``unified-ce``).

``python -m unified_ce``
    The conformance report of unified_ce itself: every dialect × every installed array library,
    against the golden data recorded from the real frameworks (``--full``: every case on every
    library; by default JAX and Dask, which compile a program or build a graph per case, run a
    sample that covers every API, tag and argument).
``python -m unified_ce conformance --dialect torch --impl torch.nn:CrossEntropyLoss``
    Check any implementation against a dialect's golden cases (``--json`` for machines).
``python -m unified_ce explain chainer.softmax_cross_entropy normalize=False``
    What a dialect call computes, in plain words.
``python -m unified_ce port chainer torch normalize=False class_weight=w``
    The verified equivalent in another dialect, as code (exit 1 if there is no exact one).
``python -m unified_ce port-file train.py --to torch [--write]``
    Rewrite the cross-entropy calls of a script into another dialect (a unified diff).

Exit status: 0 everything passed, 1 a check failed (or stopped: every case raised, timeouts),
2 a usage error (unknown dialect, API, tag or array library; an ``--impl`` that cannot be imported).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from . import __version__
from ._errors import InvalidArgumentError, InvalidTypeError
from .adapters import DIALECTS
from .conformance import GOLDEN_DIR, LIBRARIES, Report, UsageError, available, check, load
from .conformance._select import SAMPLED_LIBRARIES, suggest
from .porting import _cli as porting_cli

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

_EXAMPLES = """\
examples:
  python -m unified_ce                          # unified_ce against every dialect's golden data
  python -m unified_ce --full --array jax       # every case, on JAX arrays only
  unified-ce conformance --dialect torch --impl torch.nn:CrossEntropyLoss
  unified-ce conformance --dialect torch --impl mylosses:my_loss --skip-tags class_weight,label_smoothing
  unified-ce conformance --dialect torch --list-tags
  unified-ce explain chainer.softmax_cross_entropy normalize=False
  unified-ce port chainer torch normalize=False class_weight=w
  unified-ce port-file train.py --to torch

exit status: 0 passed, 1 failed, 2 usage error
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Subparser(_Parser):
    """A subcommand's parser: its epilog of examples is printed as written (one command a line)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)


def _golden_dialects() -> list[str]:
    return sorted(p.stem for p in GOLDEN_DIR.glob("*.json"))


def _dialect(name: str) -> str:
    known = _golden_dialects()
    if name not in known:
        raise UsageError(suggest(name, "dialect (--dialect)", known))
    return name


def _arrays(names: Sequence[str] | None) -> list[str] | None:
    if not names:
        return None
    out = []
    for item in names:
        for name in item.split(","):
            if name not in LIBRARIES:
                raise UsageError(suggest(name, "array library (--array)", LIBRARIES))
            if not available(name):
                raise UsageError(f"--array {name}: the library is not installed here (or has no device)")
            out.append(name)
    return list(dict.fromkeys(out))


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on a terminal when tqdm is installed (``pip install unified-ce[progress]``);
    nothing otherwise (the result line of each run is printed when it ends)."""
    bar: Any = None
    if quiet or not sys.stderr.isatty():
        yield None
        return
    try:
        from tqdm import tqdm
    except ImportError:
        yield None
        return

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=label, leave=False, file=sys.stderr, unit="case", dynamic_ncols=True)
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def _print_failures(reports: Sequence[Report], args: argparse.Namespace) -> None:
    for r in reports:
        if not r.ok:
            print()
            print(r.format(-1 if args.verbose else args.max_failures))


def _report(args: argparse.Namespace) -> int:
    dialects = [_dialect(d) for d in args.dialect] if args.dialect else [d for d in DIALECTS if d in _golden_dialects()]
    arrays = _arrays(args.array) or [lib for lib in LIBRARIES if lib == "numpy" or available(lib)]
    t0 = time.perf_counter()
    reports = []
    if not args.json:
        print(f"unified_ce {__version__}: conformance against golden data recorded from the real frameworks")
        print(f"{'dialect':8s} {'arrays':17s} results")
    for dialect in dialects:
        for array in arrays:
            with _progress(f"{dialect} {array}", args.json) as progress:
                r = check(dialect, None, array, full=args.full, timeout=args.timeout, progress=progress)
            reports.append(r)
            if not args.json:
                print(f"{r.summary_line()}  ({r.seconds:.1f}s)", flush=True)
    failed = [r for r in reports if not r.ok]
    if args.json:
        print(
            json.dumps({"ok": not failed, "reports": [r.to_dict(all_results=args.verbose) for r in reports]}, indent=1)
        )
        return EXIT_FAILED if failed else EXIT_OK
    _print_failures(reports, args)
    total = sum(len(r.results) for r in reports)
    print(
        f"\n{len(reports) - len(failed)}/{len(reports)} dialect x array combinations passed "
        f"({total} case runs, {time.perf_counter() - t0:.1f}s)"
    )
    if any(r.sampled for r in reports):
        print(
            f"{', '.join(a for a in arrays if a in SAMPLED_LIBRARIES)}: a sample of the cases that covers every API, "
            "tag and argument (a compilation or task graph per case); --full runs every case"
        )
    return EXIT_FAILED if failed else EXIT_OK


def _list_tags(dialect: str) -> int:
    counts: dict[str, int] = {}
    cases = load(dialect)["cases"]
    for c in cases:
        for t in c.get("tags", []):
            counts[t] = counts.get(t, 0) + 1
    print(f"tags of the {dialect} golden cases ({len(cases)} cases):")
    for t, n in sorted(counts.items()):
        print(f"  {t:24s} {n:4d} cases")
    print(f"APIs: {', '.join(sorted({c['api'] for c in cases}))}")
    return EXIT_OK


def _conformance(args: argparse.Namespace) -> int:
    dialect = _dialect(args.dialect)
    if args.list_tags:
        return _list_tags(dialect)
    chosen = _arrays(args.array)
    arrays: list[str | None] = list(chosen) if chosen else [None]  # None: the library the implementation takes
    reports = []
    for array in arrays:
        with _progress(f"{dialect} {array or ''}", args.json) as progress:
            reports.append(
                check(
                    dialect,
                    args.impl,
                    array,
                    api=args.api,
                    tags=args.tags,
                    skip_tags=args.skip_tags,
                    full=args.full,
                    timeout=args.timeout,
                    progress=progress,
                )
            )
    ok = all(r.ok for r in reports)
    if args.json:
        dicts = [r.to_dict(all_results=args.verbose) for r in reports]
        print(json.dumps(dicts[0] if len(dicts) == 1 else {"ok": ok, "reports": dicts}, indent=1))
        return EXIT_OK if ok else EXIT_FAILED
    for r in reports:
        print(r.format(-1 if args.verbose else args.max_failures))
        if r.skipped:
            print(f"({r.skipped} cases recorded through another API of the dialect were not applicable)")
    return EXIT_OK if ok else EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="unified-ce",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"unified_ce {__version__}")
    sub = parser.add_subparsers(
        dest="command",
        metavar="{report,conformance,explain,port,port-file}",
        parser_class=_Subparser,
        help="the command (default: report); `unified-ce COMMAND --help` for its options and examples",
    )

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--array",
            action="append",
            metavar="LIB",
            help=f"array library to feed: {', '.join(LIBRARIES)} (repeatable, or comma-separated)",
        )
        p.add_argument(
            "--full",
            action="store_true",
            help="every case on every library (default: a covering sample on " + " and ".join(SAMPLED_LIBRARIES) + ")",
        )
        p.add_argument("--timeout", type=float, metavar="SECONDS", help="fail a case that takes longer than this")
        p.add_argument("--json", action="store_true", help="machine-readable output (with -v: every case)")
        p.add_argument("-v", "--verbose", action="store_true", help="every failure in full")
        p.add_argument("--max-failures", type=int, default=10, metavar="N", help="failures shown in full (default: 10)")

    rep = sub.add_parser(
        "report",
        help="conformance report of unified_ce itself (the default)",
        epilog="examples:\n"
        "  python -m unified_ce report --dialect torch --array numpy --array torch\n"
        "  python -m unified_ce --dialect keras --full --json   # every case, machine-readable",
    )
    rep.add_argument(
        "--dialect", action="append", metavar="D", help="dialect to check (repeatable; default: every one)"
    )
    common(rep)
    conf = sub.add_parser(
        "conformance",
        help="check an implementation against a dialect's golden cases",
        epilog="examples:\n"
        "  unified-ce conformance --dialect torch --impl torch.nn:CrossEntropyLoss --skip-tags reduce\n"
        "  unified-ce conformance --dialect optax --impl optax.losses:softmax_cross_entropy --array jax\n"
        "  unified-ce conformance --dialect torch --list-tags",
    )
    conf.add_argument(
        "--dialect",
        required=True,
        metavar="D",
        help=f"dialect whose golden cases run ({', '.join(_golden_dialects())})",
    )
    conf.add_argument(
        "--impl",
        default=None,
        metavar="MODULE:ATTR",
        help="the implementation (function or loss class), imported from the current directory or sys.path "
        "(default: unified_ce's own dialect)",
    )
    conf.add_argument("--api", default=None, help="only the cases recorded through this API of the dialect")
    conf.add_argument(
        "--tags", action="append", metavar="T[,T]", help="only the cases with any of these tags (repeatable)"
    )
    conf.add_argument(
        "--skip-tags", action="append", metavar="T[,T]", help="leave out the cases with any of these tags (repeatable)"
    )
    conf.add_argument("--list-tags", action="store_true", help="list the dialect's tags and APIs, and exit")
    common(conf)
    porting_cli.add_subcommands(sub)  # explain, port, port-file
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.command == "report":
        return _report(args)
    if args.command == "conformance":
        return _conformance(args)
    return porting_cli.run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 passed, 1 failed, 2 usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "report")  # `python -m unified_ce --full` is the report with options
    parser = _parser()
    args = parser.parse_args(argv)
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # `unified-ce` finds --impl modules where `python -m` does
    try:
        return _run(args)
    except (UsageError, InvalidArgumentError, InvalidTypeError) as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
