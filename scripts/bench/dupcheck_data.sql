-- Duplicate-check benchmark data: $4 customers of group $1 / company $2 / owner $3, made with
-- generate_series. Names are city + two "brand" characters + trade + legal suffix (about 2M
-- distinct combinations); name_norm is the same name without the suffix, exactly as
-- app/customers/normalize.py computes it. Every fifth customer is in the pool.
WITH parts AS (
    SELECT string_to_array('上海,杭州,南京,苏州,合肥,宁波,无锡,常州,嘉兴,绍兴,温州,台州,金华,扬州,镇江,泰州,南通,盐城,徐州,淮安,芜湖,蚌埠,安庆,马鞍山,湖州,丽水,衢州,舟山,连云港,宿迁', ',') AS cities,
           string_to_array('宏达恒通远大长江联合华信金鼎鑫源中联瑞丰永盛天成东方顺发富强兴旺泰和昌隆振华建业新世纪亚太神州海天龙腾凯旋博大', NULL) AS b1,
           string_to_array('达通大江合信鼎源联丰盛成方发强旺和隆华业宇洲诚德润泽恒茂祥利安康', NULL) AS b2,
           string_to_array('机械,工程,建设,重工,设备租赁,土石方,路桥,矿业,起重,吊装,混凝土,环保,物流,农机,港机,隧道,钢构,电力,水利,市政', ',') AS trades,
           string_to_array('有限公司,有限责任公司,股份有限公司', ',') AS suffixes
), gen AS (
    SELECT i,
           p.cities[1 + (i * 7919) % array_length(p.cities, 1)]
             || p.b1[1 + (i / 3) % array_length(p.b1, 1)]
             || p.b2[1 + (i * 31) % array_length(p.b2, 1)]
             || p.b2[1 + (i / 97) % array_length(p.b2, 1)]
             || p.trades[1 + (i / 7) % array_length(p.trades, 1)] AS base,
           p.suffixes[1 + i % 3] AS suffix
    FROM generate_series(1::bigint, $4::bigint) AS i, parts AS p
)
INSERT INTO customer (id, group_id, company_id, kind, name, name_norm, addresses, phones, email, category, tags,
                      owner_id, created_by_id, status, protected_until, pooled_at, version, created_at, updated_at)
SELECT gen_random_uuid(), $1::uuid, $2::uuid, 'company', base || suffix, base, '{}',
       ARRAY['+86139' || lpad((i % 100000000)::text, 8, '0')], 'c' || i || '@bench.example.com', 'intended', '{}',
       CASE WHEN i % 5 = 0 THEN NULL ELSE $3::uuid END, $3::uuid,
       CASE WHEN i % 5 = 0 THEN 'pool' ELSE 'private' END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE now() + make_interval(days => (1 + i % 15)::int) END,
       CASE WHEN i % 5 = 0 THEN now() - make_interval(days => (i % 30)::int) END,
       1, now() - make_interval(secs => i::double precision), now()
FROM gen;
