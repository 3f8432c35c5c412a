"""Operation-level documentation the routes do not carry themselves, keyed by operation id: a
description and request examples for every creating operation, and problem statuses an operation
declares beyond what app/api/openapi.py derives from its dependencies.

Kept here rather than in the schemas so the examples sit beside the operation they illustrate;
tests/contract/test_document_properties.py validates every example against the route's body model
and fails when a creating operation has none.
"""

from typing import Any

# Ids in examples are placeholders: clients substitute ids they have read.
_COMPANY = "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0001"
_USER = "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0002"
_OTHER_USER = "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0003"
_CONTACT = "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0004"
_ROLE = "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0005"
_CUSTOMER = "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0006"
_MACHINE = "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0007"
_CONTRACT = "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0008"
_IDEMPOTENCY = " Send an `Idempotency-Key` to make a retry safe: the same key and body replay the first answer."


def _example(summary: str, value: Any) -> dict[str, Any]:
    return {"summary": summary, "value": value}


_UPLOAD = (
    "Uploads a file as multipart: `id`, the client's own UUID; `file`; optionally `sha256`, the hex digest the "
    "client computed (verified: a mismatch answers 422 `attachment.checksum_mismatch`). At most 20 MiB (413); a "
    "JPEG, PNG, HEIC image or a PDF judged by its bytes (415 `attachment.unsupported_type` otherwise), and "
    "declared as nothing else: a name's extension or a part Content-Type naming another type answers 415 "
    "`attachment.type_mismatch` (`application/octet-stream` or no extension declares nothing); the content "
    "is always served with the type of its bytes. A photo's EXIF "
    "time and GPS position are kept. The same id uploaded again with the same content answers 200 with the "
    "stored attachment; with other content 409 `attachment.conflicting_retry`. Name it in a record (a "
    "collection log) within 24 hours, or it is purged." + _IDEMPOTENCY,
    {},  # a binary part has no useful inline example
)

_TOW_REGISTRATION: tuple[str, dict[str, dict[str, Any]]] = (
    "Registers the towed machine (拖机登记) of a tow task the caller may change, exactly once (409 "
    "`tow_task.already_registered`): at least one photo (uploaded attachments), the condition report and the "
    "tow cost, which is posted to the contract as a charge; the contract becomes `repossessed` and the "
    "machine's last position is the yard's. The collection case stays open." + _IDEMPOTENCY,
    {"registered": _example("A machine in the yard", {
        "task_id": "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0030", "towed_at": "2026-11-24T10:30:00+08:00",
        "place": "常州市新北区某工地", "latitude": 31.81, "longitude": 119.97, "yard": "常州停车场",
        "yard_latitude": 31.78, "yard_longitude": 119.95, "hour_meter": 5230.5,
        "condition": {part: {"state": "ok"} for part in (
            "exterior", "engine", "hydraulics", "undercarriage_tyres", "cab", "attachments", "keys")},
        "photo_ids": ["0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0031"], "cost": "3500.00"})},
)

_LOCK_REQUEST = (
    "Creates a lock request (锁机申请) for a machine with a GPS device of an active contract whose scope covers "
    "the caller, or whose open case the caller holds (404 otherwise); `submit: true` submits it in the same call. "
    "While a promise to pay is pending on the contract, submitting needs `override_reason` (409 `promise.hold`). "
    "On approval a device command is queued (`GET /device-commands?request_id=…`); the machine is `locked` only "
    "when the device acknowledges." + _IDEMPOTENCY,
    {"draft": _example("A draft", {"contract_id": _CONTRACT, "machine_id": _MACHINE,
                                    "reason": "连续三期未还款, 客户失联"}),
     "override": _example("Submitted at once, overriding a pending promise", {
         "contract_id": _CONTRACT, "machine_id": _MACHINE, "reason": "承诺多次未兑现",
         "override_reason": "客户正在转移设备", "submit": True})},
)
_UNLOCK_REQUEST = (
    "Creates an unlock request (开机申请) for a machine with a GPS device of a contract in reach (active, "
    "repossessed or settled); the request keeps the contract's latest payment, as "
    "`GET /contracts/{contract_id}/unlock-request-form` shows it. On approval a device command is queued."
    + _IDEMPOTENCY,
    {"submitted": _example("After a payment, submitted at once", {
        "contract_id": _CONTRACT, "machine_id": _MACHINE, "reason": "客户已补缴两期欠款", "submit": True})},
)

