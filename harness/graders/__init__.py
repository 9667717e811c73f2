"""Graders: every grader turns (output, case) into a Grade (score, passed, reason).

A grader is a registered factory: `@grader("name")` on a function that takes the grader's
options as keyword arguments and returns the grading callable.
"""

from __future__ import annotations

from . import _builtin  # noqa: F401 - registers the built-in graders
from . import _structured  # noqa: F401 - registers json and numeric
from ._expected import expected_problem
from . import _judge  # noqa: F401 - registers llm_judge and pairwise
from ._judge import JudgeError, JudgeReply
from ._registry import (
    Grade,
    GraderInstance,
    build_grader,
    build_graders,
    combine,
    grader,
    known_graders,
)
from ._text import extract_label, parse_json

from ._verdict import Contract, VerdictError

__all__ = ["grader", "Grade", "GraderInstance", "build_grader", "build_graders", "combine", "expected_problem",
           "extract_label", "known_graders", "parse_json", "Contract", "JudgeError", "JudgeReply", "VerdictError"]
