"""The CSI shell (CONTRACTS.md section 3): the kernel's CSI over HTTP for the SDK's ``DevCsi``.

* ``POST /csi/v1/{function}`` (``v1``) and ``POST /csi/v2/{function}`` (``v2``): PhariaEngine's
  routes of the same names; JSON in, JSON out, server-sent events for the ``*_stream`` functions.
* ``POST /csi`` (``legacy``): the body carries ``version`` (``0.2``, ``0.3``) and ``function``.

Authenticated by the API's bearer tokens; the tool functions need the invoke role in the namespace
they name. Status codes and error bodies: ``shell``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseBase
from rest_framework.request import Request
from rest_framework.views import APIView

from runtime.csi.types import CsiError
from skills import metrics
from skills.csi_shell import legacy, v1, v2
from skills.csi_shell.shell import Handler, authorise, domain_error, json_response, read_body
from skills.services.errors import NotFound

SHELLS: dict[str, dict[str, Handler]] = {"v1": v1.FUNCTIONS, "v2": v2.FUNCTIONS}
ALL_FUNCTIONS = tuple(v1.FUNCTIONS)


class _ShellView(APIView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The SDK sends ``Accept: text/event-stream`` to the stream functions; errors are still JSON.
        return super().perform_content_negotiation(request, force=True)

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)  # authenticated (401 otherwise)
        authorise(request.user)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        function = kwargs.get("function") or "legacy"
        if function not in ALL_FUNCTIONS and function != "legacy":
            function = "unknown"  # bounded label values, whatever a client sends
        metrics.observe_csi_shell(getattr(request, "user", None), function, response.status_code)
        return super().finalize_response(request, response, *args, **kwargs)


class CsiShellView(_ShellView):
    """``POST /csi/{version}/{function}``."""

    version = "v1"

    def post(self, request: Request, function: str) -> Any:
        functions = SHELLS[self.version]
        handler = functions.get(function)
        if handler is None:
            raise NotFound(f"unknown CSI function '{function}'; the CSI shell offers {', '.join(functions)}")
        body = read_body(request)
        try:
            answer = handler(request.user, body)
        except CsiError as error:
            raise domain_error(error) from error
        return answer if isinstance(answer, HttpResponseBase) else json_response(answer)


class LegacyCsiView(_ShellView):
    """``POST /csi``: every answer, errors included, is JSON; errors are a JSON string."""

    def post(self, request: Request) -> Any:
        body = read_body(request)
        try:
            return json_response(legacy.respond(body))
        except CsiError as error:
            raise domain_error(error) from error

    def handle_exception(self, exc: Exception) -> Any:
        response = super().handle_exception(exc)
        error = response.data.get("error") if isinstance(response.data, dict) else None
        if isinstance(error, dict) and "message" in error:
            response.data = error["message"]
        return response


csi_shell_v1 = CsiShellView.as_view(version="v1")
csi_shell_v2 = CsiShellView.as_view(version="v2")
csi_shell_legacy = LegacyCsiView.as_view()
