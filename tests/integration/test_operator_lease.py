"""The operator's Lease on the real kube-apiserver: exactly one replica holds it, a silent holder
loses it after its duration, a clean shutdown hands it over at once."""

from __future__ import annotations

import datetime as dt

from kubernetes import config

from tushare_rollout.devcluster import DevCluster
from tushare_rollout.operator.lease import Lease


class Clock:
    def __init__(self) -> None:
        self.t = dt.datetime.now(dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.t


def test_one_replica_holds_the_lease_and_another_takes_over_only_when_it_may(devcluster: DevCluster,
                                                                             namespace: str) -> None:
    api = config.new_client_from_config(config_file=devcluster.env()["KUBECONFIG"])
    clock = Clock()
    first, second = (Lease(api, namespace, "op", who, duration=15, now=clock) for who in ("first", "second"))
    assert first.held() is True
    assert second.held() is False  # held by first and not expired
    assert first.held() is True  # renewing is fine
    clock.t += dt.timedelta(seconds=10)
    assert second.held() is False
    assert first.held() is True  # renewed at +10 s ...
    clock.t += dt.timedelta(seconds=20)  # ... and silent for 20 s > 15 s: expired
    assert second.held() is True
    assert first.held() is False  # the old holder now stands by
    second.release()
    assert first.held() is True  # a clean hand-over needs no waiting
    holder = api.sanitize_for_serialization(
        __import__("kubernetes").client.CoordinationV1Api(api).read_namespaced_lease("op", namespace))
    assert holder["spec"]["holderIdentity"] == "first"
