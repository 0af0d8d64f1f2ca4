"""Files generated from the code and committed (JSON Schemas, AsyncAPI documents).

Written and checked one way: the directory holds exactly the wanted files, and a file is stale
when it is missing or its text differs from what the code generates now.
"""

from pathlib import Path


def write_generated(directory: Path, wanted: dict[str, str]) -> list[Path]:
    """Write `wanted` (file name -> text) into `directory`, removing files no longer wanted."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    written = []
    for name, text in wanted.items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def stale_generated(directory: Path, wanted: dict[str, str]) -> list[str]:
    """The names in `wanted` whose committed copy in `directory` is missing or different."""
    return [
        name
        for name, text in wanted.items()
        if not (directory / name).exists() or (directory / name).read_text() != text
    ]
