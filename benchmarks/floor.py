"""The raw parse floor: read every task file under a folder and parse it with PyYAML's C loader,
nothing else (no positions, no checks, no models). What `validate` of the same files is measured
against: no reader of these files can take less time than this.

    python benchmarks/floor.py TASKS_DIR
"""

from __future__ import annotations

import os
import sys

import yaml


def main(root: str) -> int:
    files = 0
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith((".yaml", ".yml")):
                with open(os.path.join(folder, name), "rb") as handle:
                    list(yaml.load_all(handle.read(), Loader=yaml.CSafeLoader))
                files += 1
    print(files)
    return 0 if files else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
