"""Running the web app: uvicorn in the foreground (``serve``) or in a thread beside a live pipeline.

The listening socket is bound here, before uvicorn starts, so the address is known
at once (port 0 picks a free one) and a port in use is one clear error line.
"""

from __future__ import annotations

import socket
import threading
import time

from ..errors import TwitchsenseError
from .app import WebConfig, create_app


class WebServer:
    """One uvicorn server for a :class:`WebConfig`, listening on ``host:port`` from construction on."""

    def __init__(self, config: WebConfig, host: str = "127.0.0.1", port: int = 8765) -> None:
        import uvicorn
        if not 0 <= port <= 65535:
            raise TwitchsenseError(f"port must be 0-65535, got {port}")
        self.config = config
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as exc:
            self.sock.close()
            raise TwitchsenseError(f"cannot listen on {host}:{port}: {exc.strerror} "
                                   "(in use? pick another port)") from None
        self.sock.listen(128)
        self.port = int(self.sock.getsockname()[1])
        self.server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", access_log=False,
                                                    lifespan="off", timeout_graceful_shutdown=1))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url_with_token(self, path: str = "/") -> str:
        token = self.config.guard.token
        return self.url + path + (f"?token={token}" if token else "")

    def run(self) -> None:
        """Serve in the foreground until Ctrl-C."""
        self.server.run(sockets=[self.sock])

    def start(self, timeout_s: float = 10.0) -> "WebServer":
        """Serve from a background thread; returns once it answers."""
        self._thread = threading.Thread(target=self.run, name="web-server", daemon=True)
        self._thread.start()
        end = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > end:
                raise TwitchsenseError(f"the web server on {self.url} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.config.closing.set()
        time.sleep(0.3)  # live streams notice and end
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sock.close()
