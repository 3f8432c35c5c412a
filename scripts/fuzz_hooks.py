"""Schemathesis hooks for scripts/fuzz (loaded through SCHEMATHESIS_HOOKS; configured by env).

* Auth: logs in through the surface's OAuth2 password endpoint and caches the access token for
  less than its 15-minute lifetime; a 401 drops the cache and logs in again (schemathesis
  `retry_on`), so a fuzzed logout or a long run never leaves the fuzzer unauthenticated.
* Protection: the fuzzer must not disable the principal it runs as, nor the demo
  administrators. State-changing calls aimed at a protected user (lock, patch, permission
  overrides, handover from), at a protected role (patch) or logging in as a protected username
  (wrong passwords count towards the lockout) are redirected to a decoy user / role that
  scripts/fuzz creates for the purpose. The call still exercises the same code; only its target
  changes.
* Refusals a schema cannot express: schemathesis' positive_data_acceptance check fails any
  schema-valid request answered 4xx other than 404/409. Refusals with the problem codes in
  BUSINESS_REFUSALS below are the API working as designed (a cursor it never issued, a flow whose
  steps find no approver, an unknown permission code...), so they are dropped; every other
  refusal of schema-valid input (notably the generic `request.validation_failed`: the document
  promises more than validation accepts) stays a failure. FUZZ_KEEP_REFUSALS=1 keeps them all.
  Add a code here only once you have decided that the schema cannot or should not express it.

Environment (set by scripts/fuzz): FUZZ_BASE_URL, FUZZ_TOKEN_PATH, FUZZ_USERNAME, FUZZ_PASSWORD,
FUZZ_PROTECTED_USER_IDS, FUZZ_PROTECTED_USERNAMES, FUZZ_PROTECTED_ROLE_IDS (comma-separated),
FUZZ_DECOY_USER_ID, FUZZ_DECOY_USERNAME, FUZZ_DECOY_ROLE_ID.
"""

import os
import re
import sys
import time
import uuid
from pathlib import Path

import requests
import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the documented patterns, from the app itself
from app.core.etag import IF_MATCH_PATTERN  # noqa: E402
from app.core.idempotency import IDEMPOTENCY_KEY_PATTERN  # noqa: E402


def _set(name: str) -> set[str]:
    return {v.strip() for v in os.environ.get(name, "").split(",") if v.strip()}


BASE_URL = os.environ["FUZZ_BASE_URL"]
TOKEN_PATH = os.environ["FUZZ_TOKEN_PATH"]
USERNAME = os.environ["FUZZ_USERNAME"]
PASSWORD = os.environ["FUZZ_PASSWORD"]
PROTECTED_USER_IDS = _set("FUZZ_PROTECTED_USER_IDS")
PROTECTED_USERNAMES = _set("FUZZ_PROTECTED_USERNAMES")
PROTECTED_ROLE_IDS = _set("FUZZ_PROTECTED_ROLE_IDS")
DECOY_USER_ID = os.environ["FUZZ_DECOY_USER_ID"]
DECOY_USERNAME = os.environ["FUZZ_DECOY_USERNAME"]
DECOY_ROLE_ID = os.environ["FUZZ_DECOY_ROLE_ID"]

KEEP_REFUSALS = os.environ.get("FUZZ_KEEP_REFUSALS") == "1"
BUSINESS_REFUSALS = {
    "pagination.invalid_cursor",  # opaque cursors: only the server's own are valid
    "approval_flow.invalid",  # a flow's rules must find approvers among real users
    "customer.import_unreadable",  # the upload must be an .xlsx workbook
    "role.unknown_permission",  # permission codes come from GET /permissions
    "role.scope_companies_required",  # a 'companies' scope needs companies: across two fields
    "user.department_mismatch",  # the department must belong to the user's company
    "customer.duplicate_check_empty",  # at least one of several optional query parameters
    "customer.unknown_user",  # referenced users must exist in the group
    "role.unknown_company",  # referenced companies must exist in the group
    "contact.invalid_phone",  # a real phone number (phonenumbers), beyond any pattern
    "user.unknown_role",  # referenced roles must exist in the group
    "resource.stale",  # 412: a well-formed If-Match naming another version is a precondition, not a schema
}

