"""Helpers shared by the grader tests: build or apply one grader from its spec entry."""

from __future__ import annotations

from harness.graders import Grade, GraderInstance, build_grader
from harness.project import Case

WHERE = "evals/t.yaml: graders[0]"
W = r"evals/t\.yaml: graders\[0\]"  # WHERE as a regex
HUGE = "lorem ipsum <b>dolor</b> sit amet " * 30_000  # about 1 MB of chatter with markup
CHOICES = {"type": "choice", "choices": ["billing", "shipping", "billing dispute"]}


def build(config: dict, output_spec: dict | None = None) -> GraderInstance:
    return build_grader(config, WHERE, output_spec)


def grade(config: dict, output: str, expected=None, output_spec: dict | None = None) -> Grade:
    return build(config, output_spec).grade(output, Case("c1", {}, expected))
