"""HTTP routes of the notifications service: the in-app inbox and people's preferences."""

import asyncio
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.notifications.handlers import NotifyContext, preference_of
from services.notifications.models import Notification, Preference
from shared.access import CurrentCaller
from shared.auth import Forbidden
from shared.db import as_utc, transaction
from shared.events.vocabulary import NotificationChannel

Information = Literal["immediately", "daily_digest"]


class InboxItem(BaseModel):
    id: str
    kind: str
    case_id: str
    subject: str
    text: str
    link: str
    received_at: datetime
    read: bool


class Inbox(BaseModel):
    staff_id: str
    unread: int
    items: list[InboxItem]


class Preferences(BaseModel):
    staff_id: str
    information: Information


class PreferencesChange(BaseModel):
    information: Information


def notifications_router(engine: Engine, ctx: NotifyContext) -> APIRouter:
    router = APIRouter(tags=["inbox"])

    def known(staff_id: str) -> None:
        if staff_id not in ctx.organisation.staff_by_id:
            raise HTTPException(404, detail=f"no staff member {staff_id!r}")

    @router.get("/inbox/{staff_id}", response_model=Inbox)
    async def inbox(staff_id: str, caller: CurrentCaller, limit: int = 50) -> Inbox:
        caller.require_self(staff_id, "the inbox's staff id")
        known(staff_id)

        def load() -> list[Notification]:
            with Session(engine) as session:
                query = (
                    select(Notification)
                    .where(
                        Notification.recipient_id == staff_id,
                        Notification.channel == NotificationChannel.INBOX,
                    )
                    .order_by(col(Notification.created_at).desc())
                )
                return list(session.exec(query).all())

        found = await asyncio.to_thread(load)
        items = [
            InboxItem(
                id=n.id,
                kind=n.kind,
                case_id=n.case_id,
                subject=n.subject,
                text=n.body_text,
                link=n.link,
                received_at=as_utc(n.created_at),
                read=n.read_at is not None,
            )
            for n in found
        ]
        return Inbox(staff_id=staff_id, unread=sum(not i.read for i in items), items=items[:limit])

    @router.post("/inbox/{notification_id}/read", response_model=InboxItem)
    async def mark_read(notification_id: str, caller: CurrentCaller) -> InboxItem:
        def save() -> Notification | None:
            with transaction(engine) as session:
                found = session.get(Notification, notification_id)
                if found is None or found.channel != NotificationChannel.INBOX:
                    return None
                if found.recipient_id != caller.id:
                    raise Forbidden("this inbox item is someone else's")
                if found.read_at is None:
                    found.read_at = ctx.clock.now()
                    session.add(found)
                return found

        n = await asyncio.to_thread(save)
        if n is None:
            raise HTTPException(404, detail=f"no inbox item {notification_id!r}")
        return InboxItem(
            id=n.id,
            kind=n.kind,
            case_id=n.case_id,
            subject=n.subject,
            text=n.body_text,
            link=n.link,
            received_at=as_utc(n.created_at),
            read=True,
        )

    @router.get("/preferences/{staff_id}", response_model=Preferences)
    async def preferences(staff_id: str, caller: CurrentCaller) -> Preferences:
        caller.require_self(staff_id, "the preferences' staff id")
        known(staff_id)

        def load() -> str:
            with Session(engine) as session:
                return preference_of(session, staff_id)

        return Preferences(staff_id=staff_id, information=await asyncio.to_thread(load))

    @router.put("/preferences/{staff_id}", response_model=Preferences)
    async def change(
        staff_id: str, change: PreferencesChange, caller: CurrentCaller
    ) -> Preferences:
        caller.require_self(staff_id, "the preferences' staff id")
        known(staff_id)

        def save() -> None:
            with transaction(engine) as session:
                stored = session.get(Preference, staff_id) or Preference(
                    staff_id=staff_id, information=change.information
                )
                stored.information = change.information
                session.add(stored)

        await asyncio.to_thread(save)
        return Preferences(staff_id=staff_id, information=change.information)

    return router
