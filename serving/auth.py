"""API keys and roles: key generation, hashing, and who may call what.

Keys are 256-bit random tokens (`secrets.token_urlsafe(32)`), so a plain SHA-256 of the token is
enough to store them: there is nothing to brute-force that a salt or a slow hash would protect
(those exist for low-entropy passwords). The raw key is shown once at creation and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

KEY_PREFIX = "prk_"
ADMIN_BOOTSTRAP_KEY_ID = "settings-admin"


class CallerRole(StrEnum):
    """What a caller is allowed to do; `admin` may do everything."""

    underwriter = "underwriter"  # insurance quotes
    bank = "bank"  # loan assessments and valuations
    scientist = "scientist"  # models and reload
    regulator = "regulator"  # read assessments, models, policies, claims and the book report
    adjuster = "adjuster"  # claims: register, assess, reserve, decide, pay (理赔)
    admin = "admin"


# Roles that may read every stored assessment; other callers see only the ones they made.
AUDIT_ROLES: frozenset[CallerRole] = frozenset({CallerRole.regulator, CallerRole.admin})

# Who may call the policy, claim and book-of-business endpoints (admin always may). The API's
# role checks and the console's pages and buttons both read these, so they cannot disagree.
POLICY_WRITERS: tuple[CallerRole, ...] = (CallerRole.underwriter, CallerRole.bank)
POLICY_READERS: tuple[CallerRole, ...] = (
    CallerRole.underwriter, CallerRole.bank, CallerRole.adjuster, CallerRole.regulator)
CLAIM_HANDLERS: tuple[CallerRole, ...] = (CallerRole.adjuster,)
CLAIM_NOTIFIERS: tuple[CallerRole, ...] = (CallerRole.adjuster, CallerRole.bank)
CLAIM_READERS: tuple[CallerRole, ...] = (
    CallerRole.adjuster, CallerRole.underwriter, CallerRole.bank, CallerRole.regulator)
BOOK_READERS: tuple[CallerRole, ...] = (CallerRole.regulator,)


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of a request: its key id, name and role."""

    key_id: str
    name: str
    role: CallerRole

    def has_role(self, *roles: CallerRole) -> bool:
        """Whether the caller holds one of `roles` (admin holds every role)."""
        return self.role is CallerRole.admin or self.role in roles

    @property
    def reads_all_assessments(self) -> bool:
        """Whether the caller may read assessments made by other keys."""
        return self.role in AUDIT_ROLES


def generate_key() -> str:
    """A new random API key (shown once to its owner, stored only as a hash)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(raw_key: str) -> str:
    """Hex SHA-256 of an API key, the only form in which keys are stored."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
