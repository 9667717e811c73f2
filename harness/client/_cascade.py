"""A cascade entry at call time: each stage is asked in turn and passes the call on when one of its
deferral signals fires; the last stage always answers (then its fallbacks, as a model's would).

The signals are those registry.yaml writes (docs/formats.md, registry/_cascade.py):

- `abstain`: the `python:` rule returned None;
- `contract`: the answer breaks the task's contract (the application's own `checks=` included);
- `{confidence: T}`: the probability of the answer is below T, or the provider gave none (the
  evaluation replays an unknown probability as below every threshold, and so does the client);
- `{agreement: m, of: k}`: the stage is called k times at once and passes on unless m answers agree
  (compared as the contract reads them: the label, the JSON value, else the text); the answer is
  the agreeing one, and the k calls are one attempt whose cost and tokens are their sum;
- `{check: "python:module:fn"}`: `fn(vars, output)` returned False or None, raised, or did not return
  within grade_timeout_s (tierwise.yaml): it runs in an abandonable worker with that deadline, as a
  custom grader does (harness/deadline.py), so a verifier that hangs costs one deferral, not the call.

A stage whose call fails also passes the call on (and rests, as any model does after a provider
failure; a resting stage is passed over without a call). So does a stage that abstains or breaks
the contract although its entry does not list the signal: the evaluation scored such an answer as
a failure, and a later stage can only do better. Each stage's attempt is one usage-ledger row with
its stage number and, when it passed the call on, the signal and the reason (never the output).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

from ..deadline import DeadlineExceeded, run_with_deadline
from ..errors import RegistryError
from ..models import ABSTAINED, PROBABILITIES
from ..project import GRADE_TIMEOUT_S, import_check

if TYPE_CHECKING:
    from ._route import Hop


@dataclass(frozen=True)
class Rule:
    """One deferral signal of a stage, ready to apply."""

    kind: str                    # abstain | contract | confidence | agreement | check
    threshold: float | None = None
    agree: int = 0
    samples: int = 1
    check: Callable[[dict[str, Any], str], Any] | None = None
    path: str = ""
    timeout_s: float = GRADE_TIMEOUT_S  # the check's deadline: the project's grade_timeout_s


@dataclass
class Stage:
    hop: "Hop"
    rules: list[Rule] = field(default_factory=list)

    @property
    def samples(self) -> int:
        """How many calls the stage makes: k for an agreement signal, else one."""
        return max([r.samples for r in self.rules if r.kind == "agreement"], default=1)


@dataclass(frozen=True)
class Deferral:
    signal: str    # abstain | contract | confidence | agreement | check | error
    reason: str


def stages_of(entry: dict[str, Any], hops: list["Hop"], where: str, check_timeout_s: float) -> list[Stage]:
    """The entry's stages (its first hops), each with its signals; `where` names the entry in errors;
    a `check` verifier is abandoned after `check_timeout_s` seconds."""
    out = []
    for i, (written, hop) in enumerate(zip(entry["cascade"], hops)):
        rules = [_rule(signal, f"{where}.cascade[{i}].defer[{j}]", check_timeout_s)
                 for j, signal in enumerate(written.get("defer") or [])]
        if any(r.kind == "confidence" for r in rules) and not hop.extra.get("logprobs"):
            # A stage that defers on the probability of its answer asks for it, as its evaluation
            # did (models/_contract.py asks wherever the task's spec names the cascade).
            hop = replace(hop, extra={**hop.extra, **PROBABILITIES})
        out.append(Stage(hop, rules))
    return out


def _rule(signal: Any, where: str, check_timeout_s: float) -> Rule:
    if isinstance(signal, str):
        return Rule(signal)
    if "confidence" in signal:
        return Rule("confidence", threshold=float(signal["confidence"]))
    if "agreement" in signal:
        return Rule("agreement", agree=int(signal["agreement"]), samples=int(signal["of"]))
    path = signal["check"]
    return Rule("check", check=load_check(path, where), path=path, timeout_s=check_timeout_s)


def load_check(path: str, where: str) -> Callable[[dict[str, Any], str], Any]:
    """The verifier `python:module:fn` names, imported from the project root."""
    try:
        return import_check(path)
    except ValueError as exc:
        raise RegistryError(f"{where}.check: {exc}") from None


async def judge(stage: Stage, results: list[Any], contract: Any, variables: dict[str, Any], check: Any = None
                ) -> tuple[Any, Any, Deferral | None]:
    """(the answer's CallResult, its contract verdict, why the stage passes the call on or None)."""
    ok = [r for r in results if r.error is None]
    if not ok:
        return results[0], None, Deferral("error", results[0].error or "the call failed")
    if any(r.finish_reason == ABSTAINED for r in ok):
        return ok[0], None, Deferral("abstain", "the rule abstained (returned None)")
    verdicts = [contract.verdict(r.output or "", check) for r in ok]
    kept = [(r, v) for r, v in zip(ok, verdicts) if v.reason is None]
    if not kept:
        return ok[0], verdicts[0], Deferral("contract", verdicts[0].reason)
    answer, verdict = kept[0]
    for rule in stage.rules:
        if rule.kind == "agreement":
            counts = Counter(v.answer_key for _, v in kept)
            top, count = counts.most_common(1)[0]
            if count < rule.agree:
                return answer, verdict, Deferral("agreement", f"{count} of {len(results)} samples agree, "
                                                              f"fewer than {rule.agree}")
            answer, verdict = next((r, v) for r, v in kept if v.answer_key == top)
    for rule in stage.rules:
        if rule.kind == "confidence":
            if answer.confidence is None:
                return answer, verdict, Deferral("confidence", "no probability recorded for its answer")
            if not answer.confidence >= rule.threshold:
                return answer, verdict, Deferral("confidence", f"confidence {answer.confidence:.4g} < "
                                                               f"{rule.threshold:g}")
        if rule.kind == "check":
            verifier, output = rule.check, answer.output or ""
            try:
                passed = await run_with_deadline(lambda: verifier(dict(variables), output), rule.timeout_s)
            except DeadlineExceeded as exc:
                return answer, verdict, Deferral("check", f"{rule.path} {exc} (grade_timeout_s in tierwise.yaml)")
            except Exception as exc:  # noqa: BLE001 - a crashing verifier is a failed check, with its reason
                return answer, verdict, Deferral("check", f"{rule.path} raised {type(exc).__name__}: {str(exc)[:160]}")
            if passed is False or passed is None:
                return answer, verdict, Deferral("check", f"{rule.path} returned {passed}")
    return answer, verdict, None

