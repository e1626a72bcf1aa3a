"""Job leases on the real stores (SQLite and PostgreSQL) and the real Redis: one holder at a time,
renewed while held, lapsed after a TTL, taken over at once from a holder that died on this host."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import redis
from sqlalchemy import Engine

from hub.errors import TransientError
from hub.scheduling.locks import Held, JobLocks, Lease, Owner, RedisLocks, StoreLeases, current_owner, hold
from hub.store.models import utcnow

LOCKS_REDIS_URL = "redis://127.0.0.1:6379/6"
"""A Redis database apart from the workers tests' (5); each test uses keys of its own prefix."""


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def elsewhere() -> Owner:
    """A holder on another host: this host cannot tell whether it is alive."""
    return Owner(host="worker-elsewhere", pid=1, token=uuid.uuid4().hex[:12])


def dead_here() -> Owner:
    """A holder on this host whose process has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return Owner(host=current_owner().host, pid=child.pid, token="deadbeef0000")


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(LOCKS_REDIS_URL)
    client.ping()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def redis_locks(redis_client: redis.Redis) -> Iterator[RedisLocks]:
    prefix = f"okrhub-test:{uuid.uuid4().hex}:"
    try:
        yield RedisLocks(redis_client, ttl=timedelta(seconds=5), prefix=prefix)
    finally:
        keys = list(redis_client.scan_iter(match=prefix + "*"))
        if keys:
            redis_client.delete(*keys)


# --- the store ---------------------------------------------------------------------------------


def test_a_store_lease_has_one_holder_until_it_is_released(store_engine: Engine) -> None:
    leases = StoreLeases(store_engine)
    first, second = current_owner(), current_owner()

    taken = leases.acquire("org_sync", first)
    refused = leases.acquire("org_sync", second)

    assert taken == Lease(job="org_sync", owner=first)
    assert isinstance(refused, Held)
    assert refused.holder == str(first)
    assert refused.expires_at is not None
    assert "already running on" in refused.describe()
    assert isinstance(leases.acquire("metrics:win_rate", second), Lease)  # another job, another lease

    leases.release(taken)
    assert leases.acquire("org_sync", second) == Lease(job="org_sync", owner=second)


def test_a_store_lease_lapses_one_ttl_after_its_last_renewal(store_engine: Engine) -> None:
    clock = Clock()
    leases = StoreLeases(store_engine, ttl=timedelta(minutes=5), clock=clock)
    holder = elsewhere()
    lease = leases.acquire("org_sync", holder)
    assert isinstance(lease, Lease)

    clock.now += timedelta(minutes=4)
    assert leases.renew(lease)
    clock.now += timedelta(minutes=4)
    assert isinstance(leases.acquire("org_sync", current_owner()), Held)  # renewed: still held

    clock.now += timedelta(minutes=1, seconds=1)
    taker = current_owner()
    taken = leases.acquire("org_sync", taker)
    assert taken == Lease(job="org_sync", owner=taker, previous_owner=str(holder))
    assert not leases.renew(lease)  # the old holder lost it
    leases.release(lease)  # and cannot release someone else's
    assert isinstance(leases.acquire("org_sync", current_owner()), Held)


def test_a_store_lease_held_by_a_dead_process_on_this_host_is_taken_at_once(store_engine: Engine) -> None:
    leases = StoreLeases(store_engine, ttl=timedelta(hours=1))
    dead = dead_here()
    assert isinstance(leases.acquire("org_sync", dead), Lease)

    taker = current_owner()
    assert leases.acquire("org_sync", taker) == Lease(job="org_sync", owner=taker, previous_owner=str(dead))


def test_racing_processes_get_one_store_lease_between_them(store_engine: Engine) -> None:
    leases = StoreLeases(store_engine)
    start = threading.Barrier(6)
    results: list[Lease | Held] = []

    def contend() -> None:
        start.wait()
        results.append(leases.acquire("org_sync", current_owner()))

    threads = [threading.Thread(target=contend) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(isinstance(result, Lease) for result in results) == 1
    assert sum(isinstance(result, Held) for result in results) == 5


# --- Redis -------------------------------------------------------------------------------------


@pytest.mark.redis
def test_a_redis_lock_has_one_holder_until_it_is_released(redis_locks: RedisLocks) -> None:
    first, second = current_owner(), current_owner()
    taken = redis_locks.acquire("org_sync", first)
    refused = redis_locks.acquire("org_sync", second)

    assert taken == Lease(job="org_sync", owner=first)
    assert isinstance(refused, Held)
    assert refused.holder == str(first)
    assert refused.expires_at is not None
    assert timedelta(seconds=3) < refused.expires_at - utcnow() <= timedelta(seconds=5)

    redis_locks.release(Lease(job="org_sync", owner=second))  # not the holder: nothing happens
    assert isinstance(redis_locks.acquire("org_sync", second), Held)
    redis_locks.release(taken)
    assert redis_locks.acquire("org_sync", second) == Lease(job="org_sync", owner=second)


@pytest.mark.redis
def test_a_redis_lock_renewed_by_its_owner_only_and_lapsing_after_its_ttl(redis_client: redis.Redis) -> None:
    prefix = f"okrhub-test:{uuid.uuid4().hex}:"
    locks = RedisLocks(redis_client, ttl=timedelta(milliseconds=600), prefix=prefix)
    holder = elsewhere()
    lease = locks.acquire("org_sync", holder)
    assert isinstance(lease, Lease)

    time.sleep(0.4)
    assert locks.renew(lease)
    assert not locks.renew(Lease(job="org_sync", owner=current_owner()))
    time.sleep(0.4)
    assert isinstance(locks.acquire("org_sync", current_owner()), Held)  # 0.8 s in, renewed at 0.4 s

    time.sleep(0.4)
    assert isinstance(locks.acquire("org_sync", current_owner()), Lease)  # lapsed: nobody renewed it
    assert not locks.renew(lease)
    redis_client.delete(prefix + "org_sync")


@pytest.mark.redis
def test_a_redis_lock_held_by_a_dead_process_on_this_host_is_taken_at_once(redis_locks: RedisLocks) -> None:
    alive = Owner(host=current_owner().host, pid=os.getpid(), token="a11ve0000000")
    assert isinstance(redis_locks.acquire("org_sync", alive), Lease)
    assert isinstance(redis_locks.acquire("org_sync", current_owner()), Held)
    redis_locks.release(Lease(job="org_sync", owner=alive))

    dead = dead_here()
    assert isinstance(redis_locks.acquire("org_sync", dead), Lease)
    taker = current_owner()
    assert redis_locks.acquire("org_sync", taker) == Lease(
        job="org_sync", owner=taker, previous_owner=str(dead)
    )


@pytest.mark.redis
def test_racing_workers_get_one_redis_lock_between_them(redis_locks: RedisLocks) -> None:
    start = threading.Barrier(8)
    results: list[Lease | Held] = []

    def contend() -> None:
        start.wait()
        results.append(redis_locks.acquire("org_sync", current_owner()))

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(result, Lease) for result in results) == 1


def test_an_unreachable_redis_is_a_transient_error_naming_the_job() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = int(sock.getsockname()[1])
    client = redis.Redis(host="127.0.0.1", port=closed, socket_connect_timeout=1)
    with pytest.raises(TransientError, match="cannot reach Redis for the lock of job `org_sync`"):
        RedisLocks(client).acquire("org_sync", current_owner())


# --- holding -----------------------------------------------------------------------------------


def assert_renewed_while_held_then_released(locks: JobLocks) -> None:
    with hold(locks, "org_sync", current_owner()) as lease:
        assert isinstance(lease, Lease)
        time.sleep(2.5)  # past the TTL: only the renewals keep it
        assert isinstance(locks.acquire("org_sync", elsewhere()), Held)
    assert isinstance(locks.acquire("org_sync", current_owner()), Lease)


def test_a_held_store_lease_is_renewed_in_the_background_and_released_at_the_end(
    store_engine: Engine,
) -> None:
    assert_renewed_while_held_then_released(StoreLeases(store_engine, ttl=timedelta(seconds=1.5)))


@pytest.mark.redis
def test_a_held_redis_lock_is_renewed_in_the_background_and_released_at_the_end(
    redis_client: redis.Redis,
) -> None:
    prefix = f"okrhub-test:{uuid.uuid4().hex}:"
    try:
        assert_renewed_while_held_then_released(
            RedisLocks(redis_client, ttl=timedelta(seconds=1.5), prefix=prefix)
        )
    finally:
        redis_client.delete(prefix + "org_sync")


def test_holding_a_lease_someone_else_has_yields_who_has_it(store_engine: Engine) -> None:
    leases = StoreLeases(store_engine)
    other = elsewhere()
    leases.acquire("org_sync", other)
    with hold(leases, "org_sync", current_owner()) as held:
        assert isinstance(held, Held)
        assert held.holder == str(other)
    assert isinstance(leases.acquire("org_sync", current_owner()), Held)  # still theirs
