"""The upstream Namespace watch follows the selection in the replay driver too (the decision
is the pipeline's): by name where the selection names its namespaces, with the Namespaces of
the copies the syncer still owns, so a deselected namespace's copy goes once upstream's does."""

from __future__ import annotations

from typing import Any

from syncpipe.model.events import Side
from syncpipe.testing.harness import PipelineHarness
from syncpipe.testing.manifests import configmap, namespace_scope_config


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def mailbox(harness: PipelineHarness, *selected: str) -> None:
    for ns in ("shop", "web", "other"):
        harness.upstream.apply(namespace(ns), configmap(ns, "settings", {"k": ns}))
    harness.upstream.apply(namespace_scope_config("edge", list(selected)))


def watched(harness: PipelineHarness) -> set[str]:
    informer = harness.engine.pipeline.upstream_namespaces
    assert informer is not None
    return {key.name for key in informer.store}


def test_the_replay_watches_the_selected_upstream_namespaces_only():
    harness = PipelineHarness()
    mailbox(harness, "shop", "web")
    result = harness.sync()
    assert result.created("v1", "Namespace", "shop")
    assert harness.engine.pipeline.upstream_namespace_scope == {"shop", "web"}
    assert watched(harness) == {"shop", "web"}


def test_a_deselected_namespace_stays_watched_while_its_copy_exists_and_the_copy_follows_it():
    harness = PipelineHarness()
    mailbox(harness, "shop", "web")
    harness.sync()
    harness.upstream.apply(namespace_scope_config("edge", ["shop"]))
    deselected = harness.sync()
    assert deselected.deleted("v1", "ConfigMap", "web/settings", side=Side.DOWNSTREAM)
    assert not deselected.find("v1", "Namespace", "web", verb="delete")
    assert watched(harness) == {"shop", "web"}
    harness.upstream.delete("v1", "ConfigMap", "web/settings")
    harness.upstream.delete("v1", "Namespace", "web")
    gone = harness.sync()
    assert gone.deleted("v1", "Namespace", "web", side=Side.DOWNSTREAM)


def test_a_copy_found_at_start_of_a_namespace_nobody_selects_gets_its_namespace_watched():
    harness = PipelineHarness()
    mailbox(harness, "shop", "web")
    harness.sync()
    # A fresh syncer on that state, selecting only shop: web's copy is still there.
    harness.upstream.apply(namespace_scope_config("edge", ["shop"]))
    harness.sync()
    restarted = harness.at_rest()
    assert not restarted.find("v1", "Namespace", "web", verb="delete")
