"""HTTP routes of the notifications service: the in-app inbox and people's preferences."""

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import Engine

from services.notifications import handlers
from services.notifications.context import NotifyContext
from services.notifications.models import Notification
from services.notifications.queries import inbox_of, information_of, unread_count
from services.notifications.routing import Information
from shared.access import CurrentCaller
from shared.errors import NotFound
from shared.paging import Paging

InformationChoice = Literal["immediately", "daily_digest"]


class InboxItem(BaseModel):
    id: str
    kind: str
    case_id: str
    subject: str
    text: str
    link: str
    received_at: datetime
    read: bool

    @classmethod
    def of(cls, notification: Notification) -> "InboxItem":
        return cls(
            id=notification.id,
            kind=notification.kind,
            case_id=notification.case_id,
            subject=notification.subject,
            text=notification.body_text,
            link=notification.link,
            received_at=notification.created_at,
            read=notification.read_at is not None,
        )


class Inbox(BaseModel):
    staff_id: str
    unread: int
    items: list[InboxItem]


class Preferences(BaseModel):
    staff_id: str
    information: InformationChoice


class PreferencesChange(BaseModel):
    information: InformationChoice


def notifications_router(engine: Engine, ctx: NotifyContext) -> APIRouter:
    router = APIRouter(tags=["inbox"])

    def known(staff_id: str) -> None:
        if staff_id not in ctx.organisation.staff_by_id:
            raise NotFound(f"no staff member {staff_id!r}")

    @router.get("/inbox/{staff_id}", response_model=Inbox)
    def inbox(staff_id: str, caller: CurrentCaller, paging: Paging) -> Inbox:
        """One page of a person's inbox, newest first, and how many are unread in all."""
        caller.require_self(staff_id, "the inbox's staff id")
        known(staff_id)
        items = [InboxItem.of(n) for n in inbox_of(engine, staff_id, paging)]
        return Inbox(staff_id=staff_id, unread=unread_count(engine, staff_id), items=items)

    @router.post("/inbox/{notification_id}/read", response_model=InboxItem)
    def mark_read(notification_id: str, caller: CurrentCaller) -> InboxItem:
        return InboxItem.of(handlers.mark_read(engine, notification_id, caller.id, ctx))

    @router.get("/preferences/{staff_id}", response_model=Preferences)
    def preferences(staff_id: str, caller: CurrentCaller) -> Preferences:
        caller.require_self(staff_id, "the preferences' staff id")
        known(staff_id)
        return Preferences(staff_id=staff_id, information=information_of(engine, staff_id).value)

    @router.put("/preferences/{staff_id}", response_model=Preferences)
    def change(staff_id: str, change: PreferencesChange, caller: CurrentCaller) -> Preferences:
        caller.require_self(staff_id, "the preferences' staff id")
        known(staff_id)
        handlers.set_preference(engine, staff_id, Information(change.information))
        return Preferences(staff_id=staff_id, information=change.information)

    return router
