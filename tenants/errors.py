"""Errors a user can cause. They carry a code and parameters; the app words them (zh-CN, en)."""


class ServiceError(Exception):
    def __init__(self, code: str, field: str | None = None, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.field = field
        self.params = params

    def __repr__(self) -> str:
        return f"ServiceError({self.code!r}, field={self.field!r}, {self.params!r})"
