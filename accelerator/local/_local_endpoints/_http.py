"""Just enough HTTP/1.1 for the endpoint gateway, on asyncio streams, with every limit explicit.

The gateway reads requests from anyone on the machine, so each step has a bound: the head must
arrive within ``HEAD_TIMEOUT`` and fit in ``HEAD_LIMIT`` bytes, the body within ``BODY_TIMEOUT``
and ``BODY_LIMIT`` bytes. A request that breaks the framing (a ``Content-Length`` of ``-1`` or
``abc``, two different lengths, a bad chunk) is answered 400 and its connection closed, since
what follows it can no longer be trusted; nothing waits for bytes that will never come.

The same reader parses a scoring server's answers (``read_response``) for the gateway's pooled
connections.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

#: Azure ML's managed online endpoints refuse a payload larger than 1.5 MB with 413
#: (learn.microsoft.com, "Troubleshoot online endpoints", HTTP status codes).
BODY_LIMIT = 1_572_864
HEAD_LIMIT = 64 * 1024
HEAD_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0
_DIGITS = re.compile(rb"^[0-9]{1,19}$")
_HEX = re.compile(rb"^[0-9a-fA-F]{1,16}$")
_TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    424: "Failed Dependency",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class HttpError(Exception):
    """A request the gateway answers with ``status`` and a JSON message (and then, if ``close``,
    closes the connection because the stream is out of step)."""

    def __init__(self, status: int, message: str, *, close: bool = True) -> None:
        super().__init__(message)
        self.status, self.message, self.close = status, message, close


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        return "close" not in self.headers.get("connection", "").lower()


def _headers(lines: list[bytes]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.match(name):
            raise HttpError(400, "A request header is malformed.")
        key = name.decode("ascii").lower()
        text = value.strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


async def _head(reader: asyncio.StreamReader, timeout: float) -> list[bytes] | None:
    """The lines of a message head, or None when the peer closed before sending anything."""
    try:
        raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except asyncio.IncompleteReadError as error:
        if not error.partial.strip():
            return None
        raise HttpError(400, "The connection closed in the middle of the request head.") from None
    except asyncio.LimitOverrunError:
        raise HttpError(431, f"The request head is larger than {HEAD_LIMIT} bytes.") from None
    except asyncio.TimeoutError:
        raise HttpError(408, f"The request head did not arrive within {timeout:.0f} s.") from None
    if len(raw) > HEAD_LIMIT:
        raise HttpError(431, f"The request head is larger than {HEAD_LIMIT} bytes.")
    return raw[:-4].split(b"\r\n")


def _length(headers: dict[str, str], limit: int) -> int | None:
    """The body's declared length (None for chunked); 400 for a bad one, 413 above ``limit``."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        if "content-length" in headers:
            raise HttpError(400, "A request cannot have both Content-Length and chunked encoding.")
        return None
    values = {v.strip() for v in headers.get("content-length", "0").split(",")}
    if len(values) != 1 or not _DIGITS.match(next(iter(values)).encode()):
        raise HttpError(
            400, f"Content-Length must be a non-negative integer, not {headers['content-length']!r}."
        )
    length = int(values.pop())
    if length > limit:
        raise HttpError(413, f"Payload too large: the request is {length} bytes; the limit is {limit} bytes.")
    return length


async def _chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    body = bytearray()
    while True:
        size_line = (await reader.readuntil(b"\r\n"))[:-2].split(b";", 1)[0].strip()
        if not _HEX.match(size_line):
            raise HttpError(400, "A chunk size of the request body is malformed.")
        size = int(size_line, 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, ignored
                pass
            return bytes(body)
        if len(body) + size > limit:
            raise HttpError(413, f"Payload too large: the request is over the limit of {limit} bytes.")
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise HttpError(400, "A chunk of the request body is not terminated.")


async def _body(reader: asyncio.StreamReader, length: int | None, limit: int, timeout: float) -> bytes:
    try:
        if length is None:
            return await asyncio.wait_for(_chunked(reader, limit), timeout)
        return await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
    except asyncio.TimeoutError:
        raise HttpError(408, f"The request body did not arrive within {timeout:.0f} s.") from None
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        raise HttpError(400, "The connection closed before the whole request body arrived.") from None


async def read_request(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter | None = None,
    *,
    idle_timeout: float = HEAD_TIMEOUT,
    limit: int = BODY_LIMIT,
) -> Request | None:
    """The next request on a connection, or None when the client has closed it. A client that
    asks ``Expect: 100-continue`` (curl does above 1 KB) is told to go on once its length is
    known to be acceptable, instead of waiting a second for nothing."""
    lines = await _head(reader, idle_timeout)
    if lines is None:
        return None
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] not in (b"HTTP/1.1", b"HTTP/1.0") or not _TOKEN.match(parts[0]):
        raise HttpError(400, "The request line is not 'METHOD /path HTTP/1.1'.")
    request = Request(parts[0].decode(), parts[1].decode("latin-1"), parts[2].decode(), _headers(lines[1:]))
    length = _length(request.headers, limit)
    if writer is not None and request.headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    request.body = await _body(reader, length, limit, BODY_TIMEOUT)
    return request


async def read_response(reader: asyncio.StreamReader, *, limit: int = 64 * 1024 * 1024) -> Response:
    """A scoring server's answer: its status, headers and whole body."""
    lines = await _head(reader, 3600.0)  # the caller bounds the wait with the scoring timeout
    if lines is None:
        raise ConnectionResetError("The scoring server closed the connection without an answer.")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ConnectionError(f"The scoring server answered {lines[0][:80]!r}, not an HTTP status.")
    headers = _headers(lines[1:])
    status = int(parts[1])
    if status in (204, 304) or 100 <= status < 200:
        return Response(status, headers, b"")
    if "chunked" in headers.get("transfer-encoding", "").lower() or "content-length" in headers:
        body = await _body(reader, _length(headers, limit), limit, 3600.0)
    else:  # read to the end, as HTTP/1.1 says for an answer without a length
        body = await reader.read(limit)
        headers["connection"] = "close"
    return Response(status, headers, body)


def encode_response(status: int, body: bytes, headers: dict[str, str] | None = None, *, close: bool) -> bytes:
    head = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}", "Server: azureml-local-endpoint"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    head += [f"Content-Length: {len(body)}", f"Connection: {'close' if close else 'keep-alive'}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def json_body(payload: Any) -> bytes:
    return json.dumps(payload).encode()
