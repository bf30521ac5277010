"""Which files of a tasks directory are task files, and in what order they are read."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.load import discover, load_tree


def test_task_files_are_found_in_the_order_of_their_paths(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    for name in (
        "b.yaml",
        "a.yml",
        "a/z.yaml",
        "a/b/c.yaml",
        "a-b.yaml",
        "notes.txt",
        "yaml",
        ".hidden.yaml",
        ".git/x.yaml",
        "sub/.cache/y.yaml",
        "folder.yaml/inside.yaml",
    ):
        (tasks / name).parent.mkdir(parents=True, exist_ok=True)
        (tasks / name).write_text("name: x\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.yaml").write_text("name: o\n")
    (tasks / "linked.yaml").symlink_to(outside / "o.yaml")  # a link to a file counts
    (tasks / "linked-folder").symlink_to(outside, target_is_directory=True)  # not followed
    (tasks / "broken.yaml").symlink_to(tmp_path / "missing.yaml")  # nothing to read

    found = [os.path.relpath(p, tasks) for p in discover(tasks)]

    assert found == [
        "a/b/c.yaml",
        "a/z.yaml",
        "a-b.yaml",
        "a.yml",
        "b.yaml",
        "folder.yaml/inside.yaml",
        "linked.yaml",
    ]
    assert found == sorted(found, key=lambda p: Path(p).parts)


def test_a_folder_that_cannot_be_listed_is_passed_over(tmp_path: Path) -> None:
    assert discover(tmp_path / "missing") == []


def test_files_are_shown_relative_to_the_working_directory(tmp_path: Path) -> None:
    tasks = tmp_path / "work" / "tasks"
    (tasks / "sub").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for path in (tasks / "a.yaml", tasks / "sub" / "b.yaml", elsewhere / "c.yaml"):
        path.write_text("[not a task\n")
    (tasks / "link.yaml").symlink_to(elsewhere / "c.yaml")

    inside = load_tree(tasks, {}, root=tmp_path / "work")
    beside = load_tree(tasks, {}, root=tmp_path / "other")

    link = str(tasks / "link.yaml")  # leads outside the working directory: shown as it is
    assert sorted(p.path for p in inside.problems) == [link, "tasks/a.yaml", "tasks/sub/b.yaml"]
    assert sorted(p.path for p in beside.problems) == sorted(
        [str(tasks / "a.yaml"), link, str(tasks / "sub" / "b.yaml")]
    )
