"""`make package`'s last step: take out of deployment.zip what the functions never load, and put
in the bytecode of what a cold start loads first.

Chalice packages whole distributions; a few of ours carry parts that nothing here imports. Each
entry below says why it is dead weight in this service. tests/integration/test_package.py proves
it: every chalicelib module imports, and the app answers requests, from the slimmed zip with only
boto3 (the Lambda runtime's) beside it. Licences and the metadata ``importlib.metadata`` reads stay.

Bytecode: Lambda's /var/task is read-only, so Python cannot cache what it compiles there and
compiles every imported module from source on every cold start (`python -m bench cold`: a cold
follow from the zip takes 0.61x to 0.80x the time with the bytecode than without). The zip carries
``__pycache__`` files for the modules a cold request loads first (``COMPILED``), made for this
interpreter's version (Chalice packages for the local Python's Lambda runtime) in the
*unchecked-hash* mode: Python loads them without looking at the source's time stamp, which a zip
does not keep exactly. All of the dependencies' bytecode would not fit under the 5 MB limit, so
what the console alone loads (Jinja2, pydantic) compiles as before. Whatever ``__pycache__``
Chalice picked up from the working tree is dropped: it is checked against time stamps that do not
survive the zip, so it never loaded.

    python -m infra.slim build/dev/deployment.zip
"""

from __future__ import annotations

import ast
import importlib.util
import marshal
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

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
STALE_BYTECODE = "__pycache__/"
# What a cold webhook or API request imports from the zip: the app and its wiring, Chalice, the
# parts of Powertools its Logger loads (with jmespath and typing_extensions), and urllib3 and certifi,
# which botocore imports from the zip too (/var/task comes first on Lambda's path).
COMPILED = (
    "app.py",
    "chalicelib/",
    "chalice/",
    POWERTOOLS,
    "jmespath/",
    "typing_extensions.py",
    "urllib3/",
    "certifi/",
)
# Bytecode about doubles a module's zipped size, so none for what no cold webhook loads: the console's
# pages beyond the routes app.py registers (a page also loads Jinja2 and pydantic, which compile
# anyway), urllib3's optional back ends, certifi's tests.
NOT_COMPILED = ("chalicelib/console/", "urllib3/contrib/", "certifi/tests/")
ALWAYS_COMPILED = ("chalicelib/console/__init__.py", "chalicelib/console/routes.py", "urllib3/contrib/__init__.py")
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the zip: the file names tracebacks show


def removable(name: str) -> bool:
    if name.startswith(POWERTOOLS_KEPT):
        return False
    if name.startswith("charset_normalizer/") and name.endswith(".so"):
        # mypyc-compiled copies of md.py and cd.py: the pure-Python modules beside them load
        # instead. requests asks it only about a response that names no charset (X's JSON does).
        return True
    return name.startswith(REMOVED_PREFIXES) or name.endswith(REMOVED_SUFFIXES) or any(p in name for p in REMOVED_PARTS)


def stale_bytecode(name: str) -> bool:
    """Bytecode Chalice picked up from the working tree (checked against time stamps a zip loses)."""
    return STALE_BYTECODE in name


def compiled(name: str) -> bool:
    """Whether the zip carries the bytecode of the module at ``name`` (see ``COMPILED``)."""
    if name in ALWAYS_COMPILED:
        return True
    return name.endswith(".py") and name.startswith(COMPILED) and not name.startswith(NOT_COMPILED)


def bytecode_path(name: str) -> str:
    """Where Python looks for the bytecode of the module at ``name`` (this interpreter's tag)."""
    path = PurePosixPath(name)
    return str(path.parent / "__pycache__" / f"{path.stem}.{sys.implementation.cache_tag}.pyc")


def bytecode(name: str, source: bytes) -> bytes:
    """The bytecode of the module at ``name`` in the unchecked-hash format (``importlib``'s own
    layout: magic number, flags, the source's hash, the code)."""
    tree = without_docstrings(ast.parse(source, name))
    # optimize=0: the asserts stay whatever -O this build runs with (the file name says level 0)
    code = compile(tree, f"{LAMBDA_TASK_ROOT}/{name}", "exec", dont_inherit=True, optimize=0)
    flags = (0b01).to_bytes(4, "little")  # hash-based, not checked against the source
    return importlib.util.MAGIC_NUMBER + flags + importlib.util.source_hash(source) + marshal.dumps(code)


def without_docstrings(tree: ast.Module) -> ast.Module:
    """The module with no docstrings in it (what ``python -OO`` drops, without dropping the asserts
    it also drops): 14% of the bytecode's zipped size (120 KB), and nothing here reads ``__doc__``
    at run time (Chalice reads the routes' docstrings when it packages, from the source)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(getattr(first.value, "value", None), str):
                node.body = node.body[1:] or [ast.copy_location(ast.Pass(), first)]
    return tree


def slim(archive: Path) -> tuple[int, int]:
    """Rewrite ``archive`` without the removable entries and with the bytecode of ``COMPILED``
    (maximum compression); its sizes before and after."""
    before = archive.stat().st_size
    with tempfile.NamedTemporaryFile(dir=archive.parent, suffix=".zip", delete=False) as handle:
        rewritten = Path(handle.name)
    with (
        zipfile.ZipFile(archive) as source,
        zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out,
    ):
        for info in source.infolist():
            if removable(info.filename) or stale_bytecode(info.filename):
                continue
            contents = source.read(info)
            out.writestr(info, contents, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            if compiled(info.filename):
                entry = zipfile.ZipInfo(bytecode_path(info.filename), date_time=info.date_time)
                entry.external_attr = info.external_attr
                data = bytecode(info.filename, contents)
                out.writestr(entry, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
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
