"""Custom graders used by tests/graders/test_registry.py through the `python` grader."""

from harness.graders import Grade


def says_yes(output, case):
    return output.strip().lower().startswith("yes")


def length_score(output, case, target=10):
    return min(len(output), target) / target


def as_dict(output, case):
    return {"score": 0.5, "reason": "half right"}


def as_grade(output, case):
    return Grade(1.0, True, f"looks like {case.expected}")


def out_of_range(output, case):
    return 1.5


def wrong_type(output, case):
    return "great answer"


def explodes(output, case):
    raise RuntimeError("kaput")


NOT_CALLABLE = 3
