"""Import every promptfoo suite of the corpus, one at a time and offline, then validate the result.

    PYTHONPATH=. python benchmarks/promptfoo_corpus.py [CORPUS_DIR] [--show OUTCOME]

Each suite (examples/**/promptfooconfig*.yaml in tests/data/promptfoo_corpus/) is imported into a
fresh temporary folder with `import_promptfoo`, and the project it wrote is loaded and checked
as `tierwise validate` does. The errors are classified as the CLI's `main()` treats them: a
TierwiseError or OSError is a clean refusal (one line, its exit code), anything else would be
a traceback. Outcomes:

- imports and validates
- imports; validates once a candidate is named: validate's only complaint is a task without
  candidates (no provider of the suite maps); the script names a stand-in candidate in each such
  task and validates again
- exits 0 with no task: the import succeeded and wrote no eval spec
- imports, validate fails
- clean refusal (exit N)
- traceback

For every outcome but the first, the reasons are counted (file names and quoted values
replaced, so that one cause is one line). Nothing here reaches the network.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "promptfoo_corpus"
OUTCOMES = ("imports and validates", "imports; validates once a candidate is named", "exits 0 with no task",
            "imports, validate fails", "clean refusal", "traceback")
_STAND_IN = "stand-in"


def suites(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("promptfooconfig*.y*ml") if p.is_file())


def _reason(message: str) -> str:
    """One line per cause: paths, places and quoted values replaced."""
    text = message.splitlines()[0] if message else ""
    text = text.split("; the first: ")[0]  # the count of reasons is the cause; the example varies
    text = re.sub(r"which .*? does not give", "which a test does not give", text)
    text = re.sub(r"\S*/\S*", "<path>", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"\[\d+\]", "[i]", text)
    text = re.sub(r"\d+", "N", text)
    text = re.sub(r"^(<path>|[\w.\-]+\.(ya?ml|json|jsonl|csv|py|txt))(:N)*: ", "", text)
    return text[:150]


def _clean(exc: BaseException) -> int | None:
    """The exit code the CLI's main() gives this exception, or None when it would be a traceback."""
    from harness.errors import TierwiseError

    if isinstance(exc, TierwiseError):
        return exc.exit_code
    if isinstance(exc, OSError):
        return 2
    return None


def _validate(out: Path) -> None:
    from harness.project import load_project
    from harness.runner import check

    check(load_project(out))


def _name_a_candidate(out: Path) -> int:
    """Name a stand-in candidate in every task without one; the number of tasks changed."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    changed = 0
    for spec_path in (out / "evals").glob("*.yaml"):
        spec = yaml.load(spec_path.read_text(encoding="utf-8"))
        if not spec.get("candidates"):
            spec["candidates"] = [_STAND_IN]
            with spec_path.open("w", encoding="utf-8") as fh:
                yaml.dump(spec, fh)
            changed += 1
    if changed:
        config_path = out / "tierwise.yaml"
        config = yaml.load(config_path.read_text(encoding="utf-8"))
        config.setdefault("models", {})
        config["models"] = {**(config["models"] or {}), _STAND_IN: {"litellm": "openai/gpt-4o-mini"}}
        with config_path.open("w", encoding="utf-8") as fh:
            yaml.dump(config, fh)
    return changed


def classify(config: Path, work: Path) -> tuple[str, str, dict[str, int]]:
    """(outcome, reason, figures) for one suite, imported into a fresh folder under work."""
    from harness.importers import import_promptfoo

    out = Path(tempfile.mkdtemp(dir=work))
    figures = {"tasks": 0, "cases": 0}
    try:
        report = import_promptfoo(config, out)
    except BaseException as exc:  # noqa: BLE001 - classified as the CLI would
        if isinstance(exc, KeyboardInterrupt):
            raise
        code = _clean(exc)
        if code is None:
            return "traceback", f"{type(exc).__name__}: {_reason(str(exc))} ({_where(exc)})", figures
        return "clean refusal", f"exit {code}: {_reason(str(exc))}", figures
    figures = {"tasks": len(report.tasks), "cases": report.cases}
    if not report.tasks:
        return "exits 0 with no task", _no_task_reason(report), figures
    try:
        _validate(out)
        return "imports and validates", "", figures
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        first = f"{'' if _clean(exc) is not None else type(exc).__name__ + ': '}{_reason(str(exc))}"
        if "candidate" not in str(exc) or not _name_a_candidate(out):
            return "imports, validate fails", first, figures
    try:
        _validate(out)
        return "imports; validates once a candidate is named", "", figures
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "imports, validate fails", f"with a candidate named: {_reason(str(exc))}", figures


def _where(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno}"


def _no_task_reason(report) -> str:
    whys = [d.why for d in report.not_carried if d.what.startswith(("prompt", "chat prompt"))]
    return _reason(whys[0]) if whys else "no prompt was read"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=CORPUS)
    parser.add_argument("--show", metavar="OUTCOME", help="also list the suites with this outcome (a prefix)")
    parser.add_argument("--smoke", action="store_true", help="seconds: the first 12 suites, the same code path")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    found = suites(args.corpus)[:12] if args.smoke else suites(args.corpus)
    if not found:
        sys.exit(f"{args.corpus}: no promptfooconfig*.yaml found")
    counts: collections.Counter[str] = collections.Counter()
    reasons: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    listed: list[str] = []
    totals: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    slowest = (0.0, "")
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        for config in found:
            start = time.perf_counter()
            try:
                outcome, reason, figures = classify(config, Path(tmp))
            finally:
                os.chdir(cwd)
            took = time.perf_counter() - start
            slowest = max(slowest, (took, str(config.relative_to(args.corpus))))
            counts[outcome] += 1
            totals[outcome].update(figures)
            if reason:
                reasons[outcome][reason] += 1
            if args.show is not None and outcome.startswith(args.show):
                listed.append(f"{config.relative_to(args.corpus)}: {outcome}: {reason}")
    print(f"{len(found)} promptfoo suites from {args.corpus}\n")
    print("| outcome | suites |\n|---|---|")
    for outcome in OUTCOMES:
        extra = (f" ({totals[outcome]['tasks']} tasks, {totals[outcome]['cases']:,} cases)"
                 if outcome in OUTCOMES[:2] and counts[outcome] else "")
        print(f"| {outcome} | {counts[outcome]}{extra} |")
    for outcome in OUTCOMES:
        if reasons[outcome]:
            print(f"\n{outcome}, by reason:")
            for reason, n in reasons[outcome].most_common():
                print(f"  {n:4d}  {reason}")
    print(f"\nslowest import+validate: {slowest[0]:.2f} s ({slowest[1]})")
    if listed:
        print("\n" + "\n".join(listed))


if __name__ == "__main__":
    main()
