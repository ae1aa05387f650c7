"""Errors raised by the local backend.

Where Azure ML would answer with an error, the local backend raises the same exception class a
user of ``MLClient`` would catch (``azure.core.exceptions`` for service errors, the SDK's
``ValidationException`` for client-side ones), with a message in the service's "(UserError)" style.
"""

from __future__ import annotations

from azure.ai.ml.exceptions import ErrorCategory, ErrorTarget, ValidationErrorType, ValidationException
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError


class LocalBackendUnsupportedError(NotImplementedError):
    """A feature of Azure ML that the local backend does not run. The message names the feature."""

    def __init__(self, feature: str, hint: str = "") -> None:
        message = f"The local backend does not support {feature}."
        if hint:
            message += f" {hint}"
        super().__init__(message)
        self.feature = feature


USER_ERROR = "(UserError)"  # the service's prefix of an error the caller can fix


def user_error_message(text: str) -> str:
    """``text`` as the service words an error the caller can fix: ``(UserError) <text>``. The one
    place the prefix is written; every other helper here, and any message built elsewhere, uses it."""
    return f"{USER_ERROR} {text}"


def not_found(kind: str, name: str, where: str, hint: str = "") -> ResourceNotFoundError:
    message = user_error_message(f"{kind} '{name}' was not found in {where}.")
    if hint:
        message += f" {hint}"
    return ResourceNotFoundError(message=message)


def conflict(message: str) -> ResourceExistsError:
    return ResourceExistsError(message=user_error_message(message))


def user_error(
    message: str,
    target: ErrorTarget = ErrorTarget.GENERAL,
    error_type: ValidationErrorType = ValidationErrorType.INVALID_VALUE,
) -> ValidationException:
    """A ``ValidationException`` with the service's user-error message (``(UserError) <message>``)."""
    return validation_error(user_error_message(message), target, error_type)


def user_http_error(message: str) -> HttpResponseError:
    """The service's answer refusing a request the caller can fix: an ``HttpResponseError`` with a
    user-error message (``(UserError) <message>``)."""
    return HttpResponseError(message=user_error_message(message))


def validation_error(
    message: str,
    target: ErrorTarget = ErrorTarget.GENERAL,
    error_type: ValidationErrorType = ValidationErrorType.INVALID_VALUE,
) -> ValidationException:
    """A ``ValidationException`` with ``message`` as it is (the SDK's own client-side wording)."""
    return ValidationException(
        message=message,
        no_personal_data_message=message,
        target=target,
        error_category=ErrorCategory.USER_ERROR,
        error_type=error_type,
    )


def bad_request(message: str) -> HttpResponseError:
    """The service's answer to a request body it refuses: an ``HttpResponseError`` with status 400."""
    error = HttpResponseError(message=message)
    error.status_code = 400
    return error
