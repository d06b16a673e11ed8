"""Official Kubernetes clients for the local control planes.

Tests exercise the control planes the way syncpipe does, through the official client. That
client is imported here, inside ``syncpipe.testing`` (outside the import layers), so
``syncpipe.devenv`` stays free of it and the CLI can import devenv cheaply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubernetes import client, config

if TYPE_CHECKING:
    from syncpipe.devenv.controlplane import ControlPlane


def api_client(plane: ControlPlane, token: str | None = None) -> client.ApiClient:
    """An ``ApiClient`` for ``plane``, as the admin or with a bearer ``token``.

    It reads the kubeconfig the control plane wrote, so TLS is verified against the control
    plane's CA exactly as for any other client. Close it when done.
    """
    kubeconfig = plane.admin_kubeconfig if token is None else plane.kubeconfig_for_token(token)
    configuration = client.Configuration()
    # The client's config loaders are unannotated.
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig), client_configuration=configuration, persist_config=False
    )
    return client.ApiClient(configuration)
