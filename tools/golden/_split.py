"""Write a recorder's cases: APIs the dialect has go into its golden file, the others wait in ``pending/``.

``tests/test_golden.py`` runs every case of ``unified_ce/conformance/golden/<dialect>.json``, so a
case for an API that the dialect does not have yet would fail there.  The recorders of the newer
APIs (``record_torch_losses.py``, ...) therefore *merge* the cases of the APIs listed in
``ready`` into the golden file (replacing earlier cases of those APIs, keeping every other case
as it is) and write the rest to ``tools/golden/pending/<name>.json``.
"""

from __future__ import annotations

from pathlib import Path

from _common import GOLDEN_DIR, _format

PENDING_DIR = Path(__file__).resolve().parent / "pending"


def write(payload: dict, dialect: str, name: str, ready: set[str], apis: set[str]) -> None:
    """``apis``: every API this recorder records; ``ready``: those the dialect implements."""
    cases = payload["cases"]
    done = [c for c in cases if c["api"] in ready]
    waiting = [c for c in cases if c["api"] not in ready]
    pending = PENDING_DIR / f"{name}.json"
    if waiting:
        PENDING_DIR.mkdir(exist_ok=True)
        _format.dump(dict(payload, cases=waiting), pending)
        print(f"wrote {pending} ({len(waiting)} cases of {sorted({c['api'] for c in waiting})})")
    elif pending.exists():
        pending.unlink()
        print(f"removed {pending}")
    if done:
        path = GOLDEN_DIR / f"{dialect}.json"
        golden = _format.load(path) if path.exists() else dict(payload, cases=[])
        kept = [c for c in golden["cases"] if c["api"] not in apis]
        rw = ", ".join(f"{k} {v}" for k, v in sorted(payload["recorded_with"].items()))
        golden["recorded_with"] = {**golden.get("recorded_with", {}), f"{name} ({', '.join(sorted(apis))})": rw}
        _format.dump(dict(golden, cases=kept + done), path)
        print(f"merged {len(done)} cases into {path} ({len(kept) + len(done)} cases)")
