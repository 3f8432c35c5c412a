"""The request kit: every request model is registered with the engine, with its lock and status
mirror derived; the kind map is what the field surface's POST /requests/{kind} will use."""

import app.domains  # noqa: F401 - every area's models and registrations
from app.approvals import registry
from app.approvals.requests import RequestMixin, kinds
from app.core.db import Base


def _request_models() -> set[type]:
    return {m.class_ for m in Base.registry.mappers if issubclass(m.class_, RequestMixin)}


def test_every_request_model_is_registered_as_a_kind():
    registered = {kind.model for kind in kinds().values()}
    models = _request_models()
    assert models, "no request models found"
    assert models <= registered, f"request models without register_request: {models - registered}"


def test_every_kind_is_an_engine_request_type_that_locks_its_row():
    for name, kind in kinds().items():
        engine_type = registry.get(name)
        assert engine_type is kind.engine_type
        assert engine_type.lock is not None, f"{name} has no row lock (the kit's lock order needs it)"


def test_request_tables_carry_the_kit_constraints():
    for model in _request_models():
        names = {c.name for c in model.__table__.constraints}
        table = model.__tablename__
        assert f"ck_{table}_status_valid" in names
        assert f"uq_{table}_requester_id_client_ref" in names
