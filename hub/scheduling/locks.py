"""Leases that keep two runs of one job from overlapping, renewed while the job runs.

Two kinds, one protocol: `StoreLeases` keeps the lease in the store's `job_state` table (every
mode; SQLite or PostgreSQL), `RedisLocks` in Redis (Celery workers take it first: a cheap check
before the store is touched). A holder renews its lease every third of the TTL from a background
thread; a holder that died stops renewing, and its lease lapses after one TTL. On the same host
a dead holder is noticed at once (its pid is gone), so a restarted scheduler does not wait.

Example:
    ```python
    locks = StoreLeases(engine, ttl=timedelta(minutes=5))
    with hold(locks, "org_sync", owner=current_owner()) as lease:
        if lease is None:
            ...  # someone else runs it: skip and record
        else:
            run()  # lease.previous_owner is a holder that died, if any
    ```
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import redis
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from hub.errors import JobBusy, StoreError, TransientError
from hub.store.engine import begin_write
from hub.store.models import JobState, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Owner:
    """Who holds a lease: host and pid (to tell a dead local holder) plus a unique token."""

    host: str
    pid: int
    token: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        """The owner written as `host:pid:token`, or None when `text` is not one."""
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        return cls(host=parts[0], pid=int(parts[1]), token=parts[2])

    def is_dead_here(self) -> bool:
        """True when the holder ran on this host and its process is gone."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


def current_owner() -> Owner:
    """A fresh owner for this process."""
    return Owner(host=socket.gethostname(), pid=os.getpid(), token=uuid.uuid4().hex[:12])


@dataclass(frozen=True, slots=True)
class Lease:
    """A held lease; `previous_owner` is the holder whose lapsed lease this one replaced."""

    job: str
    owner: Owner
    previous_owner: str | None = None


@dataclass(frozen=True, slots=True)
class Held:
    """The lease is someone else's: who holds it, and until when (if known)."""

    job: str
    holder: str
    expires_at: datetime | None = None

    def describe(self) -> str:
        """One line for the ledger: who runs the job."""
        until = f" (lease until {self.expires_at:%Y-%m-%d %H:%M:%S}Z)" if self.expires_at else ""
        return f"`{self.job}` is already running on {self.holder}{until}"


class JobLocks(Protocol):
    """Where leases live."""

    ttl: timedelta

    def acquire(self, job: str, owner: Owner) -> Lease | Held:
        """Take the lease of `job` for `owner`, or say who holds it."""
        ...

    def renew(self, lease: Lease) -> bool:
        """Extend a held lease by one TTL; False when it was lost meanwhile."""
        ...

    def release(self, lease: Lease) -> None:
        """Give the lease up (a no-op when it is no longer ours)."""
        ...


DEFAULT_TTL = timedelta(minutes=5)
SQLITE_TTL = timedelta(hours=6)


class StoreLeases:
    """Leases in the store's `job_state` table: one row per job."""

    def __init__(
        self, engine: Engine, *, ttl: timedelta | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        """Leases on `engine` lasting `ttl` unless renewed; `clock` is the aware current time.

        The default TTL is 5 minutes, or 6 hours on SQLite: a SQLite store has one writer at a
        time, so a job's long write transaction blocks the renewals (and every rival with them);
        a SQLite store lives on one machine, where a dead holder is noticed by its pid anyway.
        """
        self._engine = engine
        self.ttl = (
            ttl if ttl is not None else (SQLITE_TTL if engine.dialect.name == "sqlite" else DEFAULT_TTL)
        )
        self._clock = clock

    def acquire(self, job: str, owner: Owner) -> Lease | Held:
        """Take the lease when it is free, lapsed, or held by a dead process on this host."""
        try:
            return self._acquire(job, owner)
        except IntegrityError:
            # Another process inserted the row between our read and our insert: it holds the lease.
            return self._acquire(job, owner)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot take the lease of job `{job}`: {exc.__class__.__name__}: {exc}"
            ) from exc

    def _acquire(self, job: str, owner: Owner) -> Lease | Held:
        now = self._clock()
        with begin_write(self._engine) as conn:
            row = conn.execute(
                select(JobState.lease_owner, JobState.lease_expires_at)
                .where(JobState.name == job)
                .with_for_update()
            ).first()
            values = {"lease_owner": str(owner), "lease_expires_at": now + self.ttl}
            if row is None:
                conn.execute(insert(JobState).values(name=job, **values))
                return Lease(job=job, owner=owner)
            holder, expires = row.lease_owner, row.lease_expires_at
            if holder is not None and expires is not None and expires > now:
                parsed = Owner.parse(holder)
                if parsed is None or not parsed.is_dead_here():
                    return Held(job=job, holder=holder, expires_at=expires)
            conn.execute(update(JobState).where(JobState.name == job).values(**values))
            return Lease(job=job, owner=owner, previous_owner=holder)

    def renew(self, lease: Lease) -> bool:
        """Push the lease's expiry one TTL past now, if it is still ours."""
        with begin_write(self._engine) as conn:
            result = conn.execute(
                update(JobState)
                .where(JobState.name == lease.job, JobState.lease_owner == str(lease.owner))
                .values(lease_expires_at=self._clock() + self.ttl)
            )
            return bool(result.rowcount)

    def release(self, lease: Lease) -> None:
        """Clear the lease, if it is still ours."""
        with begin_write(self._engine) as conn:
            conn.execute(
                update(JobState)
                .where(JobState.name == lease.job, JobState.lease_owner == str(lease.owner))
                .values(lease_owner=None, lease_expires_at=None)
            )