# Access tokens live 15 minutes; refresh well before.
REFRESH_SECONDS = 10 * 60


@schemathesis.auth(refresh_interval=REFRESH_SECONDS)
class PasswordLogin:
    def get(self, case, ctx):
        for _ in range(3):
            response = requests.post(
                BASE_URL + TOKEN_PATH,
                data={"username": USERNAME, "password": PASSWORD, "grant_type": "password"},
                timeout=30,
            )
            if response.status_code not in (429, 503):
                break
            # Throttled (the fuzzer's own wrong passwords) or the password hasher is busy: wait.
            try:
                wait = float(response.headers.get("Retry-After", "5"))
            except ValueError:
                wait = 5.0
            time.sleep(min(wait, 30))
        response.raise_for_status()
        return response.json()["access_token"]

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def _redirect(container, key: str, protected: set[str], decoy: str) -> None:
    if isinstance(container, dict) and isinstance(container.get(key), str) and container[key] in protected:
        container[key] = decoy


@schemathesis.hook
def before_call(context, case, kwargs):
    method = case.operation.method.upper()
    if method in ("GET", "HEAD", "OPTIONS"):
        return
    path = case.operation.path
    if path.endswith("/auth/token"):
        _redirect(case.body, "username", PROTECTED_USERNAMES, DECOY_USERNAME)
        return
    if "/users/{user_id}" in path:
        _redirect(case.path_parameters, "user_id", PROTECTED_USER_IDS, DECOY_USER_ID)
    if "/roles/{role_id}" in path:
        _redirect(case.path_parameters, "role_id", PROTECTED_ROLE_IDS, DECOY_ROLE_ID)
    if path.endswith("/handovers"):
        _redirect(case.body, "from_user_id", PROTECTED_USER_IDS, DECOY_USER_ID)


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if KEEP_REFUSALS or not isinstance(failure, RejectedPositiveData):
        return True
    if _outside_documented_header_patterns(case) or _not_uuid_path_ids(case):
        return False
    try:
        problem = response.json()
    except Exception:  # noqa: BLE001 - not a problem document: keep the failure
        return True
    if problem.get("code") in BUSINESS_REFUSALS:
        return False
    # An IANA zone the server's tz database does not know: the list depends on the installed
    # tzdata, so the document cannot pin it (it says "IANA time zone").
    pointers = {e.get("pointer") for e in problem.get("errors") or []}
    return not (pointers and pointers <= {"/body/timezone"})


def _not_uuid_path_ids(case) -> bool:
    """Stateful links sometimes feed a null from a response into a path id ("/companies/None"):
    the document says `format: uuid`, so that request was never schema-valid."""
    for name, value in (case.path_parameters or {}).items():
        if name.endswith("_id"):
            try:
                uuid.UUID(str(value))
            except ValueError:
                return True
    return False


# Schemathesis' coverage phase makes "schema-valid" boundary values from minLength/maxLength alone
# (a 1024-character If-Match of zeros), ignoring the documented `pattern`. A refused value that
# breaks the documented pattern was never schema-valid: such a refusal is not a finding.
HEADER_PATTERNS = {"if-match": re.compile(IF_MATCH_PATTERN), "idempotency-key": re.compile(IDEMPOTENCY_KEY_PATTERN)}


def _outside_documented_header_patterns(case) -> bool:
    for name, value in (case.headers or {}).items():
        pattern = HEADER_PATTERNS.get(name.lower())
        if pattern is not None and isinstance(value, str) and not pattern.match(value.strip(" \t")):
            return True
    return False
