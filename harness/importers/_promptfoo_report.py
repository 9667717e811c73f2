"""What `tierwise import promptfoo` reports: the tasks it wrote and everything it did not carry over
(grouped when one reason repeats), or, when no task could be made, the one error that says why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ._promptfoo_files import Dropped


class NothingImported(ConfigError):
    """The suite gave no task: nothing is written, and the CLI exits 2 with the reasons counted."""

    def __init__(self, config: Path, reasons: list[str], first: Dropped | None):
        counted = Counter(reasons or ["no prompt was read"])
        listed = ", ".join(f"{n} × {why}" for why, n in counted.most_common())
        detail = f"; the first: {first}" if first is not None else ""
        super().__init__(f"{config}: nothing imported, no task could be made ({listed}){detail}; fix: a task needs a "
                         "text prompt and an assertion Tierwise can express (docs/promptfoo.md)")


@dataclass
class ImportReport:
    """What an import wrote, and everything it could not carry over."""

    config: Path
    out_dir: Path
    tasks: list[str] = field(default_factory=list)
    cases: int = 0
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    candidates: list[str] = field(default_factory=list)
    needs_judge: list[str] = field(default_factory=list)  # tasks with an llm_judge grader
    written: list[Path] = field(default_factory=list)
    not_carried: list[Dropped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as the CLI prints it."""
        out = [f"imported {self.config} into {self.out_dir}: {len(self.tasks)} task(s) "
               f"({', '.join(self.tasks) or 'none'}), {self.cases} case(s), candidates: "
               f"{', '.join(self.candidates) or 'none'}"]
        if self.needs_judge:
            out.append(f"needs the llm_judge grader and a judge model: {', '.join(self.needs_judge)}")
        out += [f"note: {n}" for n in self.notes]
        if self.not_carried:
            out.append(f"not carried over ({len(self.not_carried)}):")
            out += [f"  {line}" for line in grouped(self.not_carried)]
        else:
            out.append("everything was carried over")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def grouped(items: list[Dropped], shown: int = 3) -> list[str]:
    """One line each, except that more than `shown` items of one file with the same reason (the
    same JavaScript check in 1,700 tests of a JSON file) are the first few and a count."""
    groups: dict[tuple[str, str], list[Dropped]] = {}
    for d in items:
        groups.setdefault((d.file, d.why), []).append(d)
    lines = []
    for (file, why), members in groups.items():
        lines += [str(d) for d in members[:shown]]
        if len(members) > shown:
            rest = members[shown:]
            lines.append(f"{file}: ... and {len(rest)} more with the same reason ({rest[0].place} to {rest[-1].place})")
    return lines
