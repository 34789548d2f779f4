"""`make package`'s last step: take out of deployment.zip what the functions never load.

Chalice packages whole distributions; a few of ours carry parts that nothing here imports. Each
entry below says why it is dead weight in this service. tests/integration/test_package.py proves
it: every chalicelib module imports, and the app answers requests, from the slimmed zip with only
boto3 (the Lambda runtime's) beside it. Licences and the metadata ``importlib.metadata`` reads stay.

    python -m infra.slim build/dev/deployment.zip
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

POWERTOOLS = "aws_lambda_powertools/"
# Powertools: outlet uses its Logger (chalicelib/observability.py), and the Logger imports only
# utilities.jmespath_utils and utilities.typing. The event handler (routing, OpenAPI, Swagger UI's
# 1.7 MB of assets) is Chalice's job here; the other utilities are used only when imported by name.
POWERTOOLS_KEPT = (
    f"{POWERTOOLS}utilities/__init__.py",
    f"{POWERTOOLS}utilities/jmespath_utils/",
    f"{POWERTOOLS}utilities/typing/",
    f"{POWERTOOLS}utilities/serialization.py",
)
REMOVED_PREFIXES = (
    f"{POWERTOOLS}event_handler/",
    f"{POWERTOOLS}utilities/",
    "pydantic/v1/",  # pydantic 1's API, loaded only by ``import pydantic.v1``
    "pydantic/mypy.py",  # the mypy plugin
    "tweepy/asynchronous/",  # tweepy's asyncio client: needs aiohttp, which is not shipped
)
REMOVED_SUFFIXES = (
    ".dist-info/RECORD",  # what pip uninstall removes; nothing reads it at run time
)
REMOVED_PARTS = (".dist-info/sboms/",)  # build provenance (CycloneDX), not licences


def removable(name: str) -> bool:
    if name.startswith(POWERTOOLS_KEPT):
        return False
    if name.startswith("charset_normalizer/") and name.endswith(".so"):
        # mypyc-compiled copies of md.py and cd.py: the pure-Python modules beside them load
        # instead. requests asks it only about a response that names no charset (X's JSON does).
        return True
    return name.startswith(REMOVED_PREFIXES) or name.endswith(REMOVED_SUFFIXES) or any(p in name for p in REMOVED_PARTS)


def slim(archive: Path) -> tuple[int, int]:
    """Rewrite ``archive`` without the removable entries (maximum compression); sizes before, after."""
    before = archive.stat().st_size
    with tempfile.NamedTemporaryFile(dir=archive.parent, suffix=".zip", delete=False) as handle:
        rewritten = Path(handle.name)
    with (
        zipfile.ZipFile(archive) as source,
        zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out,
    ):
        for info in source.infolist():
            if removable(info.filename):
                continue
            out.writestr(info, source.read(info), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    shutil.copymode(archive, rewritten)  # the temporary file is private (0600); the zip keeps its mode
    shutil.move(rewritten, archive)
    return before, archive.stat().st_size


def main(argv: list[str]) -> int:
    (path,) = argv
    before, after = slim(Path(path))
    print(f"{path}: {before:,} -> {after:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
