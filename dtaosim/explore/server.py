"""``dtaosim explore``: the Solara server of the explorer on localhost.

The page's JavaScript comes from the ``solara-assets`` package (part of the ``explore`` extra), served by
the same server: the page loads with no network, Solara's usage statistics are off, and nothing but the
browser on this machine talks to the server (it listens on 127.0.0.1 only).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time

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
    try:
        server.run()
    finally:
        runner().close()
    if not server.started:
        print(f"dtaosim: error: could not listen on {host}:{port} (is another server using the port?)",
              file=sys.stderr)
        return 2
    return 0
