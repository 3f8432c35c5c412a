"""The catalogue of function permissions. Each domain defines its own on import."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PermissionDef:
    code: str
    area: str
    zh: str
    en: str


CATALOGUE: dict[str, PermissionDef] = {}


def define(code: str, zh: str, en: str) -> str:
    area = code.split(".", 1)[0]
    CATALOGUE[code] = PermissionDef(code, area, zh, en)
    return code


def is_known(code: str) -> bool:
    return code in CATALOGUE
