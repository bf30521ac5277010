"""GitHub workflow commands (`::error file=...,line=...::message`) that data cannot steer.

The runner reads every line of a step's output that starts with `::` as a command. A file name,
task name or message comes from files or from the tenant, so each is escaped the way the runner
unescapes it: in the message `%`, CR and LF; in a property value also `:` and `,`. One command is
always exactly one line, and nothing in it can start another.
"""

from __future__ import annotations


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
) -> str:
    """One workflow command line: `::error file=F,line=L,col=C::message` (properties optional)."""
    if level not in ("error", "warning", "notice"):
        raise ValueError(f"unknown annotation level {level!r}")
    props = []
    if file is not None:
        props.append(f"file={escape_property(file)}")
    if line is not None:
        props.append(f"line={int(line)}")
    if col is not None:
        props.append(f"col={int(col)}")
    if title is not None:
        props.append(f"title={escape_property(title)}")
    head = f"::{level}" + (" " + ",".join(props) if props else "")
    return f"{head}::{escape_data(message)}"
