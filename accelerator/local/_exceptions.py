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


def not_found(kind: str, name: str, where: str, hint: str = "") -> ResourceNotFoundError:
    message = f"(UserError) {kind} '{name}' was not found in {where}."
    if hint:
        message += f" {hint}"
    return ResourceNotFoundError(message=message)


def conflict(message: str) -> ResourceExistsError:
    return ResourceExistsError(message=f"(UserError) {message}")


def validation_error(
    message: str,
    target: ErrorTarget = ErrorTarget.GENERAL,
    error_type: ValidationErrorType = ValidationErrorType.INVALID_VALUE,
) -> ValidationException:
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
