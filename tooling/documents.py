"""The AsyncAPI documents committed under docs/asyncapi, one per service in the catalogue."""

from pathlib import Path

from services.catalogue import SERVICES
from shared.asyncapi import asyncapi_document, render
from shared.generated import stale_generated, write_generated

ASYNCAPI_DIR = Path(__file__).resolve().parents[1] / "docs" / "asyncapi"


def rendered_documents() -> dict[str, str]:
    """File name -> file text for every service."""
    return {f"{service.name}.json": render(asyncapi_document(service)) for service in SERVICES}


def write_documents(directory: Path = ASYNCAPI_DIR) -> list[Path]:
    """Regenerate the committed documents, removing any for services that no longer exist."""
    return write_generated(directory, rendered_documents())


def stale_documents(directory: Path = ASYNCAPI_DIR) -> list[str]:
    """The committed documents that differ from what the code generates now."""
    return stale_generated(directory, rendered_documents())
