"""One acting replica: a ``coordination.k8s.io/v1`` Lease that a replica must hold before it acts.

Every write to the Lease carries the resourceVersion it read, so of two replicas racing for an
expired Lease the API server lets exactly one win. A holder renews it while reconciling; a replica
that does not hold it acts on nothing and reports itself on standby. If the holder dies, another
takes over once ``duration`` has passed since the last renewal.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from kubernetes import client
from kubernetes.client.exceptions import ApiException


class Lease:
    def __init__(self, api: client.ApiClient, namespace: str, name: str, identity: str, duration: float = 15.0,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> None:
        self.coordination = client.CoordinationV1Api(api)
        self.namespace, self.name, self.identity, self.duration, self.now = namespace, name, identity, duration, now
        self._lock = threading.Lock()
        self._held_until: dt.datetime | None = None

    def held(self) -> bool:
        """Whether this replica may act now (renewing the Lease when a third of it has passed)."""
        with self._lock:
            now = self.now()
            if self._held_until and now < self._held_until - dt.timedelta(seconds=self.duration * 2 / 3):
                return True
            self._held_until = now + dt.timedelta(seconds=self.duration) if self._acquire(now) else None
            return self._held_until is not None

    def _acquire(self, now: dt.datetime) -> bool:
        spec = client.V1LeaseSpec(holder_identity=self.identity, lease_duration_seconds=int(self.duration),
                                  acquire_time=now, renew_time=now)
        try:
            lease = self.coordination.read_namespaced_lease(self.name, self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            try:
                self.coordination.create_namespaced_lease(self.namespace, client.V1Lease(
                    metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace), spec=spec))
                return True
            except ApiException as created:
                if created.status == 409:  # another replica created it first
                    return False
                raise
        current = lease.spec or client.V1LeaseSpec()
        renewed = current.renew_time or current.acquire_time
        expired = renewed is None or renewed + dt.timedelta(seconds=current.lease_duration_seconds or 0) < now
        if current.holder_identity not in (None, "", self.identity) and not expired:
            return False  # another replica holds it (a released Lease has no holder)
        if current.holder_identity == self.identity:
            spec.acquire_time = current.acquire_time or now
        lease.spec = spec  # the read resourceVersion rides along: a concurrent winner makes this a 409
        try:
            self.coordination.replace_namespaced_lease(self.name, self.namespace, lease)
            return True
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise

    def release(self) -> None:
        """Give the Lease up at a clean shutdown, so a standby replica takes over at once."""
        with self._lock:
            self._held_until = None
            try:
                lease = self.coordination.read_namespaced_lease(self.name, self.namespace)
                if lease.spec and lease.spec.holder_identity == self.identity:
                    lease.spec.renew_time = None
                    lease.spec.holder_identity = None
                    self.coordination.replace_namespaced_lease(self.name, self.namespace, lease)
            except ApiException:
                pass  # it expires by itself
