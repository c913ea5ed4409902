"""Running the web app: uvicorn in the foreground (``serve``) or in a thread beside a live pipeline."""

from __future__ import annotations

import threading
import time

from ..errors import TwitchsenseError
from .app import WebConfig, create_app


class WebServer:
    """One uvicorn server for a :class:`WebConfig`; ``port`` 0 picks a free port (see :attr:`url`)."""

    def __init__(self, config: WebConfig, host: str = "127.0.0.1", port: int = 8765) -> None:
        import uvicorn
        if not 0 <= port <= 65535:
            raise TwitchsenseError(f"port must be 0-65535, got {port}")
        self.config = config
        self.host = host
        self.server = uvicorn.Server(uvicorn.Config(create_app(config), host=host, port=port, log_level="warning",
                                                    access_log=False, lifespan="off", timeout_graceful_shutdown=1))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        for s in getattr(self.server, "servers", []):
            for sock in s.sockets:
                return int(sock.getsockname()[1])
        return int(self.server.config.port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url_with_token(self, path: str = "/") -> str:
        token = self.config.guard.token
        return self.url + path + (f"?token={token}" if token else "")

    def run(self) -> None:
        """Serve in the foreground until Ctrl-C."""
        try:
            self.server.run()
        except SystemExit:  # uvicorn exits when it cannot bind
            pass
        if not self.server.started:
            raise TwitchsenseError(f"could not listen on {self.host}:{self.server.config.port} "
                                   "(in use? pick another with --port)")

    def start(self, timeout_s: float = 10.0) -> "WebServer":
        """Serve from a background thread; returns once it listens."""
        self._thread = threading.Thread(target=self.server.run, name="web-server", daemon=True)
        self._thread.start()
        end = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > end:
                raise TwitchsenseError(f"the web server could not listen on {self.host}:{self.server.config.port} "
                                       "(in use? pick another port)")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
