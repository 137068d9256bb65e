from pathlib import Path

from features.schema import schema_markdown

DOC = Path(__file__).resolve().parents[3] / "docs" / "schema.md"


def test_schema_doc_is_generated_from_the_schema() -> None:
    assert DOC.read_text() == schema_markdown(), (
        "docs/schema.md is stale: regenerate it with "
        "python -c \"from features.schema import schema_markdown; "
        "open('docs/schema.md','w').write(schema_markdown())\""
    )
