"""schemas/task.schema.json is generated from the models and kept current; the examples satisfy it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from reconciler import model
from reconciler.yamlsource import read_documents
from tests.conftest import EXAMPLES, REPO

SCHEMA = REPO / "schemas" / "task.schema.json"


def test_checked_in_schema_is_current() -> None:
    assert json.loads(SCHEMA.read_text()) == model.json_schema(), (
        "schemas/task.schema.json is out of date: run `reconciler schema > schemas/task.schema.json`"
    )


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.yaml")), ids=lambda p: p.name)
def test_examples_satisfy_the_schema_and_name_it(path: object) -> None:
    from pathlib import Path

    assert isinstance(path, Path)
    assert path.read_text().startswith("# yaml-language-server: $schema=")
    validator = jsonschema.Draft202012Validator(model.json_schema())
    for doc in read_documents(str(path), path.read_bytes()):
        errors = [e.message for e in validator.iter_errors(doc.data)]
        assert not errors, errors
