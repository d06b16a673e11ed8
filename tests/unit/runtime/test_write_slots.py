"""The write concurrency bounds writes in flight per side, not the workers that reconcile."""

from __future__ import annotations

import threading
import time
from typing import Any

from syncpipe.clients.clusterwriter import ClusterWriter
from syncpipe.config.settings import Settings
from syncpipe.model.actions import Create
from syncpipe.model.events import Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.syncer import reconcile_workers_beyond_writes

CM = GroupVersionResource("", "v1", "configmaps")


class SlowServer:
    """A RestClient stand-in whose creates take a while and count how many overlap."""

    def __init__(self, delay: float = 0.02) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.created = 0

    def create(self, gvr: GroupVersionResource, namespace: str, body: Any) -> Any:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(self.delay)
        with self.lock:
            self.in_flight -= 1
            self.created += 1
        return body


def test_writes_in_flight_never_exceed_the_bound_whatever_the_number_of_threads():
    server = SlowServer()
    writer = ClusterWriter(server, max_in_flight=3)  # type: ignore[arg-type]

    def write(i: int) -> None:
        key = ObjectKey(CM, "ns", f"cm-{i}")
        writer.apply(Create(side=Side.DOWNSTREAM, key=key, body={"metadata": {"name": key.name}}))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.created == 12
    assert server.most == 3  # the bound was reached, never passed


def test_without_a_bound_every_writer_thread_writes_at_once():
    server = SlowServer(delay=0.3)  # long enough for all six to overlap
    writer = ClusterWriter(server)  # type: ignore[arg-type]
    threads = [
        threading.Thread(
            target=writer.apply,
            args=(Create(side=Side.DOWNSTREAM, key=ObjectKey(CM, "ns", f"c{i}"), body={}),),
        )
        for i in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.most == 6


def test_downsync_reconciles_on_more_workers_than_it_writes_with():
    assert reconcile_workers_beyond_writes(Settings(syncer_name="s", write_concurrency=8)) == 4
    assert reconcile_workers_beyond_writes(Settings(syncer_name="s", write_concurrency=1)) == 2
