"""registry.yaml (what the application runs), the evidence behind each entry, and the gate
that checks every entry against its evidence in CI (with JUnit output and `--base` diffs)."""

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
from ._gate import FAIL, PASS, STALE, GateResult, TaskGate, check_entry, gate
from ._junit import write_junit

__all__ = ["Written", "ENTRY_KEYS", "EVIDENCE_VERSION", "EvidenceFile", "FAIL", "GateResult", "ModelEvidence", "PASS", "STALE",
           "TaskEvidence", "TaskGate", "build_evidence", "check_entry", "evidence_path", "gate", "parse_evidence",
           "read_evidence", "read_registry", "update_registry", "write_evidence", "write_junit", "write_registry"]
