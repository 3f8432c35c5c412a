"""Step conditions: a tiny, safe expression language over a request's declared fields.

    amount > 1000 and amount <= 5000
    company in [C01, C02] or not (category == 'travel')

Grammar (hand-written recursive descent; nothing is ever `eval`ed):

    expr    := and_e ("or" and_e)*
    and_e   := not_e ("and" not_e)*
    not_e   := "not" not_e | primary
    primary := "(" expr ")" | field op value | field ["not"] "in" "[" value ("," value)* "]"
    op      := ">" | ">=" | "<" | "<=" | "==" | "=" | "!="
    value   := number | 'text' | "text" | bare-word (e.g. C01)

Fields are typed by the request type: "decimal" fields compare numerically (Decimal, never float),
"string" fields support ==, != and in. A missing (None) value makes a comparison false.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

DECIMAL = "decimal"
STRING = "string"
FIELD_KINDS = (DECIMAL, STRING)
MAX_LENGTH = 500
MAX_DEPTH = 20

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)(?![A-Za-z_])|(?P<str>'[^']*'|\"[^\"]*\")|(?P<op>>=|<=|==|!=|>|<|=)"
    r"|(?P<punct>[()\[\],])|(?P<word>[A-Za-z_][A-Za-z0-9_.\-]*))"
)
KEYWORDS = {"and", "or", "not", "in"}


class ConditionError(ValueError):
    """The condition text is not valid; the message says where and why."""


@dataclass(frozen=True)
class Token:
    kind: str  # num | str | op | punct | word | end
    text: str
    pos: int


@dataclass(frozen=True)
class Compare:
    field: str
    op: str
    value: Decimal | str


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[Decimal | str, ...]
    negate: bool = False


@dataclass(frozen=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    item: "Node"


Node = Compare | In | And | Or | Not


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ConditionError(f"Unexpected character {text[pos:].lstrip()[:1]!r} at position {pos + 1}.")
        kind = match.lastgroup or ""
        value = match.group(kind)
        tokens.append(Token(kind, value, match.start(kind)))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _shown(token: Token) -> str:
    return repr(token.text) if token.text else "the end"


class _Parser:
    def __init__(self, text: str, fields: dict[str, str]) -> None:
        self.tokens = _tokenize(text)
        self.i = 0
        self.fields = fields
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "word" and token.text.lower() == word:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise ConditionError(f"Expected {text!r} at position {token.pos + 1}, found {token.text or 'the end'!r}.")

    def parse(self) -> Node:
        node = self.expr()
        token = self.peek()
        if token.kind != "end":
            raise ConditionError(f"Unexpected {token.text!r} at position {token.pos + 1}.")
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError("The condition is nested too deeply.")
        items = [self.and_e()]
        while self.keyword("or"):
            items.append(self.and_e())
        self.depth -= 1
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_e(self) -> Node:
        items = [self.not_e()]
        while self.keyword("and"):
            items.append(self.not_e())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_e(self) -> Node:
        if self.keyword("not"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ConditionError("The condition is nested too deeply.")
            node = Not(self.not_e())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        if token.text == "(":
            self.take()
            node = self.expr()
            self.expect(")")
            return node
        if token.kind != "word" or token.text.lower() in KEYWORDS:
            raise ConditionError(f"Expected a field name at position {token.pos + 1}, found {_shown(token)}.")
        self.take()
        name = token.text
        kind = self.fields.get(name)
        if kind is None:
            known = ", ".join(sorted(self.fields)) or "none"
            raise ConditionError(f"Unknown field {name!r} (this request type offers: {known}).")
        negate = self.keyword("not")
        if self.keyword("in"):
            self.expect("[")
            values = [self.value(kind)]
            while self.peek().text == ",":
                self.take()
                values.append(self.value(kind))
            self.expect("]")
            return In(name, tuple(values), negate)
        if negate:
            raise ConditionError(f"Expected 'in' after 'not' at position {self.peek().pos + 1}.")
        op_token = self.take()
        if op_token.kind != "op":
            raise ConditionError(f"Expected a comparison after {name!r} at position {op_token.pos + 1}.")
        op = "==" if op_token.text == "=" else op_token.text
        if kind == STRING and op not in ("==", "!="):
            raise ConditionError(f"Field {name!r} is text: use ==, != or in, not {op_token.text}.")
        return Compare(name, op, self.value(kind))

    def value(self, kind: str) -> Decimal | str:
        token = self.take()
        if kind == DECIMAL:
            if token.kind != "num":
                raise ConditionError(f"Expected a number at position {token.pos + 1}, found {_shown(token)}.")
            return Decimal(token.text)
        if token.kind == "str":
            return token.text[1:-1]
        if token.kind in ("word", "num") and token.text.lower() not in KEYWORDS:
            return token.text
        raise ConditionError(f"Expected a value at position {token.pos + 1}, found {token.text or 'the end'!r}.")


def parse(text: str, fields: dict[str, str]) -> Node:
    """Parse and type-check a condition against the request type's fields; ConditionError if invalid."""
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"A condition is at most {MAX_LENGTH} characters.")
    if not text.strip():
        raise ConditionError("The condition is empty.")
    return _Parser(text, fields).parse()


def _as_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def evaluate(node: Node, values: dict[str, Any]) -> bool:
    """Whether the condition holds for the request's field values."""
    if isinstance(node, And):
        return all(evaluate(n, values) for n in node.items)
    if isinstance(node, Or):
        return any(evaluate(n, values) for n in node.items)
    if isinstance(node, Not):
        return not evaluate(node.item, values)
    raw = values.get(node.field)
    if raw is None:
        return False
    if isinstance(node, In):
        if any(isinstance(v, Decimal) for v in node.values):
            current: Any = _as_decimal(raw)
        else:
            current = str(raw)
        found = current in node.values
        return not found if node.negate else found
    if isinstance(node.value, Decimal):
        left = _as_decimal(raw)
        if left is None:
            return False
        right: Any = node.value
    else:
        left, right = str(raw), node.value
    return {
        ">": lambda: left > right, ">=": lambda: left >= right, "<": lambda: left < right,
        "<=": lambda: left <= right, "==": lambda: left == right, "!=": lambda: left != right,
    }[node.op]()


def holds(text: str | None, fields: dict[str, str], values: dict[str, Any]) -> bool:
    """No condition always holds."""
    return True if text is None else evaluate(parse(text, fields), values)
