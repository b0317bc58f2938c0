"""Who may use the page (RAG_AUTH) and the browsers that have logged in.

In: (user, password) pairs, login attempts, requests' cookies. Out: a random session token per
login and the user of a request. Kept in memory: a restart logs everyone out.
Never compares passwords in a time that tells which user names exist.
"""

from __future__ import annotations

import hmac
import secrets
import threading

from fastapi import Request

SESSION_COOKIE = "hoi_dap_phien"


class Sessions:
    """Who may use the page (RAG_AUTH) and the browsers that have logged in: a random token
    per login, kept in memory, so a restart logs everyone out."""

    def __init__(self, users: list[tuple[str, str]]) -> None:
        self._users = dict(users)
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def login(self, username: str, password: str) -> str | None:
        """A new session token for a right name and password, else None."""
        expected = self._users.get(username.strip())
        # compare_digest on the password even for an unknown name: the time taken does not
        # tell which names exist.
        ok = hmac.compare_digest(password.encode(), (expected or "\0").encode())
        if expected is None or not ok:
            return None
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = username.strip()
        return token

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._tokens.pop(token or "", None)

    def user(self, request: Request) -> str | None:
        """The logged-in user of a request, or None (Gradio then answers 401)."""
        with self._lock:
            return self._tokens.get(request.cookies.get(SESSION_COOKIE, ""))
