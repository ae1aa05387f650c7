"""The gateway's connections to its scoring servers: kept open and reused (HTTP keep-alive).

Opening a connection per request was most of the gateway's own cost. Each scoring server (a port
on 127.0.0.1) has a pool of idle connections and a cap on those in use: requests beyond the cap
wait in the gateway, where waiting costs nothing, rather than in the server's accept queue, where
it would count against the scoring timeout.
"""

from __future__ import annotations

import asyncio
import contextlib

from accelerator.local._local_endpoints._http import Response, read_response

#: Connections in use per scoring server. The server runs one worker, which answers one request
#: at a time: a few in flight keep it busy, more only queue inside it.
PER_SERVER = 4


class _Pool:
    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(PER_SERVER)

    async def _connection(self) -> tuple[tuple[asyncio.StreamReader, asyncio.StreamWriter], bool]:
        while self.idle:
            reader, writer = self.idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return (reader, writer), True
            writer.close()
        return await asyncio.open_connection("127.0.0.1", self.port), False

    async def post(self, path: str, body: bytes, headers: dict[str, str], timeout: float) -> Response:
        """POST and read the answer within ``timeout`` seconds (``TimeoutError`` beyond it).
        A kept connection the server has since closed is retried once on a new one: nothing of
        the request was processed then."""
        head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        message = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        async with self.slots:
            for attempt in range(2):
                (reader, writer), reused = await self._connection()
                try:
                    writer.write(message)
                    response = await asyncio.wait_for(self._answer(reader, writer), timeout)
                except (ConnectionError, asyncio.IncompleteReadError):
                    writer.close()
                    if reused and attempt == 0:
                        continue
                    raise
                except BaseException:  # a timeout or a cancellation: the stream is out of step
                    writer.close()
                    raise
                if response.keep_alive:
                    self.idle.append((reader, writer))
                else:
                    writer.close()
                return response
        raise AssertionError("unreachable")

    @staticmethod
    async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Response:
        await writer.drain()
        return await read_response(reader)

    def close(self) -> None:
        for _, writer in self.idle:
            with contextlib.suppress(Exception):
                writer.close()
        self.idle.clear()


class Upstreams:
    """Pools by scoring-server port; a port no longer in use is dropped with its connections."""

    def __init__(self) -> None:
        self._pools: dict[int, _Pool] = {}

    def pool(self, port: int) -> _Pool:
        if port not in self._pools:
            self._pools[port] = _Pool(port)
        return self._pools[port]

    def forget(self, port: int) -> None:
        pool = self._pools.pop(port, None)
        if pool is not None:
            pool.close()
