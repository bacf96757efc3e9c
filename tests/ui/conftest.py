"""What the browser tests of this folder share: one Chromium per module (Debian's, through
Playwright; tests/ui_harness.py), closed when the module's tests are done."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.ui_harness import launched_chromium


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with launched_chromium() as chromium:
        yield chromium
