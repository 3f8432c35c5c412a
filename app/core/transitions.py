"""State machines as transition tables: `{(state, action): next state}`, one lookup, one 409."""

from app.core.errors import Conflict


def next_state(table: dict[tuple[str, str], str], state: str, action: str, *, what: str,
               error: type[Conflict]) -> str:
    """The state `action` leads to from `state`; the 409 `error` when the table has no such move."""
    target = table.get((state, action))
    if target is None:
        raise error(f"Cannot {action.replace('_', ' ')} {what} that is {state}.",
                    extra={"state": state, "action": action})
    return target
