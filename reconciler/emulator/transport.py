"""In-process httpx transports: a client talks to the emulator without a socket. Like httpx's
MockTransport, each takes the request handler as a callable (the emulator's `handle`).

A dropped connection surfaces as `httpx.RemoteProtocolError`, which is what httpx raises when a
real server closes the connection without answering.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx

from reconciler.emulator.replies import Handle, Reply

_DROPPED = "Server disconnected without sending a response."


def _call(handle: Handle, request: httpx.Request, body: bytes) -> Reply:
    path, _, query = request.url.raw_path.decode("ascii").partition("?")
    return handle(request.method, path, query, dict(request.headers), body)


def _response(request: httpx.Request, reply: Reply) -> httpx.Response:
    if reply.dropped:
        raise httpx.RemoteProtocolError(_DROPPED, request=request)
    return httpx.Response(reply.status, headers=reply.headers, content=reply.body, request=request)


async def _trickle(reply: Reply) -> AsyncIterator[bytes]:
    for index in range(len(reply.body)):
        await asyncio.sleep(reply.trickle_s)
        yield reply.body[index : index + 1]


class AsyncEmulatorTransport(httpx.AsyncBaseTransport):
    """For `httpx.AsyncClient(transport=emulator.transport())`."""

    def __init__(self, handle: Handle) -> None:
        self.handle = handle

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        reply = _call(self.handle, request, body)
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
        if reply.trickle_s > 0 and not reply.dropped:
            headers = {**reply.headers, "content-length": str(len(reply.body))}
            return httpx.Response(
                reply.status, headers=headers, content=_trickle(reply), request=request
            )
        return _response(request, reply)


class EmulatorTransport(httpx.BaseTransport):
    """For `httpx.Client(transport=emulator.sync_transport())`."""

    def __init__(self, handle: Handle) -> None:
        self.handle = handle

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        reply = _call(self.handle, request, body)
        if reply.delay_s > 0:
            time.sleep(reply.delay_s)
        return _response(request, reply)
