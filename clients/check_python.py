"""A typed program against the generated Python clients (openapi-python-client), run by
scripts/check-clients against a server with the demo data. `raise_on_unexpected_status` makes any
status the document does not list an error."""

import io
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "generated"))

from openpyxl import load_workbook  # noqa: E402
from recourse_mobile_v1 import AuthenticatedClient as MobileAuthenticatedClient  # noqa: E402
from recourse_mobile_v1 import Client as MobileClient  # noqa: E402
from recourse_mobile_v1.api.auth import mobile_auth_token, mobile_me  # noqa: E402
from recourse_mobile_v1.models import BodyMobileAuthToken, MeResponse  # noqa: E402
from recourse_mobile_v1.models import TokenResponse as MobileToken  # noqa: E402
from recourse_v1 import AuthenticatedClient, Client  # noqa: E402
from recourse_v1.api.auth import platform_auth_token  # noqa: E402
from recourse_v1.api.customers import (  # noqa: E402
    create_customer,
    get_customer_import_template,
    import_customers,
    list_customers,
    update_customer,
)
from recourse_v1.models import (  # noqa: E402
    BodyImportCustomers,
    BodyPlatformAuthToken,
    CustomerCreate,
    CustomerCreated,
    CustomerOut,
    CustomerUpdate,
    ImportResult,
    PageCustomerOut,
    Problem,
    TokenResponse,
)
from recourse_v1.types import UNSET, File  # noqa: E402

BASE = os.environ.get("BASE_URL", "http://127.0.0.1:8000")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def check(condition: object, what: str, detail: object = None) -> None:
    if not condition:
        raise SystemExit(f"Python client: {what} failed: {detail!r}")


login = platform_auth_token.sync_detailed(
    client=Client(base_url=BASE, raise_on_unexpected_status=True),
    body=BodyPlatformAuthToken(username="admin", password="Demo@12345"))
check(isinstance(login.parsed, TokenResponse), "log in", login.parsed)
assert isinstance(login.parsed, TokenResponse)
api = AuthenticatedClient(base_url=BASE, token=login.parsed.access_token, raise_on_unexpected_status=True)

created = create_customer.sync_detailed(client=api, body=CustomerCreate(name=f"Python client {time.time_ns()}"),
                                        idempotency_key=str(uuid.uuid4()))
check(created.status_code == 201 and isinstance(created.parsed, CustomerCreated), "create a customer", created.parsed)
assert isinstance(created.parsed, CustomerCreated)
customer_id = created.parsed.id
etag = created.headers["ETag"]
check(created.headers["Location"].endswith(str(customer_id)), "Location on 201")

seen: set[uuid.UUID] = set()
cursor: str | None = None
pages = 0
while True:
    page = list_customers.sync_detailed(client=api, limit=50, cursor=cursor if cursor is not None else UNSET)
    check(isinstance(page.parsed, PageCustomerOut), "list customers", page.parsed)
    assert isinstance(page.parsed, PageCustomerOut)
    seen.update(item.id for item in page.parsed.items)
    pages += 1
    cursor = page.parsed.next_cursor  # required: None on the last page, never UNSET
    if cursor is None or pages >= 200:
        break
check(pages > 1 and customer_id in seen, "follow next_cursor", (pages, len(seen)))

template = get_customer_import_template.sync_detailed(client=api)
check(isinstance(template.parsed, File), "download the import template", template.parsed)
assert isinstance(template.parsed, File)
content = template.parsed.payload.read()
check(content[:2] == b"PK", "the template is an .xlsx (zip)", content[:4])

# The template's sample row, renamed so it does not collide with what another client imported.
book = load_workbook(io.BytesIO(content))
sheet = book.worksheets[0]
sheet["B2"] = f"Python import {time.time_ns()}"
sheet["C2"] = ""  # no credit code: it is unique in the group
buffer = io.BytesIO()
book.save(buffer)
buffer.seek(0)
imported = import_customers.sync_detailed(
    client=api, body=BodyImportCustomers(file=File(payload=buffer, file_name="customers.xlsx", mime_type=XLSX)))
check(imported.status_code == 201 and isinstance(imported.parsed, ImportResult) and imported.parsed.imported == 1,
      "upload an import (multipart binary)", imported.parsed)

stale = update_customer.sync_detailed(customer_id, client=api, body=CustomerUpdate(notes="stale"),
                                      if_match='W/"999999"')
check(stale.status_code == 412 and isinstance(stale.parsed, Problem) and stale.parsed.code == "resource.stale",
      "a stale If-Match is a 412", stale.parsed)
fresh = update_customer.sync_detailed(customer_id, client=api, body=CustomerUpdate(notes="fresh"), if_match=etag)
check(fresh.status_code == 200 and isinstance(fresh.parsed, CustomerOut) and fresh.parsed.notes == "fresh",
      "the current If-Match updates", fresh.parsed)

field_login = mobile_auth_token.sync_detailed(
    client=MobileClient(base_url=BASE, raise_on_unexpected_status=True),
    body=BodyMobileAuthToken(username="admin", password="Demo@12345"))
check(field_login.status_code == 200 and field_login.parsed is not None, "field log in", field_login.parsed)
assert isinstance(field_login.parsed, MobileToken)
me = mobile_me.sync_detailed(client=MobileAuthenticatedClient(base_url=BASE, token=field_login.parsed.access_token,
                                                              raise_on_unexpected_status=True))
check(isinstance(me.parsed, MeResponse) and me.parsed.username == "admin", "field /me", me.parsed)

print(f"Python client: ok ({len(seen)} customers over {pages} pages)")
