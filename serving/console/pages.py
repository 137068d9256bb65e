"""The console's pages by role: what the navigation bar shows and who may open what.

Each page is declared once here; the navigation bar, the role check of every route and the
home page derive from it. A new page is one more `Page` in
`CONSOLE_PAGES` and a router in `serving.console.console_routers`.
"""

from __future__ import annotations

from dataclasses import dataclass

from serving.auth import (
    BOOK_READERS,
    CLAIM_NOTIFIERS,
    CLAIM_READERS,
    POLICY_READERS,
    Caller,
    CallerRole,
)


@dataclass(frozen=True)
class Page:
    """One console page: its key, path, title message key and the roles that may open it."""

    key: str
    path: str
    title: str
    roles: frozenset[str]
    in_nav: bool = True

    def open_to(self, caller: Caller) -> bool:
        """Whether `caller` may open the page (admins may open every page)."""
        return caller.role is CallerRole.admin or caller.role.value in self.roles


_PATENT_READERS = frozenset({"underwriter", "bank", "scientist"})


def api_roles(roles: tuple[CallerRole, ...]) -> frozenset[str]:
    """The role names of one of the API's role sets (`serving.auth`), for a page's `roles`."""
    return frozenset(r.value for r in roles)


CONSOLE_PAGES: tuple[Page, ...] = (
    Page("search", "/console/patents", "nav.search", _PATENT_READERS),
    Page("profile", "/console/patents/{patent_id}", "nav.search", _PATENT_READERS, in_nav=False),
    Page("quote", "/console/quotes", "nav.quote", frozenset({"underwriter"})),
    Page("loans", "/console/loans", "nav.loans", frozenset({"bank"})),
    Page("regulator", "/console/regulator", "nav.regulator", frozenset({"regulator"})),
    Page("assessments", "/console/assessments", "nav.assessments", frozenset({"regulator"})),
    # Every signed-in caller may read its own stored records, as through the API.
    Page("record", "/console/assessments/{assessment_id}", "nav.assessments",
         frozenset(r.value for r in CallerRole), in_nav=False),
    Page("models", "/console/models", "nav.models", frozenset({"scientist", "regulator"})),
    # Policies and claims: the roles of their API endpoints, read from the same sets.
    Page("policies", "/console/policies", "nav.policies", api_roles(POLICY_READERS)),
    Page("policy", "/console/policies/{policy_id}", "nav.policies", api_roles(POLICY_READERS),
         in_nav=False),
    Page("claims", "/console/claims", "nav.claims", api_roles(CLAIM_READERS)),
    Page("claim_notice", "/console/claims/new", "nav.claims", api_roles(CLAIM_NOTIFIERS),
         in_nav=False),
    Page("claim", "/console/claims/{claim_id}", "nav.claims", api_roles(CLAIM_READERS),
         in_nav=False),
    Page("book", "/console/book", "nav.book", api_roles(BOOK_READERS)),
    # Market and rates for insurers and the regulator, portfolio valuations for banks.
    Page("reports", "/console/reports", "nav.reports",
         frozenset({"underwriter", "bank", "regulator"})),
)


def page(key: str) -> Page:
    """The page declared under `key`."""
    for p in CONSOLE_PAGES:
        if p.key == key:
            return p
    raise KeyError(f"no console page {key!r}; known: {[p.key for p in CONSOLE_PAGES]}")


def nav_pages(caller: Caller) -> list[Page]:
    """The navigation bar of `caller`: the pages it may open, in declaration order."""
    return [p for p in CONSOLE_PAGES if p.in_nav and p.open_to(caller)]


def home_path(caller: Caller) -> str | None:
    """Where a signed-in caller lands: its first page (None when its role has none yet)."""
    pages = nav_pages(caller)
    return pages[0].path if pages else None
