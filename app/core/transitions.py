"""State machines as transition tables: `{(state, action): next state}`, one lookup, one 409."""

from app.core.errors import Conflict


def next_state(table: dict[tuple[str, str], str], state: str, action: str, *, what: str, code: str) -> str:
    """The state `action` leads to from `state`; 409 `code` when the table has no such move."""
    target = table.get((state, action))
    if target is None:
        raise Conflict(f"Cannot {action.replace('_', ' ')} {what} that is {state}.", code=code,
                       extra={"state": state, "action": action})
    return target
