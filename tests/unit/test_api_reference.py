"""docs/api.md is the reference generated from the app's schema; it must be regenerated with the routes."""

from __future__ import annotations

from starter.web.reference import REGENERATE, openapi_schema, render, type_of
from tests.support import EXAMPLE_CONFIG, REPO


def test_docs_api_md_matches_the_apps_schema() -> None:
    committed = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == render(openapi_schema(EXAMPLE_CONFIG)), (
        f"docs/api.md is out of date; run: {REGENERATE}"
    )


def test_every_route_and_schema_is_in_the_reference() -> None:
    schema = openapi_schema(EXAMPLE_CONFIG)
    text = render(schema)
    for path, item in schema["paths"].items():
        for method in item:
            assert f"### `{method.upper()} {path}`" in text
    for name in schema["components"]["schemas"]:
        assert f"### {name}\n" in text


def test_types_read_as_expressions() -> None:
    nullable_time = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}
    assert type_of(nullable_time) == "string (date-time) \\| null"
    assert type_of({"type": "array", "items": {"$ref": "#/components/schemas/Listed"}}) == (
        "list[[Listed](#listed)]"
    )
    assert type_of({"type": "object", "additionalProperties": True}) == "map[string, any]"
