"""Judge evidence held against people: agreement with human verdicts, and a lower bound that
corrects for the judge's measured error (prediction-powered inference).

A task whose graders call a judge may carry human verdicts on some outputs (project/_labels.py).
From the stored rows and those labels this module works out, per task, how often the judge's
pass/fail agrees with a person's (accuracy, Cohen's kappa, the confusion table), and per
candidate a PPI lower bound on its mean score that uses the judge's grades on every case and
the human verdicts on the labelled ones to correct the judge's bias.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from ..project import Task

if TYPE_CHECKING:
    import pandas as pd

MIN_LABELS_FOR_PPI = 2  # below this the rectifier's variance is unknown: no corrected bound (0)


# ---- agreement ---------------------------------------------------------------------------------


@dataclass
class Agreement:
    """How a judge's pass/fail compares with people's on the same outputs."""

    n: int
    accuracy: float
    kappa: float                      # NaN when undefined (both raters constant and equal)
    both_pass: int = 0
    judge_pass_human_fail: int = 0
    judge_fail_human_pass: int = 0
    both_fail: int = 0

    def value(self, measure: str) -> float:
        return self.kappa if measure == "kappa" else self.accuracy

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": self.accuracy, "kappa": None if math.isnan(self.kappa) else self.kappa,
                "confusion": {"both_pass": self.both_pass, "judge_pass_human_fail": self.judge_pass_human_fail,
                              "judge_fail_human_pass": self.judge_fail_human_pass, "both_fail": self.both_fail}}


def cohen_kappa(judge: Sequence[bool], human: Sequence[bool]) -> float:
    """Cohen's kappa of two raters on binary labels: (p_o - p_e) / (1 - p_e), where p_e is the
    agreement expected by chance from each rater's own pass rate (Cohen 1960). NaN when p_e = 1
    (both raters gave one and the same label to everything: agreement beyond chance is undefined).
    Matches sklearn.metrics.cohen_kappa_score (tests pin its values)."""
    n = len(judge)
    if n == 0 or n != len(human):
        raise ValueError(f"need two equally long, non-empty label lists, got {len(judge)} and {len(human)}")
    # In whole counts (n² p_o and n² p_e), so a kappa of exactly 0 is 0, not a rounding residue.
    agree = sum(1 for a, b in zip(judge, human) if bool(a) == bool(b))
    j1, h1 = sum(map(bool, judge)), sum(map(bool, human))
    chance = j1 * h1 + (n - j1) * (n - h1)
    if chance >= n * n:
        return math.nan
    return (agree * n - chance) / (n * n - chance)


def agreement(judge: Sequence[bool], human: Sequence[bool]) -> Agreement:
    """Accuracy, kappa and the confusion table of the judge's verdicts against people's."""
    pairs = [(bool(a), bool(b)) for a, b in zip(judge, human)]
    out = Agreement(len(pairs), sum(a == b for a, b in pairs) / len(pairs), cohen_kappa(judge, human))
    out.both_pass = sum(a and b for a, b in pairs)
    out.judge_pass_human_fail = sum(a and not b for a, b in pairs)
    out.judge_fail_human_pass = sum(b and not a for a, b in pairs)
    out.both_fail = sum(not a and not b for a, b in pairs)
    return out


# ---- prediction-powered lower bound -----------------------------------------------------------


@dataclass
class PPIBound:
    lower: float
    estimate: float
    n_labeled: int
    n_unlabeled: int
    lam: float
    method: str = "ppi++"


def ppi_lower_bound(human: Sequence[float], judged: Sequence[float], judged_unlabeled: Sequence[float],
                    confidence: float, lam: float | None = None) -> PPIBound:
    """One-sided lower confidence bound on a mean score from judge scores corrected by human ones.

    Prediction-powered inference for a mean (Angelopoulos, Bates, Fannjiang, Jordan, Zrnic,
    "Prediction-powered inference", Science 2023) with power tuning (Angelopoulos, Duchi, Zrnic,
    "PPI++", 2023): with n labelled outputs (human score Y, judge score Ŷ) and N unlabelled ones
    (judge score Ŷ~ only),

        θ̂ = λ·mean(Ŷ~) + mean(Y − λ·Ŷ),    se² = λ²·var(Ŷ~)/N + var(Y − λ·Ŷ)/n,
        lower = θ̂ − z_confidence · se,

    with λ = Cov(Y, Ŷ) / ((1 + n/N)·Var(Ŷ, Ŷ~)) clipped to [0, 1] (λ = 1 is plain PPI, λ = 0
    the human labels alone; a judge whose grades do not vary, e.g. one that passes everything,
    gets λ = 0). Variances are population variances, as in the `ppi-python` package, whose
    `ppi_mean_ci(..., alternative="larger", lam=λ)` this matches (tests pin its numbers).

    What it guarantees: asymptotically (normal approximation), P(true mean ≥ lower) ≥ confidence
    whatever the judge's errors are, provided the labelled outputs are a random sample of the
    cases (chosen without looking at the outputs). The judge only narrows the bound; it cannot
    lift it above what the people's verdicts support, so a lenient judge cannot qualify a model
    by itself (tests/decide/test_judged.py simulates one). Its limits: with few labels the
    normal approximation is rough (the simulation measures coverage at n = 20 labels); λ is
    estimated from the same data (as in PPI++), which costs a little coverage at small n.
    """
    import numpy as np
    from scipy.stats import norm

    y, yhat, ytil = (np.asarray(v, dtype=float) for v in (human, judged, judged_unlabeled))
    n, big_n = len(y), len(ytil)
    if n != len(yhat):
        raise ValueError(f"need a judge score for each human verdict, got {len(yhat)} for {n}")
    if n < MIN_LABELS_FOR_PPI:
        return PPIBound(0.0, float(y.mean()) if n else math.nan, n, big_n, 0.0, "ppi (too few labels)")
    z = float(norm.ppf(confidence))
    if big_n == 0:  # every output labelled: the people's verdicts alone
        se = float(y.std() / math.sqrt(n))
        mean = float(y.mean())
        return PPIBound(min(1.0, max(0.0, mean - z * se)), mean, n, 0, 0.0, "human labels")
    if lam is None:
        lam = _tuned_lambda(y, yhat, ytil)
    estimate = float(lam * ytil.mean() + (y - lam * yhat).mean())
    se = math.sqrt(float((lam * ytil).std()) ** 2 / big_n + float((y - lam * yhat).std()) ** 2 / n)
    return PPIBound(min(1.0, max(0.0, estimate - z * se)), estimate, n, big_n, float(lam),
                    "ppi" if lam == 1.0 else "ppi++")


def corrected_lower_bound(human: Sequence[float], judged: Sequence[float], judged_unlabeled: Sequence[float],
                          confidence: float) -> PPIBound:
    """A finite-sample lower confidence bound on a mean score that corrects the judge downward
    by its measured leniency (the one decisions use unless a spec asks for `bound: ppi`).

    The mean human score θ = E[Ŷ] − E[Ŷ − Y] ≥ E[Ŷ] − E[(Ŷ − Y)+]: the judge's mean minus how
    far it over-grades. With α = 1 − confidence,

        lower = L(every judge score; α/2) − U((Ŷ − Y)+ on the labelled outputs; α/2),

    L and U one-sided bounds valid at any n: Clopper-Pearson for pass/fail scores, else the
    betting bound of Waudby-Smith & Ramdas (decide/_sequential.py). By the union bound,
    P(θ ≥ lower) ≥ confidence for every n and every judge, provided the labelled outputs are a
    random sample of the cases; no normal approximation. This is the prediction-powered idea
    (judge everything, measure the judge's error on a labelled sample, correct) with exact
    bounds in place of the CLT; it gives a judge no credit for being too strict (it is only
    ever corrected downward), which costs tightness when a judge under-grades. A judge that
    passes everything is corrected by the share of labelled outputs people failed, so it
    cannot qualify a weak model (simulated in tests/decide/test_judged.py). The CLT estimator
    of the PPI papers is `ppi_lower_bound`; at 20 labels it covers less than promised.
    """
    import numpy as np

    y, yhat, ytil = (np.asarray(v, dtype=float) for v in (human, judged, judged_unlabeled))
    n = len(y)
    if n != len(yhat):
        raise ValueError(f"need a judge score for each human verdict, got {len(yhat)} for {n}")
    if n < MIN_LABELS_FOR_PPI:
        return PPIBound(0.0, float(y.mean()) if n else math.nan, n, len(ytil), 1.0, "exact (too few labels)")
    half = 1 - (1 - confidence) / 2
    every = np.concatenate([yhat, ytil])
    over = np.clip(yhat - y, 0.0, 1.0)
    lower = _exact_lower(every, half) - (1.0 - _exact_lower(1.0 - over, half))
    estimate = float(every.mean() - over.mean())
    return PPIBound(min(1.0, max(0.0, lower)), estimate, n, len(ytil), 1.0, "judge corrected, exact")


def _exact_lower(x, confidence: float) -> float:
    """A one-sided lower bound on the mean of scores in [0, 1], valid at any n."""
    from . import stats
    from ._sequential import lower_bound as betting_lower

    if stats.is_binary(x):
        return stats.clopper_pearson_lower(int(round(float(x.sum()))), len(x), confidence)
    return betting_lower(x, 1 - confidence)


def _tuned_lambda(y, yhat, ytil) -> float:
    import numpy as np

    n, big_n = len(y), len(ytil)
    cov = float(((y - y.mean()) * (yhat - yhat.mean())).sum() / n)
    var = float(np.var(np.concatenate([yhat, ytil]), ddof=1))
    if var <= 0 or not math.isfinite(var):
        return 0.0
    return float(min(1.0, max(0.0, cov / ((1 + n / big_n) * var))))


# ---- per task: rows x labels -------------------------------------------------------------------


@dataclass
class ModelJudged:
    """One candidate's judge grades split by whether a person also judged the output."""

    human: list[float] = field(default_factory=list)
    judged: list[float] = field(default_factory=list)
    judged_unlabeled: list[float] = field(default_factory=list)
    judge_passed: list[bool] = field(default_factory=list)


@dataclass
class TaskJudged:
    """A task's judge evidence: agreement over every labelled output, and per-model splits."""

    agreement: Agreement | None
    models: dict[str, ModelJudged]
    labels: int                       # labels in the file
    unmatched: int                    # labels that match no current output

    def corrected(self, model: str, confidence: float, bound: str = "exact") -> PPIBound | None:
        """The model's bound corrected for the judge's error; None without human verdicts on it."""
        m = self.models.get(model)
        if m is None or not m.human:
            return None
        if bound == "ppi":
            return ppi_lower_bound(m.human, m.judged, m.judged_unlabeled, confidence)
        return corrected_lower_bound(m.human, m.judged, m.judged_unlabeled, confidence)


def task_judged(task: Task, frame: pd.DataFrame | None) -> TaskJudged | None:
    """Match the task's human verdicts to its current rows; None when it has no labels."""
    labels = task.labels
    if labels is None or not task.uses_judge:
        return None
    models: dict[str, ModelJudged] = {}
    judge_votes: list[bool] = []
    human_votes: list[bool] = []
    used: set[int] = set()
    rows = frame if frame is not None else []
    for row in (rows.itertuples(index=False) if len(rows) else ()):
        m = models.setdefault(row.model, ModelJudged())
        score = 0.0 if row.score is None or (isinstance(row.score, float) and math.isnan(row.score)) else float(row.score)
        output = row.output if isinstance(row.output, str) else None
        failed = isinstance(row.error, str)
        matched = [] if failed else [lab for lab in labels.for_case(str(row.case_id)) if lab.matches(row.model, output)]
        if not matched:
            m.judged_unlabeled.append(score)
            continue
        used.update(id(lab) for lab in matched)
        human = sum(lab.verdict for lab in matched) / len(matched)
        m.human.append(human)
        m.judged.append(score)
        passed = bool(row.passed)
        m.judge_passed.append(passed)
        judge_votes.append(passed)
        human_votes.append(human >= 0.5)
    agree = agreement(judge_votes, human_votes) if judge_votes else None
    return TaskJudged(agree, models, len(labels.labels), sum(1 for lab in labels.labels if id(lab) not in used))


# ---- how many more human verdicts, at the current rates ----------------------------------------


def labels_needed(judge_scores: Sequence[float], over_rate: float, threshold: float, confidence: float,
                  have: int = 0, max_labels: int = 5000) -> int | None:
    """How many human verdicts in all would let `corrected_lower_bound` clear `threshold`, if the
    judge's scores stay as they are and people keep finding it over-grading at `over_rate`.

    A projection, not a guarantee: at n labels it assumes ceil(over_rate · n) of them show the
    judge passing an output a person fails (the rate seen so far, rounded against the model), and
    computes the same bound decisions use, L(judge scores; α/2) − U(over-grading; α/2) with
    Clopper-Pearson's U, for every n from `have` up (U is not monotone in n in whole steps, so
    the answer is the first n from which the bound clears the bar for every later n scanned).
    None when no number of labels can: the judge's lower bound minus the over-grading rate itself
    is below the bar, so more verdicts only confirm the shortfall (or more than max_labels)."""
    import numpy as np
    from scipy import special as sp

    scores = np.asarray(judge_scores, dtype=float)
    if len(scores) == 0:
        return None
    half = 1 - (1 - confidence) / 2
    judge_lower = _exact_lower(scores, half)
    if judge_lower - over_rate < threshold:
        return None
    ns = np.arange(max(MIN_LABELS_FOR_PPI, have), max_labels + 1)
    over = np.minimum(np.ceil(over_rate * ns - 1e-9), ns)
    clean = ns - over  # labelled outputs the judge did not over-grade
    with np.errstate(invalid="ignore"):
        clean_lower = np.where(clean > 0, sp.betaincinv(np.maximum(clean, 1), over + 1, 1 - half), 0.0)
    clears = judge_lower - (1.0 - clean_lower) >= threshold
    if not clears[-1]:
        return None
    short = np.flatnonzero(~clears)
    return int(ns[0]) if len(short) == 0 else int(ns[short[-1]] + 1)
