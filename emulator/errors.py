"""Every error the emulator returns, built in one place.

Airtable errors are ``{"error": {"type": ..., "message": ...}}``; an unknown base or route
is the bare ``{"error": "NOT_FOUND"}``. Handlers raise :class:`ApiError` (or call one of the
builders below) and the app turns it into a JSON response.
"""

from collections.abc import Iterable, Mapping
from typing import Any


class ApiError(Exception):
    """An HTTP error with an Airtable-shaped JSON body.

    Attributes:
        status: HTTP status code.
        body: The JSON body to send.
        headers: Extra response headers (e.g. ``Retry-After``).
    """

    def __init__(
        self,
        status: int,
        error_type: str | None,
        message: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body: dict[str, Any]
        if error_type is None:
            self.body = {"error": "NOT_FOUND"}
        else:
            error: dict[str, str] = {"type": error_type}
            if message is not None:
                error["message"] = message
            self.body = {"error": error}
        self.headers = dict(headers or {})
        super().__init__(f"{status} {self.body}")

    @property
    def error_type(self) -> str:
        """The error ``type`` (``NOT_FOUND`` for the bare form)."""
        error = self.body["error"]
        return error if isinstance(error, str) else str(error["type"])


GENERIC_INVALID = "Invalid request: parameter validation failed. Check your request data."


def not_found() -> ApiError:
    """Unknown base or route: bare ``404 {"error": "NOT_FOUND"}``."""
    return ApiError(404, None)


def record_not_found(record_id: str) -> ApiError:
    """A single-record GET/PATCH/PUT/DELETE (or comment call) on a missing record.

    Sources disagree between 403 model-not-found and 404; the emulator answers the bare
    404 and keeps the rule here so it can change in one place.
    """
    del record_id  # the bare form carries no message
    return not_found()


def authentication_required() -> ApiError:
    """Missing or unknown token."""
    return ApiError(401, "AUTHENTICATION_REQUIRED", "Authentication required")


def forbidden() -> ApiError:
    """A valid token without access to the base (or model)."""
    return ApiError(
        403,
        "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
        "Invalid permissions, or the requested model was not found. Check that both your "
        "user and your token have the required permissions, and that the model names "
        "and/or ids are correct.",
    )


def table_not_found(name: str, base_id: str) -> ApiError:
    """Unknown table ID or name in a known base."""
    return ApiError(404, "TABLE_NOT_FOUND", f"Could not find table {name} in application {base_id}")


def bad_json() -> ApiError:
    """The body is not valid JSON (or not a JSON object)."""
    return ApiError(400, "INVALID_REQUEST_BODY", "The request body could not be parsed as JSON")


def too_large(limit: int) -> ApiError:
    """The body exceeds the configured limit."""
    return ApiError(413, "REQUEST_TOO_LARGE", f"Request body is too large (limit {limit} bytes)")


def attachment_too_large(limit: int) -> ApiError:
    """An uploaded attachment over the size limit (5 MB)."""
    return ApiError(
        413,
        "REQUEST_TOO_LARGE",
        f"The attachment is larger than the upload limit of {limit} bytes",
    )


def rate_limited(retry_after: int) -> ApiError:
    """Over 5 requests/s per base or 50/s per token, or inside the penalty window."""
    return ApiError(
        429,
        "RATE_LIMIT_REACHED",
        "Rate limit exceeded. Please try again later",
        headers={"Retry-After": str(max(1, retry_after))},
    )


def too_deep(limit: int) -> ApiError:
    """A JSON body nested deeper than any Airtable request needs."""
    return ApiError(
        422, "INVALID_REQUEST_UNKNOWN", f"Invalid request: the body nests more than {limit} levels"
    )


def invalid_request(message: str = GENERIC_INVALID) -> ApiError:
    """A parameter failed validation (Airtable's catch-all 422)."""
    return ApiError(422, "INVALID_REQUEST_UNKNOWN", message)


def missing_body_field(name: str) -> ApiError:
    """The body lacks ``fields`` (or ``records``)."""
    return ApiError(
        422, "INVALID_REQUEST_MISSING_FIELDS", f'Could not find field "{name}" in the request body'
    )


def invalid_records(message: str | None = None) -> ApiError:
    """A batch that is empty, too long or malformed."""
    return ApiError(
        422,
        "INVALID_RECORDS",
        message
        or "You must provide an array of up to 10 record objects, each with a fields object",
    )


def row_does_not_exist(record_id: str) -> ApiError:
    """Unknown record ID inside a batch update."""
    return ApiError(
        422, "ROW_DOES_NOT_EXIST", f"Record ID {record_id} does not exist in this table"
    )


def batch_delete_not_found(record_id: str) -> ApiError:
    """Unknown record ID inside a batch delete."""
    return ApiError(404, "NOT_FOUND", f'Could not find a record with ID "{record_id}".')


def unknown_field(name: str) -> ApiError:
    """A field name or ID that the table does not have."""
    return ApiError(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{name}"')


def invalid_value(field_name: str, detail: str | None = None) -> ApiError:
    """A cell value that the field type cannot hold."""
    message = f'Field "{field_name}" cannot accept the provided value'
    if detail:
        message += f": {detail}"
    return ApiError(422, "INVALID_VALUE_FOR_COLUMN", message)


def computed_field(field_name: str) -> ApiError:
    """A write to a formula, rollup, count, lookup, autoNumber or time field."""
    return ApiError(
        422,
        "INVALID_VALUE_FOR_COLUMN",
        f'Field "{field_name}" cannot accept a value because the field is computed',
    )


def invalid_select_option(option: str) -> ApiError:
    """An unknown select option written without ``typecast``."""
    return ApiError(
        422,
        "INVALID_MULTIPLE_CHOICE_OPTIONS",
        f'Insufficient permissions to create new select option ""{option}""',
    )


def invalid_formula(message: str) -> ApiError:
    """``filterByFormula`` that does not parse or names unknown fields."""
    return ApiError(422, "INVALID_FILTER_BY_FORMULA", message)


def unknown_formula_fields(names: Iterable[str]) -> ApiError:
    """``filterByFormula`` naming fields the table does not have."""
    return invalid_formula(
        "The formula for filtering records is invalid: Unknown field names: " + ", ".join(names)
    )


def view_not_found(name: str) -> ApiError:
    """Unknown view name or ID."""
    return ApiError(422, "VIEW_NAME_NOT_FOUND", f"View {name} not found")


def invalid_page_size(value: object) -> ApiError:
    """``pageSize`` outside 0..100 or not an integer."""
    return ApiError(
        422,
        "INVALID_PAGE_SIZE_ARGUMENT",
        f"The pageSize argument must be an integer between 0 and 100, got {value!r}",
    )


def invalid_offset(value: object) -> ApiError:
    """An offset that was never issued by this server."""
    return ApiError(422, "INVALID_OFFSET_VALUE", f"The value of offset {value!r} is invalid")


def iterator_not_available() -> ApiError:
    """An offset whose server-side iterator has expired."""
    return ApiError(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE")


def upsert_ambiguous(count: int) -> ApiError:
    """``performUpsert`` found several records for one input record."""
    return invalid_request(
        f"Cannot update more than one record with an upsert request; {count} records match "
        "the fieldsToMergeOn values"
    )


def duplicate_name(kind: str, name: str) -> ApiError:
    """A table or field name that is already taken (names are case-insensitive)."""
    return ApiError(
        422, f"DUPLICATE_{kind.upper()}_NAME", f'A {kind} named "{name}" already exists'
    )


def invalid_schema(message: str) -> ApiError:
    """A table or field definition the emulator cannot create."""
    return ApiError(422, "INVALID_FIELD_TYPE_OPTIONS", message)


def too_many_webhooks() -> ApiError:
    """More than ten webhooks in one base."""
    return ApiError(422, "TOO_MANY_WEBHOOKS", "A base can have at most 10 webhooks")


def model_not_found() -> ApiError:
    """An unknown webhook or comment: the bare 404, like every missing model."""
    return not_found()


def invalid_webhook(message: str) -> ApiError:
    """A webhook specification or notification URL the emulator cannot accept."""
    return ApiError(422, "INVALID_WEBHOOK_SPECIFICATION", message)
