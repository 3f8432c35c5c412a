async def test_reports_answer(client, auth):
    for path in ("aging", "aging?by=collector", "aging?by=salesperson", "roll-rates", "collector-performance",
                 "promises", "sales"):
        r = await client.get(f"/api/v1/reports/{path}", headers=auth("leader"))
        assert r.status_code == 200, (path, r.text)
        print(path, r.json())
