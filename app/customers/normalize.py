"""Normalisation for the duplicate check, and masking of identity numbers, phones and e-mails."""

import re
import unicodedata
from functools import lru_cache

import phonenumbers

# Legal-form suffixes ignored when comparing company names, longest first.
NAME_SUFFIXES = (
    "股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "分公司", "集团公司", "公司",
    "coltd", "limited", "co", "ltd", "inc", "corp", "llc",
)
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_name(name: str) -> str:
    """Width (NFKC), case, spaces and punctuation folded; common legal-form suffixes removed.

    `上海宏达机械有限公司` and `上海 宏达机械` both become `上海宏达机械`.
    """
    folded = _NON_WORD.sub("", unicodedata.normalize("NFKC", name).casefold())
    changed = True
    while changed:
        changed = False
        for suffix in NAME_SUFFIXES:
            if folded.endswith(suffix) and len(folded) > len(suffix):
                folded = folded[: -len(suffix)]
                changed = True
                break
    return folded


def normalize_phone(raw: str) -> str | None:
    """E.164 (region CN by default) or None when the text is not a possible phone number.

    `138-1234-5678`, `+86 138 1234 5678` and `8613812345678` all become `+8613812345678`.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str | None) -> str | None:
    if raw is None:
        return None
    value = unicodedata.normalize("NFKC", raw).strip().lower()
    return value or None


# Pure and costly (parsing and formatting with phonenumbers' regular expressions were ~8 % of a list
# page's CPU); a list shows the same numbers again and again.
@lru_cache(maxsize=8192)
def _national(e164: str) -> tuple[str, int]:
    """The number as shown, and how many leading characters are its trunk prefix and area code.

    Chinese numbers in national form with the trunk prefix (`02161234567`, mobiles `13812345678`),
    others in E.164. A number phonenumbers cannot format (an invalid length) is kept readable:
    a Chinese geographic number still gets its trunk `0`, so the area code never gets lost."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164, 0
    nsn = phonenumbers.national_significant_number(number)
    area = phonenumbers.length_of_national_destination_code(number)
    if number.country_code != 86:
        return e164, 1 + len(str(number.country_code)) + area
    shown = "".join(ch for ch in phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
                    if ch.isdigit())
    if not phonenumbers.is_valid_number(number) and not shown.startswith("0") and nsn[:1] in "23456789" \
            and len(nsn) >= 9:
        shown = "0" + nsn  # a landline with a wrong length: keep the trunk and the area code
        area = 2 if nsn[:1] == "2" else 3
    return shown, len(shown) - len(nsn) + area


def display_phone(e164: str) -> str:
    """National form with the trunk prefix for Chinese numbers (`02161234567`, `13812345678`),
    E.164 for others. Stored values stay E.164, so duplicate checks compare like with like."""
    return _national(e164)[0]


# Digits hidden by a mask, whatever their real number: the mask does not tell the length.
_MASK = "****"


def mask_phone(e164: str | None) -> str | None:
    """`138****5678`, `021****4567`, `0571****1234`: the trunk prefix and area code (the first
    three digits of a mobile) and the last four digits stay; at least three digits are hidden."""
    if e164 is None:
        return None
    shown, prefix = _national(e164)
    if len(shown) <= 7:
        return "*" * len(shown)
    prefix = max(0, min(prefix, len(shown) - 4 - 3))
    return shown[:prefix] + _MASK + shown[-4:]


def mask_identity(value: str | None) -> str | None:
    """`91310000****1234` for credit codes; identity numbers keep only their region prefix."""
    if value is None:
        return None
    keep = 8 if not value[:6].isdigit() or len(value) != 18 or not value[6:14].isdigit() else 6
    if len(value) <= keep + 4:
        return "*" * len(value)
    return value[:keep] + "****" + value[-4:]


def mask_email(value: str | None) -> str | None:
    if value is None:
        return None
    local, _, domain = value.partition("@")
    return (local[:1] + "***@" + domain) if domain else "***"
