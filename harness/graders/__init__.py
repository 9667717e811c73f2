"""Graders: every grader turns (output, case) into a Grade (score, passed, reason).

A grader is a registered factory: `@grader("name")` on a function that takes the grader's
options as keyword arguments and returns the grading callable.
"""

from __future__ import annotations

from . import _builtin  # noqa: F401 - registers the built-in graders
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

from ._verdict import Contract, VerdictError

__all__ = ["grader", "Grade", "GraderInstance", "build_grader", "build_graders", "combine", "known_graders",
           "Contract", "JudgeError", "JudgeReply", "VerdictError"]
