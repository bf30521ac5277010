"""The drift report as JUnit XML, so CI systems show it as tests: one test case per task.

A task in sync passes; a task that drifted fails (one `<failure>` naming every finding); a task that
is only listed (unmanaged, a legacy reload-task) is skipped. Built with ElementTree; characters
that XML 1.0 cannot carry are written as `\\uXXXX`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import PurePosixPath

from reconciler.drift import DriftReport, TaskDrift
from reconciler.report.drift_text import INDENT, finding_lines

SUITE = "qlik-task-reconciler drift"
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with the characters XML 1.0 forbids escaped as `\\uXXXX`."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def classname(task: TaskDrift) -> str:
    """`tasks.sales.sales-etl` for a task file; `tenant.<origin>` for what only the tenant has."""
    if task.source:
        return ".".join(PurePosixPath(task.source).with_suffix("").parts)
    if task.origin == "legacy":
        return "tenant.legacy"
    return "tenant.managed" if task.managed else "tenant.unmanaged"


def _case(suite: ET.Element, task: TaskDrift) -> str:
    """Add the test case of `task`; answer "failure", "skipped" or "passed"."""
    case = ET.SubElement(
        suite, "testcase", name=xml_text(task.name), classname=xml_text(classname(task)), time="0"
    )
    if task.source:
        case.set("file", xml_text(task.source))
    if not task.findings:
        return "passed"
    summary = "; ".join(f"{f.category.value}: {f.message}" for f in task.findings)
    body = "\n".join(
        f"{f.category.value}: "
        + "\n".join(INDENT + line if i else line for i, line in enumerate(finding_lines(f)))
        for f in task.findings
    )
    if task.task_id:
        body = f"task id {task.task_id}\n{body}"
    if task.drifted:
        kinds = ",".join(f.category.value for f in task.findings if f.drift)
        failure = ET.SubElement(case, "failure", message=xml_text(summary), type=kinds)
        failure.text = xml_text(body)
        return "failure"
    skipped = ET.SubElement(case, "skipped", message=xml_text(summary))
    skipped.text = xml_text(body)
    return "skipped"


def render(report: DriftReport, *, now: datetime, tenant: str | None = None) -> str:
    """The JUnit XML document, with an XML declaration, ending with a newline."""
    root = ET.Element("testsuites", name=SUITE)
    suite = ET.SubElement(
        root,
        "testsuite",
        name=xml_text(f"{SUITE}: {tenant}" if tenant else SUITE),
        timestamp=now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", ""),
        time="0",
    )
    properties = ET.SubElement(suite, "properties")
    if tenant:
        ET.SubElement(properties, "property", name="tenant", value=xml_text(tenant))
    ET.SubElement(properties, "property", name="summary", value=xml_text(report.summary_line()))
    for warning in report.warnings:
        ET.SubElement(properties, "property", name="warning", value=xml_text(warning))
    outcomes = [_case(suite, task) for task in report.tasks]
    counts = {
        "tests": str(len(outcomes)),
        "failures": str(outcomes.count("failure")),
        "errors": "0",
        "skipped": str(outcomes.count("skipped")),
    }
    for element in (root, suite):
        for key, value in counts.items():
            element.set(key, value)
    root.set("time", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
