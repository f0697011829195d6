"""Tasks enqueued by the item: sent after commit, gathered while a task runs."""

from __future__ import annotations

import pytest
from django.db import transaction

from portal import queueing
from portal.queueing import BATCH_ITEMS, enqueue_item_on_commit, gathered_enqueues

pytestmark = pytest.mark.django_db(transaction=True)  # real commits run the on_commit hooks


@pytest.fixture
def sent(monkeypatch) -> list[tuple[object, ...]]:
    """What reaches the broker (portal.queueing.enqueue), in order."""
    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(queueing, "enqueue", lambda name, *args: calls.append((name, *args)))
    return calls


def test_outside_a_gathering_each_item_is_sent_alone_once_its_transaction_commits(sent):
    with transaction.atomic():
        enqueue_item_on_commit("channels.provision_api_keys", 1, 10)
        enqueue_item_on_commit("channels.provision_api_keys", 1, 11)
        assert sent == []

    assert sent == [
        ("channels.provision_api_keys", 1, [10]),
        ("channels.provision_api_keys", 1, [11]),
    ]


def test_a_gathering_sends_one_task_per_name_and_partner_when_it_ends(sent):
    with gathered_enqueues():
        with transaction.atomic():
            enqueue_item_on_commit("channels.provision_api_keys", 1, 10)
            enqueue_item_on_commit("clients.send_notifications", 1, 70)
            enqueue_item_on_commit("channels.provision_api_keys", 2, 20)
        with transaction.atomic():
            enqueue_item_on_commit("channels.provision_api_keys", 1, 11)
            enqueue_item_on_commit("channels.provision_api_keys", 1, 10)  # again: once
        assert sent == []

    assert sent == [
        ("channels.provision_api_keys", 1, [10, 11]),
        ("clients.send_notifications", 1, [70]),
        ("channels.provision_api_keys", 2, [20]),
    ]


def test_items_of_a_rolled_back_savepoint_or_transaction_are_not_sent(sent):
    with gathered_enqueues():
        with transaction.atomic():
            enqueue_item_on_commit("channels.provision_api_keys", 1, 10)
            with pytest.raises(RuntimeError), transaction.atomic():
                enqueue_item_on_commit("channels.provision_api_keys", 1, 11)
                raise RuntimeError("the savepoint rolls back")
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue_item_on_commit("channels.provision_api_keys", 1, 12)
            raise RuntimeError("the transaction rolls back")

    assert sent == [("channels.provision_api_keys", 1, [10])]


def test_a_block_that_raises_still_sends_what_committed(sent):
    with pytest.raises(RuntimeError), gathered_enqueues():
        with transaction.atomic():
            enqueue_item_on_commit("channels.provision_api_keys", 1, 10)
        raise RuntimeError("the task fails after its commit")

    assert sent == [("channels.provision_api_keys", 1, [10])]


def test_a_full_task_is_sent_at_once_and_the_rest_when_the_block_ends(sent):
    items = list(range(BATCH_ITEMS * 2 + 1))

    with gathered_enqueues():
        with transaction.atomic():
            for item in items[:BATCH_ITEMS]:
                enqueue_item_on_commit("channels.provision_api_keys", 1, item)
        assert sent == [("channels.provision_api_keys", 1, items[:BATCH_ITEMS])]
        with transaction.atomic():
            for item in items[BATCH_ITEMS:]:
                enqueue_item_on_commit("channels.provision_api_keys", 1, item)

    assert sent == [
        ("channels.provision_api_keys", 1, items[:BATCH_ITEMS]),
        ("channels.provision_api_keys", 1, items[BATCH_ITEMS : BATCH_ITEMS * 2]),
        ("channels.provision_api_keys", 1, items[BATCH_ITEMS * 2 :]),
    ]
