"""`frontdesk actions`: rasa-sdk's action server for a real Rasa, with safer defaults.

rasa-sdk runs the app in Sanic worker processes; each builds its backend from the settings on first use
(dialogs.actions.runtime.backend). Differences from `python -m rasa_sdk`: it listens on 127.0.0.1 unless
told otherwise, sends no CORS headers (Rasa calls it server to server), and an action that fails answers
500 with a fixed message: rasa-sdk's own handler would echo the exception and the whole request body,
which holds the client's slots (phone, address).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from rasa_sdk.endpoint import DEFAULT_ENDPOINTS_PATH, create_app_for_serve
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.worker.loader import AppLoader

log = logging.getLogger(__name__)


async def _action_failed(request: Any, exception: Exception) -> Any:
    body = request.json if isinstance(request.json, dict) else {}
    log.error("action %s failed: %s", body.get("next_action"), type(exception).__name__)
    return response.json({"error": "the action failed; see the action server's log"}, status=500)


def create_app(executor: ActionExecutor) -> Sanic:
    """Built in the main process and again in every worker (so it must be a module-level function)."""
    app = create_app_for_serve(executor, cors_origins=None, endpoints=DEFAULT_ENDPOINTS_PATH)
    # Replaces rasa-sdk's catch-all handler (Sanic refuses a second registration for the same key).
    app.error_handler.cached_handlers[(Exception, None)] = _action_failed
    return app


def serve(host: str, port: int) -> None:
    from rasa_sdk import utils

    executor = ActionExecutor()
    executor.register_package("dialogs.actions")
    loader = AppLoader(factory=partial(create_app, executor))
    app = loader.load()
    app.prepare(host=host, port=port, workers=utils.number_of_sanic_workers(), motd=False)
    Sanic.serve(primary=app, app_loader=loader)
