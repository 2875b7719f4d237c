"""Errors of kcd. API failures are translated to these at the edge (kcd.kube.api), so nothing else sees client types."""


class KcdError(Exception):
    """Base of kcd's errors."""


class ApiError(KcdError):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class Invalid(ApiError):
    pass
