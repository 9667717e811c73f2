"""`tierwise view`: a local web app over the project and its store — the decisions live, one
task's cases side by side, and a labelling queue that appends each answer to the golden set or
the labels file (docs/view.md; the guard's promises in docs/security.md).

    from harness.view import ViewConfig, create_app
    app = create_app(ViewConfig(root, decide, who="ana", token=new_token()))   # an ASGI app

Starlette and uvicorn are the `view` extra; nothing here imports them until an app is made.
"""

from ._app import MAX_BODY_BYTES, ViewConfig, create_app
from ._append import MAX_LINE_BYTES, LineTooLong, OutsideProject, append_line
from ._guard import new_token

__all__ = ["MAX_BODY_BYTES", "MAX_LINE_BYTES", "LineTooLong", "OutsideProject", "ViewConfig", "append_line",
           "create_app", "new_token"]
