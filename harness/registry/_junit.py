"""JUnit XML of a gate result, one test case per registry entry, so CI systems show it natively."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from ..util import atomic_write
from ._gate import PASS, GateResult


def write_junit(result: GateResult, path: str | Path) -> None:
    """JUnit XML, one test case per registry entry, so CI systems show the gate natively."""
    failures = len(result.failures)
    suites = ET.Element("testsuites", name="tierwise", tests=str(len(result.tasks)), failures=str(failures),
                        errors="0", skipped="0", time="0")
    suite = ET.SubElement(suites, "testsuite", name="tierwise gate", tests=str(len(result.tasks)),
                          failures=str(failures), errors="0", skipped="0", time="0")
    for t in result.tasks:
        case = ET.SubElement(suite, "testcase", classname="tierwise.gate", name=t.task, time="0")
        if t.status == PASS:
            ET.SubElement(case, "system-out").text = t.line
            continue
        failure = ET.SubElement(case, "failure", message=t.message, type=t.status)
        failure.text = t.line + (f"\nchanged against {result.base}: {', '.join(t.changes)}" if t.changed else "")
    ET.indent(suites)
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    try:
        atomic_write(Path(path), text)
    except OSError as exc:
        from ..errors import OutputError

        raise OutputError(f"gate --junit {path}: cannot write it ({exc.strerror or exc}); fix: pass --junit a "
                          f"file path in a folder you can write to") from None
