-- Scope-list benchmark data for the demo group (code 'demo'), set-based. Statements are separated
-- by lines reading `-- step`; :customers is replaced by the script with an integer.
--
-- Shape, so every scope kind meets a realistic tenant: customers spread unevenly over the nine
-- companies (C01 40 % ... C09 0.5 %, "a small company in a big tenant"); 20 % in the pool; the
-- private ones owned through 1,000 owner slots per company, skewed so that a few users own many
-- and a fifth of the synthetic users own none; sales1 holds 10 % of C01, sales2 0.3 %, collector3
-- nothing; a few shares (sales2 gets 50, collector3 none); 0.5 % soft-deleted.
-- Principals for every scope kind and synthetic owners (run before the demo-size round too, so
-- both sizes measure the same principals): a sub-department under C01's sales department, a
-- department_tree role and a department role, 297 salespeople (33 per company; in C01 every other
-- one in the sub-department), `bench_depthead` (C01 sales, department tree), `bench_deptmgr`
-- (C03 sales, department) and `bench_clerk9` (a clerk of C09, the 0.5 % company: company scope).
-- Everybody's password is the demo password (sales2's hash).
INSERT INTO department (id, group_id, company_id, parent_id, name, version)
SELECT gen_random_uuid(), d.group_id, d.company_id, d.id, '销售一组', 1
FROM department d JOIN company c ON c.id = d.company_id AND c.code = 'C01'
JOIN org_group g ON g.id = d.group_id AND g.code = 'demo'
WHERE d.name = '销售部' AND d.parent_id IS NULL;
-- step
INSERT INTO role (id, group_id, code, name, permissions, scope_kind, scope_company_ids, rank, is_system_admin, version)
SELECT gen_random_uuid(), g.id, r.code, r.code, ARRAY['company.read', 'customer.read'], r.kind, '{}', 30, false, 1
FROM org_group g, (VALUES ('bench_dept_tree', 'department_tree'), ('bench_dept', 'department')) AS r(code, kind)
WHERE g.code = 'demo';
-- step
INSERT INTO app_user (id, group_id, company_id, department_id, username, display_name, password_hash, is_active,
                      failed_login_count, version)
SELECT gen_random_uuid(), c.group_id, c.id,
       CASE WHEN c.code = 'C01' AND u.i % 2 = 0 THEN (SELECT id FROM department WHERE name = '销售一组')
            ELSE (SELECT d.id FROM department d WHERE d.company_id = c.id AND d.name = '销售部'
                  AND d.parent_id IS NULL) END,
       u.username, u.username, (SELECT password_hash FROM app_user WHERE username = 'sales2'), true, 0, 1
FROM (SELECT i, 'bench_u' || lpad(i::text, 3, '0') AS username, 'C0' || (1 + i % 9) AS code
      FROM generate_series(0, 296) AS i
      UNION ALL VALUES (-1, 'bench_depthead', 'C01'), (-1, 'bench_deptmgr', 'C03'), (-1, 'bench_clerk9', 'C09')) AS u
JOIN company c ON c.code = u.code
JOIN org_group g ON g.id = c.group_id AND g.code = 'demo';
-- step
INSERT INTO user_role (user_id, role_id)
SELECT u.id, r.id FROM app_user u JOIN role r ON r.group_id = u.group_id
AND r.code = CASE u.username WHEN 'bench_depthead' THEN 'bench_dept_tree' WHEN 'bench_deptmgr' THEN 'bench_dept'
                             WHEN 'bench_clerk9' THEN 'clerk' ELSE 'salesperson' END
WHERE u.username LIKE 'bench\_%';
-- step
-- load
CREATE TEMP TABLE bench_company AS
SELECT c.id, c.code, w.lo, w.hi
FROM company c JOIN org_group g ON g.id = c.group_id AND g.code = 'demo'
JOIN (VALUES ('C01', 0, 400), ('C02', 400, 600), ('C03', 600, 750), ('C04', 750, 850), ('C05', 850, 910),
             ('C06', 910, 950), ('C07', 950, 980), ('C08', 980, 995), ('C09', 995, 1000)) AS w(code, lo, hi)
  ON w.code = c.code;
