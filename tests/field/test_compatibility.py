"""The field contract only grows: the generated document against the released one, and the checker
itself on each rule (a removed field fails, an added optional one passes...)."""

import copy
import json
import subprocess
import sys

import pytest

from app.api.compatibility import breaking_changes
from app.core.config import PROJECT_ROOT

RELEASED = json.loads((PROJECT_ROOT / "openapi/mobile-v1.released.json").read_text())
CURRENT = json.loads((PROJECT_ROOT / "openapi/mobile-v1.json").read_text())
SYNC, WORKLIST = "/api/mobile/v1/sync", "/api/mobile/v1/worklist"
WAIVER = "/api/mobile/v1/requests/interest-waiver"


def test_the_field_contract_does_not_break_the_released_one():
    assert breaking_changes(RELEASED, CURRENT) == []


def _changed(edit) -> list[str]:
    new = copy.deepcopy(RELEASED)
    edit(new, new["components"]["schemas"])
    return breaking_changes(RELEASED, new)


def _waiver_body(schemas: dict) -> dict:
    return schemas["FieldInterestWaiverIn"]


def test_a_removed_response_field_breaks():
    def edit(_, schemas):
        del schemas["FieldCase"]["properties"]["dpd"]
        schemas["FieldCase"]["required"].remove("dpd")
    problems = _changed(edit)
    assert problems and all("dpd" in p for p in problems), problems
    assert any("response field dpd removed" in p for p in problems)


def test_an_added_optional_field_and_a_new_operation_pass():
    def edit(doc, schemas):
        schemas["FieldCase"]["properties"]["risk_note"] = {"type": "string"}
        _waiver_body(schemas)["properties"]["photo_ids"] = {"type": "array", "items": {"type": "string"}}
        doc["paths"]["/api/mobile/v1/new-thing"] = copy.deepcopy(doc["paths"][WORKLIST])
        doc["paths"][SYNC]["get"]["responses"]["418"] = {"description": "new"}
        doc["paths"][SYNC]["get"]["parameters"].append(
            {"in": "query", "name": "since", "required": False, "schema": {"type": "string"}})
    assert _changed(edit) == []


@pytest.mark.parametrize(("rule", "edit", "expected"), [
    ("operation removed", lambda doc, s: doc["paths"].pop(WORKLIST), "operation removed"),
    ("status removed", lambda doc, s: doc["paths"][SYNC]["get"]["responses"].pop("410"), "status 410 removed"),
    ("request field added as required",
     lambda doc, s: (_waiver_body(s)["properties"].update(photo={"type": "string"}),
                     _waiver_body(s)["required"].append("photo")), "request field photo added as required"),
    ("request field made required", lambda doc, s: _waiver_body(s)["required"].append("attachment_ids"),
     "request field attachment_ids made required"),
    ("request field removed", lambda doc, s: _waiver_body(s)["properties"].pop("attachment_ids"),
     "request field attachment_ids removed"),
    ("response type changed", lambda doc, s: s["FieldCase"]["properties"]["dpd"].update(type="string"),
     "type changed"),
    ("response field turned nullable",
     lambda doc, s: s["FieldCase"]["properties"].update(dpd={"anyOf": [{"type": "integer"}, {"type": "null"}]}),
     "type changed"),
    ("enum narrowed", lambda doc, s: s["SyncOut"]["properties"]["mode"].update(enum=["changes"]), "enum narrowed"),
    ("parameter added as required",
     lambda doc, s: doc["paths"][SYNC]["get"]["parameters"].append(
         {"in": "query", "name": "device", "required": True, "schema": {"type": "string"}}),
     "parameter device (query) added as required"),
    ("response field no longer required", lambda doc, s: s["FieldCase"]["required"].remove("priority"),
     "response field priority no longer always present"),
])
def test_each_breaking_rule_is_caught(rule, edit, expected):
    problems = _changed(edit)
    assert any(expected in p for p in problems), (rule, problems)


def test_the_checker_runs_from_the_command_line(tmp_path):
    broken = copy.deepcopy(RELEASED)
    broken["paths"].pop(WORKLIST)
    (tmp_path / "new.json").write_text(json.dumps(broken))
    released = str(PROJECT_ROOT / "openapi/mobile-v1.released.json")
    result = subprocess.run([sys.executable, "-m", "app.api.compatibility", released, str(tmp_path / "new.json")],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "operation removed" in result.stderr
    same = subprocess.run([sys.executable, "-m", "app.api.compatibility", released, released], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, check=False)
    assert same.returncode == 0, same.stderr
