"""The error codes of auth and their titles, in one place. Codes are part of the contract:
clients rely on these exact strings."""

from app.core.errors import DomainError, NotAuthenticated

INVALID_CREDENTIALS = {"zh-CN": "用户名或密码错误", "en": "Invalid username or password"}
ACCOUNT_LOCKED = {"zh-CN": "账户已锁定", "en": "Account locked"}
TOO_MANY_ATTEMPTS = {"zh-CN": "登录尝试过于频繁", "en": "Too many login attempts"}
LOGIN_BUSY = {"zh-CN": "登录请求过多，请稍后再试", "en": "Too many logins at once"}


class AccountUnavailable(DomainError):
    status, code, titles = 403, "auth.account_locked", ACCOUNT_LOCKED


class TooManyAttempts(DomainError):
    status, code, titles = 429, "auth.too_many_attempts", TOO_MANY_ATTEMPTS

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed logins; try again later.", headers={"Retry-After": str(retry_after)})


class LoginBusy(DomainError):
    status, code, titles = 429, "auth.login_busy", LOGIN_BUSY

    def __init__(self) -> None:
        super().__init__("Too many logins are being checked at once; try again shortly.",
                         headers={"Retry-After": "1"})


class AuthInvalidCredentials(NotAuthenticated):
    code = "auth.invalid_credentials"
    titles = INVALID_CREDENTIALS


class AuthInvalidRefreshToken(NotAuthenticated):
    code = "auth.invalid_refresh_token"


class AuthInvalidToken(NotAuthenticated):
    code = "auth.invalid_token"


class AuthRefreshTokenReused(NotAuthenticated):
    code = "auth.refresh_token_reused"
