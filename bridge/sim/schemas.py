"""The simulator validates against Amazon's models through `bridge.spapi_models`,
shared with the SP-API client; this name is kept for the simulator's own modules."""

from bridge.spapi_models import (  # noqa: F401
    MODEL_FILES,
    ModelOperation,
    ResponseMismatch,
    definition_validator,
    load_model,
    model_operations,
    operation,
    response_schema,
    validate_response,
    validator_for,
)
