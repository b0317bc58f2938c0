"""Who may use the page (RAG_AUTH), the browsers that have logged in, and how fast anyone may
guess a password.

In: (user, password) pairs, login attempts with the client's address, requests' cookies, a clock
(injectable, so tests move time instead of waiting). Out: a random session token per login, the
user of a request while the session lives (idle and absolute limits), or `TooManyAttempts` with
the seconds to wait. Kept in memory: a restart logs everyone out and forgets failures.
Never checks a password while its client or its account must wait, never compares passwords
in a time that tells which user names exist, never keeps an expired session.
"""

from __future__ import annotations

import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from rag.errors import RagError

SESSION_COOKIE = "hoi_dap_phien"

# Failed logins per client address and per account name. The first FREE_FAILURES cost nothing
# (typos); each further one doubles the wait before the next try, from FIRST_DELAY up to
# MAX_DELAY; LOCK_AFTER failures lock the key for LOCKOUT. A key's failures are forgotten
# LOCKOUT after its last one. With these, a guesser gets about 10 tries per 15 minutes per
# account instead of 300 in 21 s, and a user who mistypes three times waits one second.
FREE_FAILURES = 3
FIRST_DELAY = 1.0
MAX_DELAY = 60.0
LOCK_AFTER = 10
LOCKOUT = 15 * 60.0
# Sessions of one user beyond this drop the oldest: logging in in a loop does not fill memory.
MAX_SESSIONS_PER_USER = 20
# Expired sessions and forgotten failures are swept at most this often (and at each login).
SWEEP_EVERY = 60.0

Clock = Callable[[], float]


class TooManyAttempts(RagError):
    """A login refused unchecked: the client or the account failed too often just now."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        super().__init__(f"Đăng nhập sai nhiều lần; hãy thử lại sau {wait_text(wait)}.")


def wait_text(seconds: float) -> str:
    """'5 giây', '3 phút': a wait rounded up, in the unit a reader expects."""
    if seconds <= 90:
        return f"{max(math.ceil(seconds), 1)} giây"
    return f"{math.ceil(seconds / 60)} phút"


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


class Throttle:
    """Failed attempts per key (a client address, an account name) and how long each key must
    wait before its next attempt."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, _Failures] = {}

    def wait(self, key: str) -> float:
        """Seconds before `key` may try again; 0 when it may now."""
        f = self._failures.get(key)
        if f is None:
            return 0.0
        now = self._clock()
        if now - f.last >= LOCKOUT:
            del self._failures[key]
            return 0.0
        return max(f.last + self.delay(f.count) - now, 0.0)

    @staticmethod
    def delay(count: int) -> float:
        """The wait after `count` failures in a row."""
        if count >= LOCK_AFTER:
            return LOCKOUT
        if count < FREE_FAILURES:
            return 0.0
        return min(FIRST_DELAY * 2 ** (count - FREE_FAILURES), MAX_DELAY)

    def failed(self, key: str) -> None:
        f = self._failures.setdefault(key, _Failures())
        f.count += 1
        f.last = self._clock()

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def sweep(self) -> None:
        """Forget keys whose last failure is LOCKOUT old."""
        now = self._clock()
        for key in [k for k, f in self._failures.items() if now - f.last >= LOCKOUT]:
            del self._failures[key]

    def __len__(self) -> int:
        return len(self._failures)


@dataclass
class _Session:
    user: str
    created: float
    seen: float


class Sessions:
    """Who may use the page (RAG_AUTH) and the browsers that have logged in: a random token per
    login, valid while used at least every `idle` seconds and for at most `max_age` seconds."""

    def __init__(
        self,
        users: list[tuple[str, str]],
        *,
        idle: float = 60 * 60.0,
        max_age: float = 12 * 3600.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._users = dict(users)
        self.idle, self.max_age = idle, max_age
        self._clock = clock
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self.throttle = Throttle(clock)
        self._swept = clock()

    def login(self, username: str, password: str, client: str) -> str | None:
        """A new session token for a right name and password, else None. TooManyAttempts,
        without looking at the password, while the client or the account must wait."""
        name = username.strip()
        keys = (f"client:{client}", f"account:{name.casefold()}")
        with self._lock:
            self._sweep()
            wait = max(self.throttle.wait(k) for k in keys)
            if wait > 0:
                raise TooManyAttempts(wait)
            expected = self._users.get(name)
            # compare_digest on the password even for an unknown name: the time taken does not
            # tell which names exist.
            ok = hmac.compare_digest(password.encode(), (expected or "\0").encode())
            if expected is None or not ok:
                for key in keys:
                    self.throttle.failed(key)
                return None
            for key in keys:
                self.throttle.forget(key)
            token = secrets.token_urlsafe(32)
            now = self._clock()
            self._sessions[token] = _Session(name, now, now)
            mine = sorted((s.created, t) for t, s in self._sessions.items() if s.user == name)
            for _, old in mine[:-MAX_SESSIONS_PER_USER]:
                del self._sessions[old]
            return token

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def user(self, request: Request) -> str | None:
        """The logged-in user of a request, or None (the page then asks for a login); a live
        session's idle time starts again."""
        token = request.cookies.get(SESSION_COOKIE, "")
        with self._lock:
            if self._clock() - self._swept >= SWEEP_EVERY:
                self._sweep()
            session = self._sessions.get(token)
            if session is None:
                return None
            now = self._clock()
            if self._expired(session, now):
                del self._sessions[token]
                return None
            session.seen = now
            return session.user

    def __len__(self) -> int:
        """Sessions kept (expired ones go at the next sweep)."""
        with self._lock:
            return len(self._sessions)

    def _expired(self, session: _Session, now: float) -> bool:
        return now - session.seen >= self.idle or now - session.created >= self.max_age

    def _sweep(self) -> None:
        now = self._swept = self._clock()
        for token in [t for t, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[token]
        self.throttle.sweep()
