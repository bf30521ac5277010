"""JSON pointers (RFC 6901): reference tokens to pointer text and back.

In a token `~` is written `~0` and `/` is written `~1`. Unescaping replaces `~1` before `~0`, so
`~01` reads as the token `~1` (RFC 6901 section 4); escaping goes the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable


def escape(token: str) -> str:
    """One reference token as it is written inside a pointer."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """One reference token as written inside a pointer, read back."""
    return token.replace("~1", "/").replace("~0", "~")


def join(tokens: Iterable[str]) -> str:
    """The pointer to `tokens`: `join(["a/b", "c"])` is `/a~1b/c`; no tokens is the whole document."""
    return "".join("/" + escape(token) for token in tokens)


def split(pointer: str) -> list[str]:
    """The reference tokens of `pointer` (`/a~1b/c` is `["a/b", "c"]`; "" is none)."""
    return [unescape(token) for token in pointer.split("/")[1:]]
