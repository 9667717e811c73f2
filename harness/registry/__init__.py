"""registry.yaml (what the application runs), the evidence behind each entry, and the gate
that checks every entry against its evidence in CI (with JUnit output and `--base` diffs)."""

from ._cascade import signal_key, stage_targets
from ._cascade_gate import check_cascade, rerun_problems
from ._evidence import (
           EVIDENCE_VERSION,
           EvidenceFile,
           ModelEvidence,
           TaskEvidence,
           build_evidence,
           evidence_path,
           parse_evidence,
           read_evidence,
           write_evidence,
)
from ._file import ENTRY_KEYS, Written, read_registry, update_registry, write_registry
from ._gate import (
           FAIL,
           PARAM_KEYS,
           PASS,
           STALE,
           GateResult,
           TaskGate,
           catalog_name,
           check_entry,
           check_noninferiority,
           fix_for_target,
           run_fix,
           threshold_text,
           value_text,
)
from ._git import changes_since, registry_at
from ._junit import write_junit

__all__ = ["Written", "ENTRY_KEYS", "EVIDENCE_VERSION", "EvidenceFile", "FAIL", "GateResult", "ModelEvidence", "PARAM_KEYS",
           "PASS", "STALE", "TaskEvidence", "TaskGate", "build_evidence", "catalog_name", "changes_since", "check_cascade",
           "check_entry", "rerun_problems", "signal_key", "stage_targets",
           "check_noninferiority", "evidence_path", "fix_for_target", "parse_evidence", "read_evidence", "read_registry",
           "registry_at", "run_fix", "threshold_text", "update_registry", "value_text", "write_evidence", "write_junit",
           "write_registry"]
