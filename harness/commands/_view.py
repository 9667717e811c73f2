"""`tierwise view`: serve the project's decisions, cases and labelling queue on 127.0.0.1."""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import MissingDependency, UsageError
from ..project import Project
from ..view import ViewConfig, create_app, new_token
from ._diff import diff, task_runs
from ._progress import run_progress
from ._recommend import recommend


@dataclass
class ViewServer:
    """A view ready to serve: its URL (with the token) and the socket it listens on."""

    url: str
    app: object
    sock: socket.socket

    def serve(self) -> None:
        """Serve until interrupted (Ctrl-C)."""
        import uvicorn

        server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off"))
        server.run(sockets=[self.sock])


def view(project: Project, host: str = "127.0.0.1", port: int = 0, read_only: bool = False,
         who: str | None = None, store: str | None = None) -> ViewServer:
    """Open the listening socket (port 0: a free one) and build the app; `serve()` runs it."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(exc.name or "starlette", "view", "tierwise view serves pages with it") from None

    who = (who or _os_user()).strip()
    if not who or len(who) > 100:
        raise UsageError("view --as: give a name of 1 to 100 characters")
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        raise UsageError(f"view: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                         f"fix: choose another --port (0 picks a free one)") from None
    sock.listen(64)
    port = sock.getsockname()[1]
    token = new_token()
    app = create_app(view_config(Path(project.root), who, token, host, port, read_only, store))
    shown = f"[{host}]" if ":" in host else host
    return ViewServer(f"http://{shown}:{port}/?token={token}", app, sock)


def view_config(root: Path, who: str, token: str, host: str = "127.0.0.1", port: int = 0, read_only: bool = False,
                store: str | None = None) -> ViewConfig:
    """The view's configuration with the application layer's reads it shows: the decision
    (recommend), a task's runs and two runs compared (diff), the runs in progress."""
    decide: Callable = lambda p, tasks: recommend(p, tasks, store)  # noqa: E731
    return ViewConfig(root, decide, who, token, host, port, read_only,
                      runs=lambda p, task: task_runs(p, task, store),
                      diff=lambda p, a, b, task: diff(p, a, b, store, [task]),
                      progress=lambda p, task: run_progress(p, store, task))


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without one): say so in the answers
        return "unknown"