# operation id → (description, {example name: example}); the examples go under the JSON (or form) body.
CREATE_OPERATIONS: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "create_attachment": _UPLOAD,
    "mobile_create_attachment": _UPLOAD,
    "create_customer": (
        "Creates a customer owned by the caller (or `owner_id` with customer.assign). A customer whose "
        "normalised name matches an existing one answers 409 `customer.possible_duplicate` unless "
        "`confirm_duplicate` is true; identical credit codes or identity numbers are always refused." + _IDEMPOTENCY,
        {"minimal": _example("Only the required fields", {"name": "华东重工机械有限公司"}),
         "full": _example("A company customer with a phone", {
             "name": "Huadong Heavy Machinery Co., Ltd.", "kind": "company", "category": "intended",
             "grade": "A", "credit_code": "91310000MA1FL1234X", "industry": "construction",
             "phones": ["138 0013 8000"], "tags": ["excavator"]})},
    ),
    "create_contact": (
        "Creates a contact owned by the caller. A mobile number already used by another contact of the group "
        "answers 409 unless `confirm_duplicate` is true." + _IDEMPOTENCY,
        {"minimal": _example("Only the required fields", {"name": "张伟"}),
         "with_mobile": _example("With a mobile number", {"name": "Zhang Wei", "mobile": "13800138000",
                                                          "position": "purchasing manager"})},
    ),
    "link_customer_contact": (
        "Links an existing contact to the customer with a relation (legal representative, guarantor…)."
        + _IDEMPOTENCY,
        {"guarantor": _example("A guarantor", {"contact_id": _CONTACT, "relation": "guarantor"})},
    ),
    "share_customer": (
        "Shares the customer with users, read-only or with edit rights; answers the customer's shares."
        + _IDEMPOTENCY,
        {"read_only": _example("Read-only share with one user", {"user_ids": [_USER]}),
         "edit": _example("Editable share", {"user_ids": [_USER, _OTHER_USER], "can_edit": True})},
    ),
    "import_customers": (
        "Imports customers from an .xlsx in the layout of `GET /customers/import-template`, as one "
        "multipart part named `file` (binary). All rows or none: errors answer 422 with a pointer per row "
        "and column." + _IDEMPOTENCY,
        {},  # a binary part has no useful inline example; the template is the example
    ),
    "create_company": (
        "Creates a company of the caller's group (group-wide administrators only). Codes are unique in the group."
        + _IDEMPOTENCY,
        {"minimal": _example("Only the required fields", {"code": "SH01", "name": "上海分公司"})},
    ),
    "create_department": (
        "Creates a department in a company, optionally under a parent department and with a head." + _IDEMPOTENCY,
        {"minimal": _example("Only the required fields", {"company_id": _COMPANY, "name": "Collections"})},
    ),
    "create_role": (
        "Creates a role: a set of permissions and a data scope." + _IDEMPOTENCY,
        {"collector": _example("A collector who sees their own records", {
            "code": "collector", "name": "Collector", "scope_kind": "self",
            "permissions": ["customer.read"]})},
    ),
    "create_user": (
        "Creates a user in a company with an initial password and roles. Usernames are unique in the group."
        + _IDEMPOTENCY,
        {"minimal": _example("Only the required fields", {
            "username": "li.na", "display_name": "李娜", "password": "Change-me-2024!", "company_id": _COMPANY}),
         "with_roles": _example("With a role", {
             "username": "wang.fang", "display_name": "Wang Fang", "password": "Change-me-2024!",
             "company_id": _COMPANY, "role_ids": [_ROLE]})},
    ),
    "create_handover": (
        "Moves everything a (leaving) user holds to another user, in one transaction: customers, contacts and "
        "the customers shared with them; the requests they filed and that are not approved (with their "
        "approvals: the receiver becomes the submitter) and the approval steps waiting on them; draft "
        "contracts and their place as salesperson or clerk on running contracts; their investigations not "
        "yet submitted, open collection cases, open tow tasks and webhook subscriptions. Settled and "
        "cancelled contracts and history (who created, approved, recorded) keep their people. Optionally "
        "locks the leaver." + _IDEMPOTENCY,
        {"leaver": _example("Hand over and lock", {"from_user_id": _USER, "to_user_id": _OTHER_USER,
                                                    "reason": "left the company", "lock_from_user": True})},
    ),
    "create_approval_flow": (
        "Creates the approval flow of a request type for the group (no `company_id`) or one company, "
        "with its first version of steps. One active flow per request type and company." + _IDEMPOTENCY,
        {"one_step": _example("One step: the submitter's manager", {
            "request_type": "expense", "name": "Expense approval",
            "steps": [{"name": "Manager", "rule": {"kind": "manager"}, "mode": "any"}]}),
         "conditional": _example("A second step above an amount", {
             "request_type": "expense", "name": "Expense approval",
             "steps": [{"name": "Manager", "rule": {"kind": "manager"}},
                       {"name": "Finance", "rule": {"kind": "users", "user_ids": [_USER]}, "mode": "any",
                        "condition": "amount > 5000"}]})},
    ),
    "create_expense_request": (
        "Creates a draft expense request; submit it to start its approval. The phone may send its own UUID "
        "as `client_ref`: the caller's second upload of it answers 200 with their existing record." + _IDEMPOTENCY,
        {"minimal": _example("Only the required fields", {"title": "Site visit, Suzhou", "amount": "1280.00"}),
         "offline": _example("Created offline with the phone's own reference", {
             "client_ref": "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0010", "title": "Tow truck", "amount": "2400.00",
             "category": "repair"})},
    ),
    "create_tow_request": (
        "Creates a tow request (拖机申请) for a machine of an active contract whose scope covers the caller, or "
        "whose open case the caller holds (404 otherwise); `submit: true` submits it in the same call. While a "
        "promise to pay is pending on the contract, submitting needs `override_reason` (409 `promise.hold`). "
        "On approval a tow task is opened." + _IDEMPOTENCY,
        {"draft": _example("A draft", {"contract_id": _CONTRACT, "machine_id": _MACHINE,
                                        "reason": "连续三期未还款, 客户失联", "location": "江苏省常州市武进区某工地"}),
         "override": _example("Submitted at once, overriding a pending promise", {
             "contract_id": _CONTRACT, "machine_id": _MACHINE, "reason": "承诺多次未兑现",
             "location": "常州市新北区", "latitude": 31.81, "longitude": 119.97,
             "override_reason": "客户已转移设备, 需立即拖回", "submit": True})},
    ),
    "create_tow_registration": _TOW_REGISTRATION,
    "create_lock_request": _LOCK_REQUEST,
    "mobile_create_lock_request": _LOCK_REQUEST,
    "create_unlock_request": _UNLOCK_REQUEST,
    "mobile_create_unlock_request": _UNLOCK_REQUEST,
    "mobile_create_tow_registration": _TOW_REGISTRATION,
    "create_interest_waiver": (
        "Files an interest waiver (利息减免) on a contract in the caller's scope (a collector: a contract of a case "
        "they hold). `submit: true` creates and submits in one call. Approval posts the waiver; 409 "
        "`waiver.amount_exceeds_penalty` if the unpaid penalty has fallen below the amount since." + _IDEMPOTENCY,
        {"submit_now": _example("Created and submitted", {
            "contract_id": _CONTRACT, "amount": "800.00",
            "reason": "客户已结清逾期本息, 申请减免罚息", "submit": True})},
    ),
    "create_settlement_request": (
        "Files a settlement request (结清申请); it shows the payoff at submission. Approval needs the payoff to be "
        "0.00 at that moment (else 409 `settlement.balance_not_zero`)." + _IDEMPOTENCY,
        {"draft": _example("A draft", {"contract_id": _CONTRACT})},
    ),
    "create_webhook_subscription": (
        "Subscribes an https URL (public addresses only: 422 `webhook.url_refused` otherwise) to integration "
        "events. The answer holds the Standard Webhooks signing secret (`whsec_...`), shown this once. Deliveries "
        "are at least once, in order per contract, retried for 3 days." + _IDEMPOTENCY,
        {"erp": _example("The ERP follows money and contracts", {
            "url": "https://erp.example.com/recourse/events", "description": "ERP 收款同步",
            "event_types": ["payment.recorded", "payment.reversed", "contract.shipped", "contract.settled"]})},
    ),
    "create_message_template": (
        "Creates the group's template for one kind of message on one channel (409 `message_template.exists` if "
        "there is one: change it). Placeholders: {customer_name} {contract_number} {amount} {due_date}."
        + _IDEMPOTENCY,
        {"reminder": _example("An SMS three days before an instalment falls due", {
            "kind": "payment_reminder", "channel": "sms", "days_before": 3,
            "body": "【华东机械】{customer_name}, 合同{contract_number}本期应还{amount}元将于{due_date}到期。"})},
    ),
    "create_gps_fee": (
        "Files a GPS service fee (purchase or renewal) for a machine of the contract; approval posts it once "
        "as a `gps_fee` charge." + _IDEMPOTENCY,
        {"renewal": _example("A yearly renewal", {
            "contract_id": _CONTRACT, "machine_id": _MACHINE,
            "kind": "renewal", "period_from": "2026-12-01", "period_to": "2027-11-30", "amount": "1200.00"})},
    ),
    "create_collection_log": (
        "Logs a contact on a case: the case's collector (or a dispatcher in scope). The phone sends its own UUID "
        "as `id`: uploading it again with the same body answers 200 with the stored log, with another body 409 "
        "`log.conflicting_retry`. A collector whose case was reassigned still gets a log accepted that occurred "
        "before the reassignment (else 409 `case.not_assigned_to_you`). A promise supersedes the case's pending "
        "ones." + _IDEMPOTENCY,
        {"call": _example("A call that reached nobody", {
            "id": "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0020", "contact_id": _CONTACT, "action": "call",
            "result": "no_answer", "occurred_at": "2026-11-24T09:30:00+08:00"}),
         "visit_with_promise": _example("A site visit with a promise to pay and a photo", {
             "id": "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0021", "person": {"name": "李工", "relation": "工地负责人"},
             "action": "visit", "result": "promised", "notes": "客户称月底回款",
             "location": {"latitude": 31.230416, "longitude": 121.473701, "accuracy_m": 15},
             "occurred_at": "2026-11-24T14:05:00+08:00",
             "attachment_ids": ["0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0022"],
             "promise": {"amount": "20000.00", "date": "2026-11-30"}})},
    ),
    "create_field_log": (
        "Logs a contact on one of my cases from the phone, as `create_collection_log` on the platform: the phone's "
        "own UUID as `id`, so an upload retried after a lost answer returns the stored log (200); another body "
        "under the same id is a 409 `log.conflicting_retry`." + _IDEMPOTENCY,
        {"call": _example("A call that reached nobody", {
            "id": "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0030", "contact_id": _CONTACT, "action": "call",
            "result": "no_answer", "occurred_at": "2026-11-24T09:30:00+08:00"})},
    ),
    "create_field_request_interest_waiver": (
        "Files an interest waiver (利息减免) on the contract of one of my cases and submits it in one call (404 when "
        "the contract is not in reach; 409 `approval.no_flow` without a flow). `client_ref` is the phone's own "
        "UUID: sent again, it answers 200 with the request it created." + _IDEMPOTENCY,
        {"waiver": _example("A waiver of part of the penalty", {
            "client_ref": "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0031", "contract_id": _CONTRACT, "amount": "800.00",
            "reason": "客户已结清逾期本息, 申请减免罚息"})},
    ),
    "create_field_request_tow": (
        "Files a tow request (拖机申请) for a machine of the contract of one of my cases and submits it (409 "
        "`promise.hold` while a promise is pending, unless `override_reason`). `client_ref` as for waivers."
        + _IDEMPOTENCY,
        {"tow": _example("A tow request from the site", {
            "client_ref": "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0032", "contract_id": _CONTRACT, "machine_id": _MACHINE,
            "reason": "连续三期未还款, 客户失联", "location": "江苏省常州市武进区某工地", "latitude": 31.81,
            "longitude": 119.97})},
    ),
    "create_field_request_settlement": (
        "Files a settlement request (结清申请) and submits it; approval needs the payoff at 0.00. `client_ref` as "
        "for waivers." + _IDEMPOTENCY,
        {"settlement": _example("A settlement request", {
            "client_ref": "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0033", "contract_id": _CONTRACT,
            "notes": "客户已一次性付清"})},
    ),
    "create_field_request_lock": (
        "Files a lock request (锁机申请) for a machine with a GPS device of the contract of one of my cases and "
        "submits it (409 `promise.hold` while a promise is pending, unless `override_reason`); on approval a device "
        "command is queued. `client_ref` as for waivers." + _IDEMPOTENCY,
        {"lock": _example("A lock request from the field", {
            "client_ref": "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0034", "contract_id": _CONTRACT, "machine_id": _MACHINE,
            "reason": "失联三周, 设备仍在工地作业"})},
    ),
    "create_field_request_unlock": (
        "Files an unlock request (开机申请), usually after a payment (the request keeps the latest payment), and "
        "submits it. `client_ref` as for waivers." + _IDEMPOTENCY,
        {"unlock": _example("An unlock after a payment", {
            "client_ref": "0b6c0e8e-4c1d-4c55-9a53-5b0f2a1c0035", "contract_id": _CONTRACT, "machine_id": _MACHINE,
            "reason": "客户已还清逾期款"})},
    ),
    "create_machine": (
        "Registers a machine of a company the caller sees (default: their own). The serial number (机号) is "
        "unique in the group (409 `machine.duplicate_serial_number`); a GPS device belongs to one machine in the "
        "whole installation (409 `machine.device_taken`, whoever holds it)." + _IDEMPOTENCY,
        {"minimal": _example("Only the required fields", {"model": "SY215C", "serial_number": "SY215C-2026-0001"}),
         "with_gps": _example("With its certificate and GPS box", {
             "model": "SY215C", "category": "excavator", "serial_number": "SY215C-2026-0002",
             "engine_number": "6BG1-889012", "certificate_number": "HGZ-2026-1188", "gps_device_id": "GPS-860012"})},
    ),
    "create_contract": (
        "Creates a draft contract (销售申请) on a customer the caller may see (404 otherwise), numbered per company "
        "and year (`HT-C01-2026-000123`). Bad terms answer 422 with a pointer per field (`terms.*` codes). The "
        "clerk completes it (PATCH) and submits it to approval." + _IDEMPOTENCY,
        {"annuity": _example("An instalment sale, 12 monthly annuity payments", {
            "customer_id": _CUSTOMER, "sale_kind": "instalment_sale",
            "terms": {"price": "500000.00", "down_payment": "100000.00", "annual_rate": "0.06",
                      "term_months": 12, "first_due_date": "2026-01-31", "schedule_kind": "annuity"},
            "contacts": [{"contact_id": _CONTACT, "relation": "legal_representative"}],
            "machine_ids": [_MACHINE], "needs_investigation": True}),
         "lease": _example("A lease with a fixed monthly rent", {
             "customer_id": _CUSTOMER, "sale_kind": "lease",
             "terms": {"price": "0", "annual_rate": "0", "term_months": 24, "first_due_date": "2026-03-15",
                       "schedule_kind": "lease", "monthly_rent": "8500.00"}})},
    ),
    "request_shipment": (
        "Requests the shipment (出库发车) of an approved contract: a `shipment` request on the approval engine, "
        "whose approvers see the investigation's score, recommendation and factors. On approval the contract "
        "becomes active." + _IDEMPOTENCY,
        {"today": _example("Ship today", {}),
         "planned": _example("A planned date with a note", {"planned_date": "2026-01-20", "notes": "随车附件齐全"})},
    ),
    "record_payment": (
        "Records money received on a shipped contract the caller may change (404 otherwise; 409 "
        "`ledger.contract_not_active` before shipment, `ledger.contract_settled` once settled). The value date is "
        "not in the future (`ledger.future_value_date`) nor before the shipment (`ledger.before_shipment`); a "
        "back-dated payment recomputes the penalty of the days since. The amount may not exceed the payoff of its "
        "value date (`payment.exceeds_outstanding`); a bank reference already on the contract answers 409 "
        "`payment.duplicate_reference`. The answer shows the allocation (penalty, fee, interest, principal of the "
        "oldest due items first, then principal not yet due)." + _IDEMPOTENCY,
        {"transfer": _example("A bank transfer with its serial", {
            "amount": "34588.67", "value_date": "2026-02-10", "method": "bank_transfer",
            "reference": "ICBC-20260210-000381", "payer": "常州恒通工程机械有限公司"}),
         "cash": _example("Cash collected in the field", {"amount": "5000.00", "value_date": "2026-02-12",
                                                          "method": "cash", "notes": "催收员现场收取"})},
    ),
    "record_refund": (
        "Pays unapplied credit back to the customer today (ledger.md \"Unapplied credit\": money a payment left "
        "with nothing to reduce, e.g. after the charge it paid was reversed; the only way it leaves the account). "
        "Not more than the credit the account holds today (422 `refund.exceeds_unapplied_credit`), drawn from the "
        "oldest payment's credit first; allowed on a settled contract. Audited; reversed with "
        "`POST /refunds/{id}/reverse`." + _IDEMPOTENCY,
        {"transfer": _example("The credit of a reversed tow charge, back by bank transfer", {
            "amount": "500.00", "method": "bank_transfer", "reason": "拖车费冲正后退还客户",
            "reference": "ICBC-20260216-000112"})},
    ),
    "post_charge": (
        "Posts a charge (a fee item outside the schedule) to a shipped contract the caller may change: paid after "
        "the instalments due before it, by the contract's allocation order." + _IDEMPOTENCY,
        {"gps_fee": _example("A year's GPS service fee", {
            "contract_id": _CONTRACT, "kind": "gps_fee", "amount": "300.00", "due_date": "2026-03-01",
            "description": "GPS服务费 2026"}),
         "freight": _example("Freight of a transfer (运费挂账)", {
             "contract_id": _CONTRACT, "kind": "freight", "amount": "1800.00", "due_date": "2026-02-15"})},
    ),
}

