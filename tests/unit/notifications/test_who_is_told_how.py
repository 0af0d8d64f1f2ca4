"""The channel, webhook and starting-status rules of `routing`, with plain values (no database)."""

from services.notifications.routing import (
    Delivery,
    Information,
    Kind,
    Recipient,
    Status,
    channels_for,
    deliveries,
    initial_status,
    webhook_for,
)
from shared.events.vocabulary import NotificationChannel
from shared.organisation import load_organisation

ORG = load_organisation()
INBOX, EMAIL, WEBHOOK = (
    NotificationChannel.INBOX,
    NotificationChannel.EMAIL,
    NotificationChannel.WEBHOOK,
)
TEAM_HOOK = {"EH-NORTH": "http://team-hook"}


def test_a_persons_own_webhook_comes_before_their_teams():
    urls = {"S0005": "http://own-hook", **TEAM_HOOK}
    assert webhook_for("S0005", ORG, urls) == "http://own-hook"
    assert webhook_for("S0006", ORG, urls) == "http://team-hook"


def test_someone_without_a_team_or_own_url_has_no_webhook():
    assert webhook_for("S0003", ORG, TEAM_HOOK) is None
    assert webhook_for("STAFF-201", ORG, TEAM_HOOK) is None


def test_everyone_has_an_inbox_and_people_in_the_organisation_file_get_email():
    assert channels_for("S0003", ORG, {}) == [INBOX, EMAIL]
    assert channels_for("STAFF-201", ORG, {}) == [INBOX]


def test_a_webhook_is_a_channel_when_one_is_configured_for_the_person_or_team():
    assert channels_for("S0005", ORG, TEAM_HOOK) == [INBOX, EMAIL, WEBHOOK]
    assert channels_for("STAFF-201", ORG, {"STAFF-201": "http://hook"}) == [INBOX, WEBHOOK]


def test_inbox_items_are_delivered_at_once_whatever_the_preference():
    for kind in Kind:
        for information in Information:
            assert initial_status(kind, INBOX, information) is Status.DELIVERED


def test_information_email_to_a_digest_reader_is_held_for_the_digest():
    assert initial_status(Kind.INFORMATION, EMAIL, Information.DAILY_DIGEST) is Status.HELD


def test_actions_webhooks_and_immediate_readers_wait_to_be_sent():
    assert initial_status(Kind.ACTION, EMAIL, Information.DAILY_DIGEST) is Status.PENDING
    assert initial_status(Kind.INFORMATION, EMAIL, Information.IMMEDIATELY) is Status.PENDING
    assert initial_status(Kind.INFORMATION, WEBHOOK, Information.DAILY_DIGEST) is Status.PENDING


def test_each_recipient_gets_one_notification_per_channel_in_its_starting_status():
    found = [Recipient("S0005", Kind.INFORMATION), Recipient("S0003", Kind.ACTION)]
    preferences = {"S0005": Information.DAILY_DIGEST, "S0003": Information.DAILY_DIGEST}
    assert deliveries(found, ORG, TEAM_HOOK, preferences) == [
        Delivery("S0005", Kind.INFORMATION, INBOX, Status.DELIVERED),
        Delivery("S0005", Kind.INFORMATION, EMAIL, Status.HELD),
        Delivery("S0005", Kind.INFORMATION, WEBHOOK, Status.PENDING),
        Delivery("S0003", Kind.ACTION, INBOX, Status.DELIVERED),
        Delivery("S0003", Kind.ACTION, EMAIL, Status.PENDING),
    ]


def test_someone_with_no_stored_preference_is_told_immediately():
    found = [Recipient("S0005", Kind.INFORMATION)]
    [_, email] = deliveries(found, ORG, {}, {})
    assert email.status is Status.PENDING
