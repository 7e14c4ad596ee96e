"""``dtaosim explore``: the Solara server of the explorer on localhost.

The page's JavaScript comes from the ``solara-assets`` package (part of the ``explore`` extra), served by
the same server: the page loads with no network, Solara's usage statistics are off, and nothing but the
browser on this machine talks to the server (it listens on 127.0.0.1 only).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

from dtaosim.errors import ConfigError

APP = "dtaosim.explore.app"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _quiet_solara() -> None:
    """Solara's settings are read from the environment when it is first imported: set them before."""
    os.environ["SOLARA_APP"] = APP
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # no usage statistics sent anywhere
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    os.environ.setdefault("SOLARA_MODE", "production")


def serve(port: int = 8765, host: str = "127.0.0.1", open_browser: bool = True) -> int:
    """Serve the explorer until interrupted; prints the URL once the server listens.  ``port=0``: a free one."""
    _quiet_solara()
    import uvicorn

    from dtaosim.explore.ensemble import runner

    if port:
        check_port(host, port)
    port = port or free_port(host)
    url = f"http://{'localhost' if host in ('127.0.0.1', 'localhost') else host}:{port}/"
    from solara.server.starlette import app

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    runner().start()  # the worker processes start while the server does

    def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.05)
        print(f"dtaosim explore: serving on {url} (Ctrl-C stops it)", flush=True)
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    # uvicorn shuts down on SIGTERM, then raises the signal again with the handler it found: this one ends
    # the process through ``finally`` (the worker processes are stopped), not at once
    old = signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        signal.signal(signal.SIGTERM, old)
        runner().close()
    print("dtaosim explore: stopped", flush=True)
    return 0


def check_port(host: str, port: int) -> None:
    """:class:`ConfigError` when ``port`` is taken on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise ConfigError(f"--port: {port} is not allowed; {host}:{port} is in use ({e.strerror}); choose "
                              "another, or 0 for a free one") from None
