"""The accessibility checks of the browser tests (tests/ui/test_accessibility.py): axe-core as
axe-playwright-python bundles it, run with the WCAG 2.0/2.1 A and AA rules, its serious and
critical violations as readable lines; the pages' GET routes of an app, so a test can hold its
page list to them; and `Keyboard`, which moves through a page by Tab alone and notes every stop
whose focus does not show.

Not a test module itself. axe-playwright-python is imported when a check runs, so importing
this harness needs no browser packages.
"""

import re
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute

# WCAG 2.0 and 2.1, levels A and AA: what BITV 2.0 asks through EN 301 549.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
SEVERE = {"serious", "critical"}
# The language picker lists some 200 languages, each the same checkbox and label from one loop
# of pickers.html with the same style: axe checks the first 24 (the common ones and some of the
# rest); the others would only repeat that check, at seven seconds a page for the contrast.
REPEATS = {"exclude": [[".picker-list > .choice:nth-child(n+25)"]]}

# Closed <details> hide their content from axe: opened, so what they hold is checked too.
OPEN_DETAILS = "() => document.querySelectorAll('details').forEach(d => { d.open = true; })"


def severe(results: dict[str, Any], where: str) -> list[str]:
    """Each serious or critical violation as one line: rule, impact, page, selectors."""
    found = []
    for violation in results["violations"]:
        if violation["impact"] not in SEVERE:
            continue
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        found.append(
            f"{violation['id']} ({violation['impact']}) on {where}: {violation['help']}; "
            f"{len(targets)} element(s): {targets[:5]}"
        )
    return found


async def axe_violations(page: Any, where: str) -> list[str]:
    """The serious and critical violations on `page` as it is now."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page, context=REPEATS, options=AXE_OPTIONS)
    return severe(results.response, where)


def _flat(routes: Iterable[Any]) -> Iterator[Any]:
    # FastAPI 0.16x keeps an included router as one lazy entry (`_IncludedRouter`) whose routes
    # are its `original_router`'s; earlier versions copied the routes into the app's list.
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _flat(included.routes) if included is not None else (route,)


def page_routes(app: Any) -> dict[str, re.Pattern[str]]:
    """The pages' GET routes by name, with the pattern their paths match."""
    return {
        route.name: route.path_regex
        for route in _flat(app.routes)
        if isinstance(route, APIRoute) and route.name.startswith("ui.") and "GET" in route.methods
    }


def route_of(routes: dict[str, re.Pattern[str]], path: str) -> str | None:
    # The first that matches, in the app's order, as the app dispatches (/faelle/neu before
    # /faelle/{case_id}).
    bare = path.split("?", 1)[0]
    return next((name for name, pattern in routes.items() if pattern.match(bare)), None)


# Where the keyboard focus is, and whether it shows: an outline or a box shadow of its own.
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) { return {at: null, shown: false, target: false}; }
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== 'none';
  const name = (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 30);
  return {
    at: `${el.tagName.toLowerCase()}#${el.id || ''} ${el.name || ''} ${name}`,
    shown: outline || shadow,
    target: el.hasAttribute('data-keyboard-target'),
  };
}"""


class Keyboard:
    """A page driven by keys only; every element the focus reaches is checked for a visible
    focus on the way."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.reached: set[str] = set()
        self.unseen: set[str] = set()

    async def tab_to(self, locator: Any, *, back: bool = False, limit: int = 400) -> None:
        """Tab (or Shift+Tab) until `locator` has the focus; the locator is only marked, never
        clicked or focused."""
        await locator.evaluate("el => el.setAttribute('data-keyboard-target', '')")
        try:
            for _ in range(limit):
                await self.page.keyboard.press("Shift+Tab" if back else "Tab")
                focus = await self.page.evaluate(FOCUS)
                if focus["at"] is not None:
                    self.reached.add(focus["at"])
                    if not focus["shown"]:
                        self.unseen.add(f"{self.page.url}: {focus['at']}")
                if focus["target"]:
                    return
            raise AssertionError(f"{limit} tabs on {self.page.url} never reached {locator}")
        finally:
            await locator.evaluate("el => el.removeAttribute('data-keyboard-target')")

    async def type_into(self, locator: Any, text: str) -> None:
        await self.tab_to(locator)
        await self.page.keyboard.type(text)
