"""Imports every domain's models and permissions so that metadata and the permission catalogue
are complete (alembic, seeding, tests) without building the app."""

from app.auth import models as auth_models  # noqa: F401
from app.core import audit, idempotency  # noqa: F401
from app.customers import models as customer_models  # noqa: F401
from app.customers import permissions as customer_permissions  # noqa: F401
from app.notifications import models as notification_models  # noqa: F401
from app.org import models as org_models  # noqa: F401
from app.org import permissions as org_permissions  # noqa: F401
