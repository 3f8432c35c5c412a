"""Problem titles in zh-CN (default) and en, chosen by Accept-Language."""

from contextvars import ContextVar

SUPPORTED = ("zh-CN", "en")
current_language: ContextVar[str] = ContextVar("current_language", default="zh-CN")


def negotiate(accept_language: str | None) -> str:
    """Pick the best supported language from an Accept-Language header (RFC 9110 q-values)."""
    if not accept_language:
        return "zh-CN"
    best, best_q = "zh-CN", -1.0
    for position, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        language = "en" if tag.startswith("en") else "zh-CN" if tag.startswith("zh") else None
        # Earlier entries win ties, as clients list preferences first.
        if language and q > best_q and q > 0:
            best, best_q = language, q
        del position
    return best


def pick(titles: dict[str, str]) -> str:
    return titles.get(current_language.get()) or titles["en"]
