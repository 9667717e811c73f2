"""The application layer: one module per command's use case. Each opens what it needs (the
project, the store, the registry), calls the domain packages and returns a result the CLI prints;
`harness/cli.py` only parses arguments and calls one function here.

    _project.py     init, validate, models
    _run.py         run (and --dry-run's estimate), its outcome and exit code
    _recommend.py   recommend (and --write, --against)
    _gate.py        gate (--base, --rerun)
    _audit.py       audit
    _diff.py        diff
    _prune.py       prune
    _labels.py      labels --template
    _report.py      report
    _exchange.py    import promptfoo, export litellm
    _view.py        view (the local web app)
    _progress.py    a run in progress per task and candidate (the view polls it)

No domain package imports this one (the import-linter contracts in pyproject.toml say so, and
tests/test_layers.py runs them).
"""

from .._lazy import lazy_attributes

__all__ = ["LabelTemplate", "LiveProgress", "RecommendOutcome", "RunDiff", "RunOutcome", "RunRequest", "audit", "catalog_rows", "catalog_table",
           "diff", "export_litellm", "gate", "import_promptfoo", "init", "label_template", "outcome_of", "prune", "recommend",
           "recommend_command", "report", "ReportOutcome", "run_command", "run_progress", "task_runs", "validate", "view",
           "view_config", "ViewServer"]

# Each command's module loads when it is first used: `validate` and `gate` need neither the store
# nor SQLAlchemy, `--help` nothing at all.
_LAZY = {
    **dict.fromkeys(["catalog_rows", "catalog_table", "init", "validate"], "_project"),
    **dict.fromkeys(["RunOutcome", "RunRequest", "outcome_of", "run_command"], "_run"),
    **dict.fromkeys(["RecommendOutcome", "recommend", "recommend_command"], "_recommend"),
    "gate": "_gate", "audit": "_audit", "prune": "_prune", **dict.fromkeys(["ReportOutcome", "report"], "_report"),
    **dict.fromkeys(["LabelTemplate", "label_template"], "_labels"),
    **dict.fromkeys(["RunDiff", "diff", "task_runs"], "_diff"),
    **dict.fromkeys(["LiveProgress", "run_progress"], "_progress"),
    **dict.fromkeys(["export_litellm", "import_promptfoo"], "_exchange"),
    **dict.fromkeys(["ViewServer", "view", "view_config"], "_view"),
}


__getattr__ = lazy_attributes(__name__, _LAZY)
