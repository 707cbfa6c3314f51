"""Request-scoped access to the process's services, as ``Annotated`` dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings
from app.rag import RagService
from app.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_rag(request: Request) -> RagService:
    return get_services(request).rag


def get_settings(request: Request) -> Settings:
    return get_services(request).settings


ServicesDep = Annotated[Services, Depends(get_services)]
RagDep = Annotated[RagService, Depends(get_rag)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
