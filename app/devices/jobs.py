"""Expiry of device commands as a periodic job (`scripts/run-job device-command-expiry`): set-based,
advisory-locked by core.jobs, idempotent."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.jobs import periodic
from app.devices import service


@periodic("device-command-expiry", every_seconds=60)
async def expire_device_commands(session: AsyncSession) -> dict[str, Any]:
    return await service.expire_due(session)
