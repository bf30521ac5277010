"""Hostile YAML: every file below is refused with a located error (`path:line:column`) by
`validate` and `plan`, run as a user runs them, under a 1 GiB address-space limit and a timeout;
and fuzzed YAML never makes the loader or `validate` fail with anything but a located problem.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reconciler.cli.commands import app
from reconciler.load import LoadResult, load_text
from tests.reliability.conftest import Served, assert_no_secret, cli_env

MEMORY_LIMIT = 1 << 30  # bytes of address space for the CLI process
TIME_LIMIT = 60.0  # seconds; every case below takes well under one
APP = "116dbfae-7fb9-4983-8e23-5ccd8c508722"

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
NESTED = None
"""Deep nesting: our bound or the YAML library's own limit may notice first, so any located line
that points into the file (past line 1, column 1) is the refusal."""
HOSTILE: dict[str, tuple[bytes, str | None]] = {
    # file name: (content, what the located message says)
    "alias-bomb.yaml": (BILLION_LAUGHS.encode(), "alias bomb"),
    "self-alias.yaml": (  # a list that contains itself
        f"name: loop\nreload: {{appId: {APP}}}\ndescription: &d [*d]\n".encode(),
        "nesting deeper than 64",
    ),
    "deep-flow.yaml": (b"a: " + b"[" * 1_000_000 + b"\n", NESTED),
    "deep-flow-mappings.yaml": (b"a: " + b"{b: " * 200_000 + b"\n", NESTED),
    "deep-block-dashes.yaml": (b"- " * 1_000_000 + b"x\n", NESTED),
    "deep-block-keys.yaml": (b"".join(b"  " * i + b"k:\n" for i in range(1200)), NESTED),
    "deep-complex-keys.yaml": (b"? " * 500_000 + b"x\n", NESTED),
    "huge.yaml": (b"name: big\ndescription: " + b"x" * (3 * 1024 * 1024) + b"\n", "larger than"),
    "not-utf8.yaml": (b"name: caf\xe9\nreload: {appId: x}\n", "not UTF-8"),
    "utf16.yaml": ("name: a\n".encode("utf-16"), "not UTF-8"),
    "duplicate-keys.yaml": (
        f"name: a\nreload: {{appId: {APP}}}\nname: b\n".encode(),
        "duplicate key `name`",
    ),
    "python-apply.yaml": (
        b"name: !!python/object/apply:os.system ['touch PWNED']\nreload: {appId: x}\n",
        "only plain YAML values",
    ),
    "python-name.yaml": (b"name: !!python/name:os.system\n", "only plain YAML values"),
    "python-object-new.yaml": (
        b"!!python/object/new:subprocess.Popen [['touch', 'PWNED']]\n",
        "only plain YAML values",
    ),
    "tagged-mapping.yaml": (b"!!python/object:os.Pathlike {a: 1}\n", "not allowed"),
    "nul-bytes.yaml": (b"name: a\x00b\n", "YAML"),
}


def _limited(*args: str) -> list[str]:
    """`python -m reconciler ARGS` with its address space limited (set in the child, then exec)."""
    boot = (
        "import os, resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT})); "
        "os.execv(sys.executable, [sys.executable, '-m', 'reconciler', *sys.argv[1:]])"
    )
    return [sys.executable, "-c", boot, *args]


@pytest.fixture
def hostile_tree(tmp_path: Path) -> Path:
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    for name, (content, _) in HOSTILE.items():
        (tasks / name).write_bytes(content)
    (tasks / "good.yaml").write_text(f"name: good\nreload: {{appId: {APP}}}\n")
    return tmp_path


LOCATED = re.compile(r"^tasks/(?P<file>[\w.-]+):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


def _run(
    root: Path, env: dict[str, str], *args: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        _limited(*args),
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        check=False,
    )
    return result, time.monotonic() - started


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["validate", "plan"])
def test_every_hostile_file_is_refused_with_its_location(
    hostile_tree: Path, serve: Callable[..., Served], command: str
) -> None:
    served = serve()
    result, elapsed = _run(hostile_tree, cli_env(served.url), command)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-2000:]
    assert "Traceback" not in output and "internal error" not in output
    assert_no_secret(output)
    located: dict[str, list[tuple[tuple[int, int], str]]] = {}
    for line in output.splitlines():
        found = LOCATED.match(line)
        if found:
            assert int(found["line"]) >= 1 and int(found["col"]) >= 1
            where = (int(found["line"]), int(found["col"]))
            located.setdefault(found["file"], []).append((where, found["message"]))
    for name, (_, fragment) in HOSTILE.items():
        messages = located.get(name, [])
        if fragment is NESTED:
            assert any(where > (1, 1) for where, _ in messages), (name, messages)
        else:
            assert any(fragment in m for _, m in messages), (name, messages)
    assert "good.yaml" not in located
    assert [r for r in served.emulator.request_log if r.method != "GET"] == []  # nothing sent
    assert not (hostile_tree / "PWNED").exists()
    assert elapsed < TIME_LIMIT


@pytest.mark.e2e
def test_a_file_of_many_small_documents_is_read_in_bounded_time_and_memory(
    tmp_path: Path,
) -> None:
    """The largest file allowed (2 MiB), as 150,000 one-line documents, each a problem."""
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "many.yaml").write_text("---\nname: x\n" * 150_000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QLIK_")}
    result, elapsed = _run(tmp_path, env, "validate", "--format", "json")
    assert result.returncode == 1, result.stderr[-2000:]
    problems = json.loads(result.stdout)["problems"]
    assert len(problems) >= 150_000
    assert problems[0]["path"] == "tasks/many.yaml"
    assert elapsed < TIME_LIMIT


# -- fuzzing -----------------------------------------------------------------------------------

FRAGMENTS = [
    "name: ", "reload: ", "{appId: " + APP + "}", "schedule:", "  cron: '0 6 * * *'", "after:",
    "  - task: ", "- ", "? ", ": ", "&a ", "*a ", "<<: *a", "!!python/object/apply:os.system ",
    "!!binary ", "!custom ", "[", "]", "{", "}", "'", '"', "|", ">", "#", "%YAML 1.1", "---",
    "...", "\t", "\n", "  ", "${var.x}", "${env.HOME}", "2026-01-01T06:00:00", "0x1F", ".inf",
    "~", "null", "é", "\u2028", "\ufeff", "\x00", "\x85",
]  # fmt: skip
yaml_text = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), max_size=40).map("".join)
yaml_bytes = yaml_text.map(lambda t: t.encode("utf-8", "surrogatepass")) | st.binary(max_size=80)


@settings(max_examples=300, deadline=None)
@given(yaml_bytes)
def test_the_loader_turns_anything_into_tasks_or_located_problems(raw: bytes) -> None:
    result = LoadResult()
    load_text("tasks/f.yaml", raw, {"x": "1"}, result)
    for problem in result.problems:
        assert problem.path == "tasks/f.yaml"
        assert problem.line >= 1 and problem.column >= 1
        assert problem.message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(yaml_bytes, min_size=1, max_size=3))
def test_validate_never_fails_with_a_traceback(files: list[bytes]) -> None:
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as root:
        tasks = Path(root) / "tasks"
        tasks.mkdir()
        for i, raw in enumerate(files):
            (tasks / f"f{i}.yaml").write_bytes(raw)
        result = runner.invoke(app, ["validate", "--tasks", str(tasks), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "internal error" not in result.output
    if not result.stdout:  # not a problem of a file (no task at all): one line on stderr
        assert result.exit_code == 1
        assert result.stderr.startswith("error: "), result.stderr
        return
    report = json.loads(result.stdout)
    assert report["valid"] is (result.exit_code == 0)
    for problem in report["problems"]:
        assert problem["line"] >= 1 and problem["column"] >= 1
