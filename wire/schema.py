"""OpenAPI component schemas made from the wire models, so the document cannot drift from
what the hub answers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

REF_TEMPLATE = "#/components/schemas/{model}"


class _Components(GenerateJsonSchema):
    """Pydantic's JSON schema without a title on every property (the name says it)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def component_schemas(
    answers: Iterable[type[Any]], requests: Iterable[type[Any]] = ()
) -> dict[str, Any]:
    """``components.schemas`` for models and enums, and every model or enum they use, by
    name: ``answers`` as the hub sends them, ``requests`` as it takes them (a model whose two
    schemas differ gets both, as ``Name-Output`` and ``Name-Input``)."""
    generator = _Components(ref_template=REF_TEMPLATE)
    inputs: list[tuple[str, JsonSchemaMode, Any]] = [
        *((t.__name__, "serialization", TypeAdapter(t).core_schema) for t in answers),
        *((t.__name__, "validation", TypeAdapter(t).core_schema) for t in requests),
    ]
    _, definitions = generator.generate_definitions(inputs)
    return {str(name): schema for name, schema in definitions.items()}
