"""The `tierwise` command. Each command parses its arguments and makes one library call."""

from __future__ import annotations

import os
import sys

import click

from .errors import TierwiseError

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _project(path: str):
    from .project import load_project

    return load_project(path)


def _shard(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        index, count = (int(x) for x in value.split("/"))
    except ValueError:
        raise click.BadParameter(f"{value!r}: use i/n, e.g. 2/4", param_hint="'--shard'") from None
    if not 1 <= index <= count:
        raise click.BadParameter(f"{value!r}: i must be between 1 and n, e.g. 2/4 (shard 2 of 4)",
                                 param_hint="'--shard'")
    return index, count


run_group_option = click.option("--run-group", metavar="NAME",
                                help="Read the shards of this run group as one; refuse while any has not finished.")
project_option = click.option("--project", "project_dir", default=".", show_default=True,
                              type=click.Path(file_okay=False), help="The project folder (with tierwise.yaml).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tierwise", message="tierwise %(version)s")
def cli() -> None:
    """Tierwise: for each task type, the cheapest model that is good enough, and how sure we are."""


@cli.command()
@click.argument("folder", default=".", type=click.Path(file_okay=False))
def init(folder: str) -> None:
    """Scaffold tierwise.yaml, evals/, golden_sets/ and registry.yaml in FOLDER."""
    from .commands import init
    from .project import NEXT_STEPS

    for path in init(folder):
        click.echo(f"created {path}")
    where = "" if folder in (".", "") else f"cd {folder} && "
    click.echo("\nnext (runs offline; API models join when their key is set):\n"
               + "\n".join(f"  {where if i == 0 else ''}{step}" for i, step in enumerate(NEXT_STEPS)))


@cli.command()
@project_option
def validate(project_dir: str) -> None:
    """Check specs, golden sets and the catalog; calls no model."""
    from .commands import validate as check

    warnings, summary = check(_project(project_dir))
    for line in warnings:
        click.echo(f"warning: {line}", err=True)
    click.echo(summary)


@cli.command()
@click.argument("task")
@click.option("--template", is_flag=True, required=True,
              help="Add the task's current outputs that no label covers, with \"verdict\": null, to its labels file.")
@click.option("--out", metavar="FILE", help="Write to FILE instead of the spec's judge.labels.")
@click.option("--store", help="SQLAlchemy URL of the results store (default: tierwise.yaml's).")
@project_option
def labels(task: str, template: bool, out: str | None, store: str | None, project_dir: str) -> None:
    """Start or extend TASK's human labels from its current outputs (a judged task's labels need outputs first)."""
    from .commands import label_template

    click.echo(label_template(_project(project_dir), task, out, store).text())


@cli.command()
@project_option
def models(project_dir: str) -> None:
    """The catalog: kind, price, and whether each model can run here."""
    from .commands import catalog_table

    click.echo(catalog_table(project_dir))


@cli.command()
@click.argument("tasks", nargs=-1)
@click.option("--models", "models_", help="Comma-separated model names to run (default: each task's candidates).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N cases of each golden set.")
@click.option("--store", help="SQLAlchemy URL of the results store (default: tierwise.yaml's).")
@click.option("--no-cache", is_flag=True, help="Call again even when a result or cached response exists.")
@click.option("--shard", help="Run only shard i of n (i/n) of the cases, for parallel CI jobs.")
@click.option("--max-errors", type=click.FloatRange(0, 1), metavar="RATE",
              help="Exit 1 when a task × model's share of failed calls passes RATE (default: each spec's "
                   "max_error_rate, else 0.1).")
@click.option("--run-group", metavar="NAME", help="Name shared by the shard jobs of one run (e.g. the CI run id); "
                                                  "recommend/report/gate --run-group read them as one.")
@click.option("--adaptive/--no-adaptive", default=None,
              help="Run in rounds, cheapest candidates first, and stop each once settled (default: the spec's).")
@click.option("--repeats", type=click.IntRange(min=1, max=100), help="Run each case K times (default: the spec's).")
@click.option("--dry-run", is_flag=True, help="Print the calls, tokens and dollars it would take; call nothing.")
@click.option("--budget", type=click.FloatRange(min=0), metavar="USD",
              help="Stop before this run's spend would pass USD dollars (exit 1: incomplete); re-run to resume.")
@click.option("--workers", type=click.IntRange(min=1, max=64), metavar="N",
              help="Processes making the API calls (default: tierwise.yaml's workers:, else one per core for "
                   "runs with many API calls, 1 otherwise).")
@click.option("--quiet", is_flag=True, help="No progress output.")
@project_option
def run(tasks, models_, limit, store, no_cache, shard, max_errors, run_group, adaptive, repeats, dry_run, budget,
        workers, quiet, project_dir) -> None:
    """Evaluate TASKS (default: all) against their candidate models."""
    from .commands import RunRequest, run_command

    chosen = [m.strip() for m in models_.split(",") if m.strip()] if models_ else None
    request = RunRequest(list(tasks) or None, chosen, limit, store, no_cache, _shard(shard), max_errors, run_group,
                         adaptive, repeats, budget, workers, progress=not quiet)
    outcome = run_command(_project(project_dir), request, dry_run=dry_run)
    for line in outcome.out:
        click.echo(line)
    for line in outcome.err:
        click.echo(line, err=True)
    if outcome.exit_code:
        sys.exit(outcome.exit_code)


@cli.command()
@click.argument("tasks", nargs=-1)
@click.option("--write", is_flag=True, help="Update registry.yaml and its evidence file.")
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON document (docs/json.md).")
@click.option("--against", metavar="MODEL", help="Also project the monthly spend with MODEL on every task "
                                                 "(your frontier model) against the recommendation.")
@click.option("--store", help="SQLAlchemy URL of the results store (default: tierwise.yaml's).")
@run_group_option
@project_option
def recommend(tasks, write, as_json, against, store, run_group, project_dir) -> None:
    """Per task, the cheapest model whose quality clears the bar, with fallbacks and evidence."""
    from .commands import recommend_command

    outcome = recommend_command(_project(project_dir), list(tasks) or None, write, against, store, run_group)
    click.echo(outcome.to_json() if as_json else outcome.text())


@cli.command()
@click.option("--base", metavar="REF", help="Git ref to compare registry.yaml against; changed entries are gated first.")
@click.option("--rerun", is_flag=True, help="Re-evaluate the changed tasks (all without --base) instead of trusting "
                                            "the recorded evidence; needs the models' keys.")
@click.option("--junit", "junit", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also write JUnit XML, one test case per registry entry.")
@click.option("--store", help="SQLAlchemy URL of the results store for --rerun (default: tierwise.yaml's).")
@run_group_option
@project_option
def gate(base, rerun, junit, store, run_group, project_dir) -> None:
    """Check that every registry.yaml entry is backed by current, passing evidence (exit 1 if not)."""
    from .commands import gate as run_gate

    if run_group and not rerun:
        raise click.UsageError("--run-group goes with --rerun: the gate then judges the group's fresh results")
    result = run_gate(_project(project_dir), base=base, rerun=rerun, store=store, progress=rerun and not run_group,
                      run_group=run_group, junit=junit)
    click.echo(result.text())
    sys.exit(result.exit_code)


@cli.command()
@click.argument("tasks", nargs=-1)
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for index.html, summary.md and report.json (default: the project's reports/).")
@click.option("--store", help="SQLAlchemy URL of the results store (default: tierwise.yaml's).")
@run_group_option
@project_option
def report(tasks, out_dir, store, run_group, project_dir) -> None:
    """Write the HTML report (self-contained, opens offline), a Markdown summary and JSON."""
    from .commands import report as write_report

    click.echo(write_report(_project(project_dir), list(tasks) or None, out_dir, store, run_group).text())


@cli.command()
@click.option("--from", "source", type=click.Path(dir_okay=False), metavar="FILE",
              help="A usage export instead of the ledger: LiteLLM spend logs (JSON/JSONL), an OTLP/JSON trace "
                   "export of GenAI spans, or CSV/JSONL with task, model, tokens or cost, latency.")
@click.option("--task-attribute", metavar="NAME",
              help="With an OTLP export: the span (or resource) attribute that names the task (default "
                   "tierwise.task, which harness.Client sets).")
@click.option("--sample", nargs=2, type=(str, click.IntRange(min=1)), metavar="TASK N",
              help="Also write N recent captured inputs of TASK as unlabelled golden-set candidates.")
@click.option("--out", "out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Where --sample writes (default: golden_sets/TASK.candidates.jsonl).")
@click.option("--skip-bad", is_flag=True,
              help="Skip an export's bad rows and count them (a note), instead of stopping at the first.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document instead of text.")
@click.option("--store", help="SQLAlchemy URL of the store holding the ledger (default: tierwise.yaml's).")
@click.option("--check", is_flag=True, help="Exit 1 when a live monitor is in alarm (for a scheduled CI job).")
@project_option
def audit(source, task_attribute, sample, out, skip_bad, as_json, store, check, project_dir) -> None:
    """Where the money goes: per task and pipeline run, and what the recommendation would change."""
    from .commands import audit_command

    outcome = audit_command(project_dir, source=source, store=store, sample=sample, out=out, skip_bad=skip_bad,
                            check=check, task_attribute=task_attribute)
    click.echo(outcome.to_json() if as_json else outcome.text())
    for line in outcome.err:
        click.echo(line, err=True)
    if outcome.exit_code:
        sys.exit(outcome.exit_code)


@cli.group()
def export() -> None:
    """Write the registry in another tool's format."""


@export.command("litellm")
@click.option("--out", "out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Where to write (default: litellm_config.yaml in the project).")
@click.option("--local-api-base", metavar="URL",
              help="Where local models are served (llama-cpp-python's server, each under its catalog name): "
                   "export them as openai/<name> there instead of leaving them out.")
@project_option
def export_litellm(out, local_api_base, project_dir) -> None:
    """The registry as a LiteLLM Router / proxy config: one model group per task, with fallbacks."""
    from .commands import export_litellm

    click.echo(export_litellm(_project(project_dir), out, local_api_base).text())


@cli.command()
@click.argument("run_a", required=False)
@click.argument("run_b", required=False)
@click.option("--task", "tasks", multiple=True, help="Only this task (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document instead of text.")
@click.option("--store", help="SQLAlchemy URL of the results store (default: tierwise.yaml's).")
@project_option
def diff(run_a, run_b, tasks, as_json, store, project_dir) -> None:
    """What changed between RUN_A and RUN_B (run ids or run groups), per task and model;
    default: the last two runs of each task."""
    import json

    from .commands import diff as diff_runs

    result = diff_runs(_project(project_dir), run_a, run_b, store, list(tasks) or None)
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.text())


@cli.command()
@click.option("--keep-runs", type=click.IntRange(min=0), metavar="N", help="Keep the newest N runs (a run group is one).")
@click.option("--older-than", "older_than", type=click.FloatRange(min=0), metavar="DAYS",
              help="Drop runs older than DAYS (with --keep-runs: only those also outside the newest N).")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--store", help="SQLAlchemy URL of the results store (default: tierwise.yaml's).")
@project_option
def prune(keep_runs, older_than, dry_run, store, project_dir) -> None:
    """Drop old runs' results; never the rows registry.evidence.json cites, nor current ones."""
    from .commands import prune as prune_store

    click.echo(prune_store(_project(project_dir), keep_runs, older_than, store, dry_run).text())


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="Port (0: a free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback shares the page on the network.")
@click.option("--read-only", is_flag=True, help="Refuse every write (for sharing the view).")
@click.option("--no-open", is_flag=True, help="Print the URL; do not open a browser.")
@click.option("--as", "who", metavar="NAME", help="Who answers, recorded with each label (default: the OS user).")
@click.option("--store", help="SQLAlchemy URL of the results store (default: tierwise.yaml's).")
@project_option
def view(port, host, read_only, no_open, who, store, project_dir) -> None:
    """A local web app: decisions live from the store, a task's cases side by side, a labelling queue."""
    from .commands import view as open_view

    server = open_view(_project(project_dir), host, port, read_only, who, store)
    click.echo(f"tierwise view: {server.url}\n(the token in the URL is the key: share it only with people "
               f"who may {'read' if read_only else 'write to'} this project; Ctrl-C stops)")
    if not no_open:
        import webbrowser

        webbrowser.open(server.url)
    server.serve()


@cli.group(name="import")
def import_() -> None:
    """Import another tool's eval suite as a Tierwise project."""


@import_.command("promptfoo")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write the project into; it must not hold a Tierwise project yet.")
@click.option("--strict", is_flag=True, help="Fail, writing nothing, if anything cannot be carried over.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.9, show_default=True,
              help="Quality bar for the imported tasks (promptfoo has none).")
@click.option("--allow-outside", is_flag=True,
              help="Read file:// references outside the config's folder (listed in the report) instead of refusing them.")
def import_promptfoo_cmd(config: str, out_dir: str, strict: bool, threshold: float, allow_outside: bool) -> None:
    """Evals, golden sets and catalog from a promptfoo config."""
    from .commands import import_promptfoo

    click.echo(str(import_promptfoo(config, out_dir, strict=strict, threshold=threshold, allow_outside=allow_outside)))


def _terminate_as_interrupt() -> None:
    """A CI cancel (SIGTERM) ends a run like Ctrl-C: finished results kept, the run marked."""
    import signal

    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use)
        pass


def main() -> None:
    """Entry point: a TierwiseError is one line on stderr and exit code 2, never a traceback."""
    _terminate_as_interrupt()
    try:
        code = cli.main(standalone_mode=False)
    except TierwiseError as exc:
        from .util import redact

        click.echo(redact(f"error: {exc}"), err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:  # a path that is a folder, not writable, …: bad input, not a crash
        from .util import redact

        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        click.echo(redact(f"error: {where}{exc.strerror or exc}"), err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
