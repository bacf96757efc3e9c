"""`ast.parse` for the tests that read Lotse's own sources (the determinism and layer checks).

CPython 3.11 counts the depth of the AST it builds in one counter per interpreter, and a
parse inside a parse confuses it (gh-106905). A garbage collection during `ast.parse` can run
a finalizer that parses too: asyncio logs "exception was never retrieved" for a future that an
earlier Temporal test left behind, and 3.11's traceback formatting parses the source line to
place its carets. The outer parse then fails with `SystemError: AST constructor recursion
depth mismatch`. So no collection runs while we parse.
"""

import ast
import gc


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source, filename=filename)
    finally:
        if enabled:
            gc.enable()
