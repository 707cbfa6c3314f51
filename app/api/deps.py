"""Request-scoped access to the process's services, as ``Annotated`` dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.services import Services


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# Async on purpose: FastAPI runs a plain ``def`` dependency on the thread pool, which would
# cost a thread hop per dependency per request.
async def get_services(request: Request) -> Services:
    return _services(request)


ServicesDep = Annotated[Services, Depends(get_services)]
