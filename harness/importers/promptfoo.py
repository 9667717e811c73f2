"""`tierwise import promptfoo CONFIG`: a promptfoo suite as Tierwise evals, golden sets and catalog.

How a suite maps (see docs/promptfoo.md):

- every promptfoo prompt becomes one task (a Tierwise task has one prompt; its candidates
  compete on it). One prompt: the task is named after the suite; several: `<suite>_<label>`.
  All tasks of a suite share one golden set, `golden_sets/<suite>.jsonl`.
- every test (after defaultTest is merged in and list-valued vars are expanded) is one case.
- every distinct check becomes one grader. A check whose value differs from test to test
  (equals: Yarr, equals: Ahoy) is one grader reading the value from each case's `expected`;
  a check only some tests have gets `expected_key:`, and cases without that key skip it.
- every provider becomes a catalog entry (a LiteLLM model string) and a candidate;
  promptfoo's `echo` becomes a python candidate that returns the rendered prompt. A task whose
  providers do not map is still written, with `candidates: []` (validate asks for one); the
  providers' `response_format` becomes the task's output schema.

Whatever cannot be carried over is listed in the report with its file and place; with
`strict=True` it is an error and nothing is written. An import that makes no task writes
nothing either: NothingImported counts the reasons.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ._promptfoo_asserts import NO_VALUE, BudgetSpent, Mapped, NotCarried, Renderer, dropped_for, map_assertion
from ._promptfoo_providers import PARAM_KEYS, Unsupported, catalog_entry, model_name, output_schema
from ._promptfoo_read import Dropped, Prompt, Suite, Test, read_suite
from ._promptfoo_report import ImportReport, NothingImported
from ._promptfoo_write import dump_yaml, echo_module, graders_module, jsonl, project_yaml, spec_header

__all__ = ["DEFAULT_THRESHOLD", "ImportReport", "NothingImported", "import_promptfoo"]

DEFAULT_THRESHOLD = 0.9


def import_promptfoo(config: str | Path, out_dir: str | Path, strict: bool = False,
                     threshold: float = DEFAULT_THRESHOLD, allow_outside: bool = False) -> ImportReport:
    """Turn a promptfoo config into a Tierwise project in out_dir (which must not hold one yet).

    threshold: the tasks' quality bar (promptfoo has none; a suite passes when every test does).
    strict: anything that cannot be carried over is a ConfigError, and nothing is written.
    allow_outside: read files that resolve outside the config's folder (listed in the report)
    instead of refusing them.
    """
    config, out_dir = Path(config), Path(out_dir)
    if not config.is_file():
        raise ConfigError(f"{config}: promptfoo config not found; fix: give the path to promptfooconfig.yaml")
    suite = read_suite(config, allow_outside)
    report = ImportReport(config, out_dir)
    dropped = list(suite.dropped)
    base = _cut_slug(_slug(suite.description or config.resolve().parent.name or "promptfoo"), 40) or "promptfoo"

    models, candidates, params, judges = _catalog(suite, dropped)
    output = _output(suite, dropped)
    graders, expected, latency = _graders(suite, judges, models, dropped, report)
    cases = _cases(suite, expected)
    files: dict[str, str] = {}
    echo_functions: dict[str, str] = {}
    skipped: list[str] = []  # why each prompt read did not become a task
    for prompt in suite.prompts:
        task = _task_name(base, prompt, suite, report.tasks)
        problem = _prompt_problem(prompt, suite, dropped)
        if problem is None and not graders:
            dropped.append(Dropped(prompt.file, prompt.place, f"prompt {prompt.label!r}",
                                   "no assertion could be carried over, and a Tierwise task needs a grader"))
            problem = "no assertion Tierwise can express"
        if problem is not None:
            skipped.append(problem)
            continue
        task_candidates = list(candidates)
        if "echo" in candidates:
            name = "echo" if len(suite.prompts) == 1 else f"echo-{task}"
            models[name] = {"python": f"promptfoo_echo:{_py_name(task)}"}
            echo_functions[_py_name(task)] = repr({"system": prompt.system, "user": prompt.user})
            task_candidates[task_candidates.index("echo")] = name
        spec = _spec(task, base, prompt, suite, graders, params, latency, threshold, task_candidates, output)
        files[f"evals/{task}.yaml"] = spec_header(config, prompt, bool(task_candidates)) + dump_yaml(spec)
        report.tasks.append(task)
        report.candidates = sorted(set(report.candidates) | set(task_candidates))
        if any(g["type"] == "llm_judge" for g in graders):
            report.needs_judge.append(task)
    if not report.tasks:
        read_drops = [d for d in suite.dropped
                      if d.what in ("prompt", "redteam") or d.what.startswith(("prompt file", "chat prompt"))]
        why_not = [d for d in dropped if d.what.startswith("prompt '")] + read_drops
        raise NothingImported(config, skipped + [d.why.split(";")[0] for d in read_drops],
                              why_not[0] if why_not else None)
    if not report.candidates:
        report.notes.append("no provider of the suite could be carried over (listed below): each task keeps its "
                            "prompt, golden set and graders with `candidates: []`; add a model to tierwise.yaml "
                            "models: and name it in the task's candidates:, then `tierwise validate`")
    report.models, report.cases = models, len(cases) if report.tasks else 0
    report.not_carried = _dedupe(dropped)
    if strict and report.not_carried:
        listed = "; ".join(str(d) for d in report.not_carried[:20])
        raise ConfigError(f"{config}: {len(report.not_carried)} thing(s) cannot be carried over (--strict): {listed}; "
                          "fix: change the promptfoo suite, or import without --strict and finish by hand")
    if report.tasks:
        files[f"golden_sets/{base}.jsonl"] = jsonl(cases)
    files["tierwise.yaml"] = project_yaml(config, models)
    files["registry.yaml"] = ("# What the application runs, per task type; `tierwise recommend --write` fills it.\n"
                              "tasks: {}\n")
    if echo_functions:
        files["promptfoo_echo.py"] = echo_module(config, echo_functions)
    python_files = {g["function"]: g.pop("_python_file") for g in graders if "_python_file" in g}
    if python_files:
        files["promptfoo_graders.py"] = graders_module(config, out_dir, python_files)
    _write(out_dir, files, report)
    return report


# ---- catalog --------------------------------------------------------------------------------


def _catalog(suite: Suite, dropped: list[Dropped]) -> tuple[dict[str, dict[str, Any]], list[str], dict[str, Any], dict[str, str]]:
    """Catalog entries and candidates from the providers; the call parameters they agree on."""
    models: dict[str, dict[str, Any]] = {}
    candidates: list[str] = []
    taken: set[str] = set()
    seen_params: list[dict[str, Any]] = []
    for p in suite.providers:
        if p.id == "echo":
            candidates.append("echo")
            continue
        try:
            entry, skipped = catalog_entry(p.id, p.config)
        except Unsupported as exc:
            dropped.append(Dropped(p.file, p.place, f"provider {p.id!r}", str(exc)))
            continue
        for key, why in skipped:
            dropped.append(Dropped(p.file, f"{p.place}.config.{key}", f"provider option {key!r}", why))
        name = model_name(p.id, p.label, taken)
        models[name] = entry
        candidates.append(name)
        seen_params.append({PARAM_KEYS[k]: v for k, v in p.config.items() if k in PARAM_KEYS})
    params: dict[str, Any] = {}
    for key in sorted({k for s in seen_params for k in s}):
        values = [s.get(key) for s in seen_params]
        if all(v == values[0] for v in values):
            params[key] = values[0]
        else:
            dropped.append(Dropped(suite.config_file, "providers", f"call parameter {key!r}",
                                   f"the providers set different values ({values}); a Tierwise task has one value "
                                   "for all candidates (set per-model values with prompt variants or the catalog)"))
    return models, candidates, params, {}


def _output(suite: Suite, dropped: list[Dropped]) -> dict[str, Any] | None:
    """The task's output schema from the providers' `response_format` (inline or a file:// the reader
    loaded), when every provider that sets one asks for the same schema."""
    schemas: list[tuple[Any, dict[str, Any]]] = []
    for p in suite.providers:
        if "response_format" not in p.config:
            continue
        try:
            schemas.append((p, output_schema(p.config["response_format"])))
        except Unsupported as exc:
            dropped.append(Dropped(p.file, f"{p.place}.config.response_format", "provider option 'response_format'",
                                   str(exc)))
    if not schemas:
        return None
    distinct = {json.dumps(s, sort_keys=True) for _, s in schemas}
    if len(distinct) > 1:
        dropped.append(Dropped(suite.config_file, "providers", "response_format",
                               f"the providers ask for {len(distinct)} different output schemas; a Tierwise task has "
                               "one output: (split the suite, one task per schema)"))
        return None
    return schemas[0][1]


def _judge_name(provider_id: str | None, judges: dict[str, str], models: dict[str, dict[str, Any]],
                dropped: list[Dropped], file: str, place: str) -> str | None:
    if provider_id is None:
        return None
    if provider_id in judges:
        return judges[provider_id]
    try:
        entry, _ = catalog_entry(provider_id, {})
    except Unsupported as exc:
        dropped.append(Dropped(file, place, f"grading provider {provider_id!r}", str(exc)))
        return None
    same = next((n for n, e in models.items() if e == entry), None)
    name = same or model_name(provider_id, None, set(models))
    models.setdefault(name, entry)
    judges[provider_id] = name
    return name


# ---- graders and expected values ------------------------------------------------------------


def _graders(suite: Suite, judges: dict[str, str], models: dict[str, dict[str, Any]], dropped: list[Dropped],
             report: ImportReport) -> tuple[list[dict[str, Any]], list[Any], float | None]:
    """The task's graders and each case's expected value (plain, or a mapping by expected_key)."""
    with Renderer() as renderer:
        per_test, latency, metrics = _map_tests(suite, judges, models, dropped, report, renderer)
    if metrics:
        report.notes.append(f"promptfoo metric names ({', '.join(sorted(metrics))}) are not kept: Tierwise scores a "
                            "task as the weighted mean of its graders, and each grade keeps its grader's reason")
    return _group(per_test, len(suite.tests)) + (latency,)


def _map_tests(suite: Suite, judges: dict[str, str], models: dict[str, dict[str, Any]], dropped: list[Dropped],
               report: ImportReport, renderer: Renderer) -> tuple[list[list[Mapped]], float | None, set[str]]:
    per_test: list[list[Mapped]] = []
    latency: float | None = None
    metrics: set[str] = set()
    notes: set[str] = set(report.notes)
    for t in suite.tests:
        mapped_here: list[Mapped] = []
        _test_options(t, dropped)
        if t.threshold is not None:
            at = f"{t.place}, __threshold" if t.file.endswith(".csv") else f"{t.place}.threshold"
            dropped.append(Dropped(t.file, at, f"test threshold {t.threshold}",
                                   "Tierwise has no per-case pass threshold: a case passes when every grader passes, "
                                   "and the task's threshold applies to the mean score"))
        judge = t.options.get("provider")
        for a, file, place in t.asserts:
            if isinstance(a, dict) and a.get("metric"):
                metrics.add(str(a["metric"]))
            try:
                m = map_assertion(a, t.vars, judge, renderer)
            except NotCarried as exc:
                dropped.append(dropped_for(a, file, place, str(exc)))
                continue
            except BudgetSpent as exc:
                raise ConfigError(f"{file}: {place}: the suite's assertion templates went past the import's budget "
                                  f"({exc}); fix: simplify the templates (see docs/security.md)") from None
            if m.note and m.note not in notes:
                notes.add(m.note)
                report.notes.append(m.note)
            if m.latency_ms is not None:
                latency = m.latency_ms if latency is None else min(latency, m.latency_ms)
                continue
            if m.config["type"] == "llm_judge":
                name = _judge_name(m.judge, judges, models, dropped, file, place)
                if name is not None:
                    m.config["judge"] = name
            if m.python_file is not None:
                path, func = m.python_file
                m.config["function"] = f"promptfoo_graders:{_py_name(Path(path).stem + '_' + func)}"
                m.config["_python_file"] = [path, func]
            mapped_here.append(m)
        per_test.append(mapped_here)
    return per_test, latency, metrics


def _group(per_test: list[list[Mapped]], n: int) -> tuple[list[dict[str, Any]], list[Any]]:
    # The k-th check of one kind in a test lines up with the k-th of that kind in every other
    # test (defaultTest's come first, so they line up exactly): five rubrics stay five graders.
    groups: dict[str, list[tuple[int, Mapped]]] = {}
    for j, ms in enumerate(per_test):
        seen: dict[str, int] = {}
        for m in ms:
            template = json.dumps([m.config, m.option], sort_keys=True, default=str)
            k = seen[template] = seen.get(template, -1) + 1
            groups.setdefault(f"{template}#{k}", []).append((j, m))
    # (config, payload by case, reads expected)
    built: list[tuple[dict[str, Any], dict[int, Any], bool, str]] = []
    for members in groups.values():
        first = members[0][1]
        values = [m.value for _, m in members]
        same = all(json.dumps(v, sort_keys=True, default=str) == json.dumps(values[0], sort_keys=True, default=str)
                   for v in values)
        if first.value is NO_VALUE or (first.option is not None and same):
            config = dict(first.config)
            if first.option is not None:
                config[first.option] = first.value
            built.append((config, {j: True for j, _ in members}, False, first.name))
        elif first.via_expected:
            built.append((dict(first.config), {j: m.value for j, m in members}, True, first.name))
        else:  # the value must be an option (a regex pattern, a schema): one grader per value
            by_value: dict[str, list[tuple[int, Mapped]]] = {}
            for j, m in members:
                by_value.setdefault(json.dumps(m.value, sort_keys=True, default=str), []).append((j, m))
            for sub in by_value.values():
                config = dict(first.config)
                config[first.option] = sub[0][1].value
                built.append((config, {j: True for j, _ in sub}, False, sub[0][1].name))
    return _expected(built, n)


def _expected(built: list[tuple[dict[str, Any], dict[int, Any], bool, str]], n: int
              ) -> tuple[list[dict[str, Any]], list[Any]]:
    """Plain `expected` when one grader reads it for every case and no other needs a key;
    otherwise a mapping per case, one key per grader that reads it or applies to some cases only."""
    needs_key = [i for i, (_, payload, reads, _) in enumerate(built) if reads or len(payload) < n]
    if len(needs_key) == 1 and built[needs_key[0]][2] and len(built[needs_key[0]][1]) == n:
        i = needs_key[0]
        return [c for c, *_ in built], [built[i][1][j] for j in range(n)]
    expected: list[Any] = [None] * n
    taken: set[str] = set()
    next_suffix: dict[str, int] = {}  # per name, so G graders of one name take O(G) steps, not O(G^2)
    graders = []
    keyed = set(needs_key)
    for i, (config, payload, reads, name) in enumerate(built):
        config = dict(config)
        if i in keyed:
            key, k = name, next_suffix.get(name, 2)
            while key in taken:
                key, k = f"{name}_{k}", k + 1
            next_suffix[name] = k
            taken.add(key)
            config["expected_key"] = key
            for j, value in payload.items():
                if expected[j] is None:
                    expected[j] = {}
                expected[j][key] = value
        graders.append(config)
    return graders, expected


def _test_options(t: Test, dropped: list[Dropped]) -> None:
    for key, value in t.options.items():
        if key == "provider":
            continue  # the judge of llm-rubric assertions
        if key == "transform":
            why = ("Tierwise grades the raw output; this test's assertions were carried over as checks on the raw "
                   "output, without the transform")
        else:
            why = "this test option has no Tierwise counterpart"
        dropped.append(Dropped(t.file, f"{t.place}.options.{key}", f"{key} {str(value)[:60]!r}", why))


# ---- cases, prompts, specs ------------------------------------------------------------------


def _cases(suite: Suite, expected: list[Any]) -> list[dict[str, Any]]:
    cases = []
    for j, (t, want) in enumerate(zip(suite.tests, expected)):
        case: dict[str, Any] = {"id": f"pf-{j + 1:03d}", "vars": t.vars}
        if want is not None:
            case["expected"] = want
        metadata = {"promptfoo": f"{t.file}: {t.place}"}
        if t.description:
            metadata["description"] = t.description
        metadata.update({k: v for k, v in t.metadata.items() if k not in metadata})
        case["metadata"] = metadata
        cases.append(case)
    return cases


def _prompt_problem(prompt: Prompt, suite: Suite, dropped: list[Dropped]) -> str | None:
    """None when the prompt compiles as a Jinja2 template and every test gives the variables it uses;
    else the problem in a few words (listed in full in dropped)."""
    import jinja2
    from jinja2 import meta

    from ..project import prompt_env

    env = prompt_env()
    names: set[str] = set()
    for text in (prompt.system, prompt.user):
        if text is None:
            continue
        try:
            env.from_string(text)  # compiling finds unknown filters (Nunjucks-only ones such as `load`)
            names |= meta.find_undeclared_variables(env.parse(text))
        except jinja2.TemplateError as exc:
            dropped.append(Dropped(prompt.file, prompt.place, f"prompt {prompt.label!r}",
                                   f"not a Jinja2 template Tierwise can render ({exc}); rewrite it without that "
                                   "Nunjucks feature"))
            return "a prompt that is not a Jinja2 template"
    for t in suite.tests:
        missing = sorted(names - set(t.vars))
        if missing:
            dropped.append(Dropped(prompt.file, prompt.place, f"prompt {prompt.label!r}",
                                   f"uses {missing[0]!r}, which {t.file}: {t.place} does not give (promptfoo would "
                                   "render it empty; Tierwise refuses undefined variables)"))
            return "a prompt variable and no tests" if t.place.startswith("(no tests") else \
                "a prompt variable a test does not give"
    return None


def _task_name(base: str, prompt: Prompt, suite: Suite, taken: list[str]) -> str:
    name = base if len(suite.prompts) == 1 else f"{base}_{_cut_slug(_slug(prompt.label), 30)}"
    unique, k = name, 2
    while unique in taken:
        unique, k = f"{name}_{k}", k + 1
    return unique


def _spec(task: str, base: str, prompt: Prompt, suite: Suite, graders: list[dict[str, Any]], params: dict[str, Any],
          latency: float | None, threshold: float, candidates: list[str], output: dict[str, Any] | None
          ) -> dict[str, Any]:
    spec: dict[str, Any] = {"task": task}
    if suite.description:
        spec["description"] = str(suite.description)
    spec["golden_set"] = f"golden_sets/{base}.jsonl"
    spec["prompt"] = {k: v for k, v in (("system", prompt.system), ("user", prompt.user)) if v is not None}
    if output is not None:
        spec["output"] = {"json_schema": output}
    if params:
        spec["params"] = params
    spec["graders"] = [{k: v for k, v in g.items() if not k.startswith("_")} for g in graders]
    spec["threshold"] = threshold
    spec["confidence"] = 0.95
    if latency is not None:
        spec["max_p95_latency_ms"] = latency
    spec["candidates"] = candidates
    return spec


# ---- writing --------------------------------------------------------------------------------


def _write(out_dir: Path, files: dict[str, str], report: ImportReport) -> None:
    clashes = [name for name in files if (out_dir / name).exists()]
    if clashes:
        raise ConfigError(f"{out_dir / clashes[0]}: already exists; fix: import into an empty folder (--out DIR), "
                          "the import never overwrites a project")
    for name, text in files.items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        report.written.append(path)


# ---- small helpers ------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "task"


def _cut_slug(slug: str, limit: int) -> str:
    """A slug of at most `limit` characters, cut after a whole word ("support_reply_tone"), not
    inside one ("support_reply_to"); a single word longer than the limit is cut at the limit."""
    if len(slug) <= limit:
        return slug
    cut = slug[:limit + 1].rfind("_")
    return (slug[:cut] if cut > 0 else slug[:limit]).strip("_")


def _py_name(text: str) -> str:
    name = re.sub(r"\W+", "_", text).strip("_") or "f"
    return name if not name[0].isdigit() else f"f_{name}"


def _dedupe(items: list[Dropped]) -> list[Dropped]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for d in items:
        key = (d.file, d.place, d.what)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
