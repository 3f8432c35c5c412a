"""The error classes of auth. The plain ones are declared as data in `errors.toml` beside this file
(codes are part of the contract: clients rely on these exact strings); those that carry headers of
their own are classes here."""

from app.core.errors import DomainError, error_catalogue

globals().update(error_catalogue(__name__))


class TooManyAttempts(DomainError, status=429, code="auth.too_many_attempts"):
    titles = {"zh-CN": "登录尝试过于频繁", "en": "Too many login attempts"}

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed logins; try again later.", headers={"Retry-After": str(retry_after)})


class LoginBusy(DomainError, status=429, code="auth.login_busy"):
    titles = {"zh-CN": "登录请求过多，请稍后再试", "en": "Too many logins at once"}

    def __init__(self) -> None:
        super().__init__("Too many logins are being checked at once; try again shortly.",
                         headers={"Retry-After": "1"})