# Problem statuses an operation answers that its dependencies do not show (app/api/openapi.py derives
# the rest). Routes may also declare them with `responses=problem_responses(...)`.
EXTRA_PROBLEMS: dict[str, tuple[int, ...]] = {
    "platform_auth_token": (429,),  # login throttling
    "mobile_auth_token": (429,),
    "urge_approval": (429,),  # urged too recently (Retry-After)
    # A contract not shipped has no receivable: 409 ledger.contract_not_active.
    "get_contract_balance": (409,),
    "get_contract_payoff": (409,),
    "get_contract_statement": (409,),
    "create_attachment": (415,),  # not a JPEG, PNG, HEIC or PDF by its bytes
    "mobile_create_attachment": (415,),
    # A money request names its contract in the body or query: 404 out of scope, 409 not active.
    "get_interest_waiver_form": (404, 409),
    "create_interest_waiver": (404, 409),
    "create_settlement_request": (404, 409),
    "create_gps_fee": (404, 409),
    "create_field_request_interest_waiver": (404, 409),
    "create_field_request_tow": (404, 409),
    "create_field_request_settlement": (404, 409),
    "create_field_request_lock": (404, 409),
    "create_field_request_unlock": (404, 409),
    "create_field_log": (404, 409),
    "sync": (410,),  # sync.cursor_expired: start over with a full snapshot
}
