"""`tierwise labels TASK --template`: the outputs people should judge, written as label lines
waiting for a verdict, so a judged task's labels file can start from zero (labels need outputs
first; project/_labels.py reads a `"verdict": null` line as not labelled yet)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..project import Project, load_labels, template_lines
from ..runner import results
from ..util import atomic_write, redactor


@dataclass
class LabelTemplate:
    path: Path
    shown: str
    added: int       # new lines waiting for a verdict
    waiting: int     # lines waiting for a verdict in all (new and earlier)
    labelled: int    # lines with a verdict

    def text(self) -> str:
        if not self.added:
            return (f"{self.shown}: nothing new to label ({self.labelled} verdicts, {self.waiting} waiting); "
                    f"run the task's models first if it has no outputs yet")
        return (f"{self.shown}: {self.added} outputs to judge added ({self.waiting} waiting, {self.labelled} "
                f"verdicts so far); fix each \"verdict\": null to pass or fail (a note is welcome), then "
                f"`tierwise recommend`")


def label_template(project: Project, task_name: str, out: str | None = None, store: str | None = None) -> LabelTemplate:
    """Append a line `{"case", "model", "output", "verdict": null}` for every current output of
    the task that no label covers yet to its labels file (judge.labels, or `out`); atomic."""

    task = project.select([task_name])[0]
    declared = task.spec.judge.labels if task.spec.judge is not None else None
    shown = out or declared
    if shown is None:
        raise ConfigError(f"{task.path}: judge.labels is not set; fix: add judge: {{labels: "
                          f"golden_sets/{task.name}.labels.jsonl}} to it, or pass --out FILE")
    path = Path(shown) if Path(shown).is_absolute() else project.root / shown
    ids = {c.id for c in task.golden.cases}
    existing = load_labels(path, shown, ids, set(task.spec.candidates))
    frame = results(project, [task.name], store)
    order = {c.id: i for i, c in enumerate(task.golden.cases)}
    rank = {m: i for i, m in enumerate(task.spec.candidates)}
    hide = redactor()  # a file the user commits: no key, even one learned after the output was stored
    rows = sorted(((str(r.case_id), r.model, hide(r.output)) for r in frame.itertuples(index=False)
                   if isinstance(r.output, str) and not isinstance(r.error, str)),
                  key=lambda row: (order.get(row[0], len(order)), rank.get(row[1], len(rank))))
    lines = template_lines(existing, rows)
    if lines:
        before = path.read_text(encoding="utf-8") if path.is_file() else ""
        if before and not before.endswith("\n"):
            before += "\n"
        atomic_write(path, before + "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    return LabelTemplate(path, shown, len(lines), existing.todo + len(lines), len(existing.labels))