_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) "
    "else return 0 end"
)
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisLocks:
    """Locks in Redis: `SET key owner NX PX ttl`, renewed and released only by their owner."""

    def __init__(
        self, client: redis.Redis, *, ttl: timedelta = timedelta(seconds=60), prefix: str = "okrhub:lock:"
    ) -> None:
        """Locks on `client` lasting `ttl` unless renewed, under keys `prefix + job`."""
        self._redis = client
        self.ttl = ttl
        self._prefix = prefix

    def acquire(self, job: str, owner: Owner) -> Lease | Held:
        """Take the lock when nobody holds it (or its holder died on this host)."""
        key = self._prefix + job
        try:
            if self._redis.set(key, str(owner), nx=True, px=self._ttl_ms):
                return Lease(job=job, owner=owner)
            holder_raw = self._redis.get(key)
            holder = holder_raw.decode() if isinstance(holder_raw, bytes) else str(holder_raw or "")
            parsed = Owner.parse(holder)
            if parsed is not None and parsed.is_dead_here():
                # Replace the dead holder's lock only if it is still that holder's.
                pipe_ok = self._redis.eval(_RELEASE, 1, key, holder)
                if pipe_ok and self._redis.set(key, str(owner), nx=True, px=self._ttl_ms):
                    return Lease(job=job, owner=owner, previous_owner=holder)
            pttl = self._redis.pttl(key)
        except redis.RedisError as exc:
            raise TransientError(f"cannot reach Redis for the lock of job `{job}`: {exc}") from exc
        expires = utcnow() + timedelta(milliseconds=pttl) if isinstance(pttl, int) and pttl > 0 else None
        return Held(job=job, holder=holder or "another worker", expires_at=expires)

    def renew(self, lease: Lease) -> bool:
        """Extend the lock by one TTL, if it is still ours."""
        return bool(self._redis.eval(_RENEW, 1, self._prefix + lease.job, str(lease.owner), self._ttl_ms))

    def release(self, lease: Lease) -> None:
        """Delete the lock, if it is still ours."""
        self._redis.eval(_RELEASE, 1, self._prefix + lease.job, str(lease.owner))

    @property
    def _ttl_ms(self) -> int:
        return int(self.ttl.total_seconds() * 1000)


@contextmanager
def hold(locks: JobLocks, job: str, owner: Owner) -> Iterator[Lease | Held]:
    """Acquire, renew every third of the TTL while the block runs, then release."""
    result = locks.acquire(job, owner)
    if isinstance(result, Held):
        yield result
        return
    stop = threading.Event()

    def renew_until_stopped() -> None:
        interval = max(locks.ttl.total_seconds() / 3, 0.5)
        while not stop.wait(interval):
            try:
                if not locks.renew(result):
                    logger.error("job `%s` lost its lease; another process may start it", job)
                    return
            except Exception:  # the next renewal may succeed; the lease lapses only after a TTL
                logger.exception("renewing the lease of job `%s` failed", job)

    renewer = threading.Thread(target=renew_until_stopped, name=f"lease:{job}", daemon=True)
    renewer.start()
    try:
        yield result
    finally:
        stop.set()
        renewer.join()
        try:
            locks.release(result)
        except Exception:
            logger.exception("releasing the lease of job `%s` failed; it lapses in %s", job, locks.ttl)


@contextmanager
def exclusive(engine: Engine, job: str) -> Iterator[Lease]:
    """Hold `job`'s store lease for a run started by hand, so it never overlaps a scheduled one.

    Raises:
        JobBusy: Another process holds the lease; the message says who.
    """
    with hold(StoreLeases(engine), job, current_owner()) as taken:
        if isinstance(taken, Held):
            raise JobBusy(
                f"{taken.describe()}; wait until it ends (`okrhub status` shows it) and run again",
                job=job,
                holder=taken.holder,
            )
        yield taken
