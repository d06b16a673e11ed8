"""The discovery packaged for the in-memory harness is what a real kube-apiserver 1.20.2
serves, short names included; a CRD's resources read from its object (as the replay reads
them) are what the server's discovery says about them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syncpipe.clients import discovery
from syncpipe.clients.connect import ClusterAccess, load_configuration
from syncpipe.clients.rest import RestClient
from syncpipe.replay import capture
from syncpipe.replay.served import infos_of_crd
from syncpipe.testing import create_established
from syncpipe.testing.harness import kube_apiserver_discovery
from syncpipe.testing.manifests import crd


@pytest.fixture(scope="module")
def rest(upstream) -> Iterator[RestClient]:
    access = ClusterAccess(kubeconfig=str(upstream.admin_kubeconfig), label="upstream")
    client = RestClient(load_configuration(access), label="upstream")
    yield client
    client.close()


def test_the_packaged_discovery_is_the_servers(rest: RestClient):
    packaged = kube_apiserver_discovery()
    live = capture.describe_side(rest)
    assert live.server_version == packaged.server_version
    groups = {info.gvr.group for info in packaged.discovery}
    served = {info for info in live.discovery if info.gvr.group in groups}
    assert set(packaged.discovery) == served
    by_resource = {info.gvr.resource: info for info in packaged.discovery}
    assert {"deploy"} <= by_resource["deployments"].short_names
    assert {"cm"} <= by_resource["configmaps"].short_names


def test_a_crds_short_names_read_from_its_object_are_what_discovery_serves(rest: RestClient):
    body = crd("contract-short.syncpipe.io", "sprockets", "Sprocket", namespaced=True, status=True)
    body["spec"]["names"]["shortNames"] = ["spr", "sk"]
    create_established(rest, body)
    found = discovery.discover(rest, groups={"contract-short.syncpipe.io"})
    (served,) = [i for i in found.resources if i.gvr.resource == "sprockets"]
    assert infos_of_crd(body) == (served,)
    assert served.short_names == {"spr", "sk"}
