"""The field walkthrough's demo data (README "A day in the field"): a morning notification for each C01
collector. What a collector files from the phone is approved by the debt requests' default flows
(app/devices/demo.py `default_flows`: tow and settlement L1 → L2), the one truth the README cites."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.notifications.service import notify


async def seed_field(session: AsyncSession, org) -> None:  # noqa: ANN001 - DemoOrg (no import cycle)
    await notify(session, group_id=org.group.id, user_ids=[org.users["collector1"].id, org.users["collector2"].id],
                 kind="reminder", title="今日待办: 先跟进承诺今天到期的客户", entity_type="worklist")