-- step
-- Owner slots: per company, synthetic users ranked by name; slot s goes to user floor(0.8 k (s/1000)^2)
-- (skewed; the last fifth of them gets no slot). In C01 slots 0-99 are sales1's and 100-102 sales2's.
CREATE TEMP TABLE bench_slot AS
WITH ranked AS (
    SELECT u.company_id, u.id, row_number() OVER (PARTITION BY u.company_id ORDER BY u.username) - 1 AS r,
           count(*) OVER (PARTITION BY u.company_id) AS k
    FROM app_user u WHERE u.username LIKE 'bench\_u%'
), slots AS (
    SELECT c.id AS company_id, c.code, s FROM bench_company c, generate_series(0, 999) AS s
)
SELECT s.company_id, s.s AS slot,
       CASE WHEN s.code = 'C01' AND s.s < 100 THEN (SELECT id FROM app_user WHERE username = 'sales1')
            WHEN s.code = 'C01' AND s.s < 103 THEN (SELECT id FROM app_user WHERE username = 'sales2')
            ELSE (SELECT r.id FROM ranked r WHERE r.company_id = s.company_id
                  AND r.r = floor(0.8 * r.k * (s.s / 1000.0) ^ 2)::int) END AS user_id
FROM slots s;
-- step
CREATE UNIQUE INDEX ON bench_slot (company_id, slot);
-- step
INSERT INTO customer (id, group_id, company_id, kind, name, name_norm, addresses, phones, tags, category,
                      owner_id, created_by_id, status, protected_until, pooled_at, deleted_at, version,
                      created_at, updated_at)
SELECT gen_random_uuid(), g.id, c.id, 'company', '规模客户' || i || '有限公司', '规模客户' || i, '{}', '{}', '{}',
       'intended', CASE WHEN i % 5 = 0 THEN NULL ELSE o.user_id END, a.id,
       CASE WHEN i % 5 = 0 THEN 'pool' ELSE 'private' END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE now() + make_interval(days => (1 + i % 15)::int) END,
       CASE WHEN i % 5 = 0 THEN now() END,
       CASE WHEN i % 200 = 7 THEN now() END, 1,
       now() - make_interval(secs => (i * 90)::double precision), now()
FROM generate_series(1::bigint, :customers::bigint) AS i
CROSS JOIN org_group g
CROSS JOIN (SELECT id FROM app_user WHERE username = 'admin') a
JOIN bench_company c ON (i * 7919) % 1000 >= c.lo AND (i * 7919) % 1000 < c.hi
JOIN bench_slot o ON o.company_id = c.id AND o.slot = (i * 104729 / 7) % 1000
WHERE g.code = 'demo';
-- step
-- Shares: sales2 gets 50 private customers of C01/C02 (not their own); synthetic users a few each.
INSERT INTO customer_share (customer_id, user_id, can_edit, created_at)
SELECT c.id, (SELECT id FROM app_user WHERE username = 'sales2'), false, now()
FROM customer c JOIN bench_company b ON b.id = c.company_id AND b.code IN ('C01', 'C02')
WHERE c.status = 'private' AND c.owner_id <> (SELECT id FROM app_user WHERE username = 'sales2')
  AND c.name LIKE '规模客户%3有限公司'
ORDER BY c.created_at DESC LIMIT 50;
-- step
INSERT INTO customer_share (customer_id, user_id, can_edit, created_at)
SELECT c.id, u.id, true, now()
FROM (SELECT id, company_id, owner_id, row_number() OVER (ORDER BY id) AS n FROM customer
      WHERE status = 'private' AND name LIKE '规模客户%') c
JOIN app_user u ON u.company_id = c.company_id AND u.username LIKE 'bench\_u%' AND u.id <> c.owner_id
WHERE c.n % 2000 = 0
ON CONFLICT DO NOTHING;
