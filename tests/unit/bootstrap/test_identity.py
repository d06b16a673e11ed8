"""Syncer identities: valid names, stable ids."""

from __future__ import annotations

import pytest

from syncpipe.bootstrap import identity
from syncpipe.bootstrap.identity import SyncerIdentity


def test_a_new_identity_has_eight_random_lowercase_letters():
    one, two = SyncerIdentity.new("edge1"), SyncerIdentity.new("edge1")
    assert one.id.startswith("kubestellar-syncer-edge1-")
    assert len(one.suffix) == 8
    assert one.suffix.isalpha()
    assert one.suffix.islower()
    assert one != two  # 26^8 values: equal only by a miracle


def test_an_id_is_parsed_back_only_for_its_own_name():
    found = SyncerIdentity.from_id("edge1", "kubestellar-syncer-edge1-abcdefgh")
    assert found == SyncerIdentity("edge1", "abcdefgh")
    assert SyncerIdentity.from_id("edge", "kubestellar-syncer-edge1-abcdefgh") is None
    assert SyncerIdentity.from_id("edge1", "kubestellar-syncer-edge1-abc") is None


def test_the_longest_name_still_fits_a_namespace_name():
    longest = "e" * identity.NAME_MAX
    assert len(SyncerIdentity.new(longest).id) == 63
    assert identity.name_problem(longest + "e")


@pytest.mark.parametrize("name", ["Edge1", "edge_1", "-edge", "", "edge."])
def test_names_must_be_dns_labels(name):
    assert identity.name_problem(name)
    with pytest.raises(ValueError, match="DNS-1123"):
        SyncerIdentity(name, "abcdefgh")


def test_labels_find_the_identity_again():
    ident = SyncerIdentity("edge1", "abcdefgh")
    assert ident.labels["syncpipe.io/syncer-gen"] == "edge1"
    assert ident.selector == "syncpipe.io/syncer-gen=edge1"
