"""Request-scoped access to the process's services, as ``Annotated`` dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.services import Services


def services_of(request: Request) -> Services:
    """The process's services (for code that runs outside FastAPI's dependency resolution)."""
    services: Services = request.app.state.services
    return services


# Async on purpose: FastAPI runs a plain ``def`` dependency on the thread pool, which would
# cost a thread hop per dependency per request.
async def get_services(request: Request) -> Services:
    return services_of(request)


ServicesDep = Annotated[Services, Depends(get_services)]
