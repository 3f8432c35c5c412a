// A typed program against the generated TypeScript client (openapi-typescript + openapi-fetch), run by
// scripts/check-clients against a server with the demo data. Compiled with `tsc --strict` first.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/ts/v1.js";
import type { paths as MobilePaths } from "./generated/ts/mobile-v1.js";

type Problem = components["schemas"]["Problem"];
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const base = process.env.BASE_URL ?? "http://127.0.0.1:8000";

function check(condition: unknown, what: string, detail?: unknown): asserts condition {
  if (!condition) throw new Error(`${what}: ${JSON.stringify(detail)}`);
}

const form = (body: { username: string; password: string }) =>
  new URLSearchParams({ username: body.username, password: body.password, grant_type: "password" });

// --- platform ----------------------------------------------------------------------------------------
const api = createClient<paths>({ baseUrl: base });
const login = await api.POST("/api/v1/auth/token", {
  body: { username: "admin", password: "Demo@12345" },
  bodySerializer: form,
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
});
check(login.data, "log in", login.error);
const token: string = login.data.access_token;
api.use({ onRequest: ({ request }) => { request.headers.set("Authorization", `Bearer ${token}`); return request; } });

const created = await api.POST("/api/v1/customers", {
  body: { name: `TypeScript client ${Date.now()}` },  // only the required fields
  params: { header: { "Idempotency-Key": crypto.randomUUID() } },
});
check(created.response.status === 201 && created.data, "create a customer", created.error);
const customerId: string = created.data.id;
const etag = created.response.headers.get("ETag");
check(etag && created.response.headers.get("Location")?.endsWith(customerId), "ETag and Location on 201");

const seen = new Set<string>();
let cursor: string | null = null;
let pages = 0;
do {
  const page: Awaited<ReturnType<typeof listPage>> = await listPage(cursor);
  check(page.data, "list customers", page.error);
  for (const item of page.data.items) seen.add(item.id);
  cursor = page.data.next_cursor;  // required and nullable: `string | null`, never undefined
  pages += 1;
} while (cursor !== null && pages < 200);
check(pages > 1 && seen.has(customerId), "follow next_cursor", { pages, seen: seen.size });

function listPage(after: string | null) {
  return api.GET("/api/v1/customers", { params: { query: { limit: 50, ...(after === null ? {} : { cursor: after }) } } });
}

const template = await api.GET("/api/v1/customers/import-template", { parseAs: "blob" });
check(template.data instanceof Blob, "download the import template", template.error);
const bytes = new Uint8Array(await template.data.arrayBuffer());
check(bytes[0] === 0x50 && bytes[1] === 0x4b, "the template is an .xlsx (zip)", bytes.slice(0, 4));

const imported = await api.POST("/api/v1/customers/import", {
  body: { file: new Blob([bytes], { type: XLSX }) },
  bodySerializer: (body) => {
    const data = new FormData();
    data.append("file", body.file, "customers.xlsx");
    return data;
  },
});
check(imported.response.status === 201 && imported.data?.imported === 1, "upload an import", imported.error);

const stale = await api.PATCH("/api/v1/customers/{customer_id}", {
  params: { path: { customer_id: customerId }, header: { "If-Match": 'W/"999999"' } },
  body: { notes: "stale" },
});
const problem: Problem | undefined = stale.error;
check(stale.response.status === 412 && problem?.code === "resource.stale", "a stale If-Match is a 412", problem);
check(stale.response.headers.get("Content-Type")?.startsWith("application/problem+json"), "412 is problem+json");

const fresh = await api.PATCH("/api/v1/customers/{customer_id}", {
  params: { path: { customer_id: customerId }, header: { "If-Match": etag } },
  body: { notes: "fresh" },
});
check(fresh.response.status === 200 && fresh.data?.notes === "fresh", "the current If-Match updates", fresh.error);

// --- field -------------------------------------------------------------------------------------------
const field = createClient<MobilePaths>({ baseUrl: base });
const fieldLogin = await field.POST("/api/mobile/v1/auth/token", {
  body: { username: "admin", password: "Demo@12345" },
  bodySerializer: form,
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
});
check(fieldLogin.data, "field log in", fieldLogin.error);
const me = await field.GET("/api/mobile/v1/me", {
  headers: { Authorization: `Bearer ${fieldLogin.data.access_token}` },
});
check(me.data?.username === "admin", "field /me", me.error);
const inbox = await field.GET("/api/mobile/v1/approvals", {
  params: { query: { waiting_on: "me", limit: 5 } },
  headers: { Authorization: `Bearer ${fieldLogin.data.access_token}` },
});
check(inbox.data && (inbox.data.next_cursor === null || typeof inbox.data.next_cursor === "string"), "field inbox",
  inbox.error);

console.log(`TypeScript client: ok (${seen.size} customers over ${pages} pages)`);
