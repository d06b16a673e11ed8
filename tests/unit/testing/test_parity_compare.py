"""The parity comparison: multisets of writes, named exclusions, one diff line per difference."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncpipe.model.actions import Create, Delete, Patch
from syncpipe.model.events import Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource
from syncpipe.replay import fidelity
from syncpipe.testing.parity import Write, compare, write_of

CM = GroupVersionResource("", "v1", "configmaps")
CONFIGS = GroupVersionResource("edge.kubestellar.io", "v2alpha1", "syncerconfigs")
KEY = ObjectKey(CM, "shop", "a")


def patch(*ops: dict[str, str], subresource: str = "") -> Write:
    return write_of(Patch(side=Side.DOWNSTREAM, key=KEY, ops=ops, subresource=subresource))


REPLACE_A = {"op": "replace", "path": "/data/a", "value": "1"}
REPLACE_B = {"op": "replace", "path": "/data/b", "value": "2"}


def test_a_write_is_its_verb_side_object_subresource_and_operations():
    write = patch(REPLACE_A, subresource="status")
    assert write.target == ("patch", "downstream", "configmaps", "shop/a", "status")
    assert write.ops == ('{"op":"replace","path":"/data/a","value":"1"}',)
    create = write_of(Create(side=Side.UPSTREAM, key=KEY, body={}))
    assert (create.verb, create.side, create.ops) == ("create", "upstream", ())
    assert write_of(Delete(side=Side.DOWNSTREAM, key=KEY, uid="u")).verb == "delete"


def test_the_order_of_a_patchs_operations_does_not_matter_but_each_one_does():
    assert compare([patch(REPLACE_A, REPLACE_B)], [patch(REPLACE_B, REPLACE_A)]).equal
    assert not compare([patch(REPLACE_A, REPLACE_B)], [patch(REPLACE_A)]).equal


def test_a_write_made_twice_is_not_the_same_as_once():
    report = compare([patch(REPLACE_A), patch(REPLACE_A)], [patch(REPLACE_A)])
    assert report.missing == (patch(REPLACE_A),)
    assert report.diff().startswith("missing in replay: patch downstream configmaps shop/a")


def test_the_diff_says_missing_extra_and_differing_ops_one_line_each():
    delete = write_of(Delete(side=Side.DOWNSTREAM, key=KEY, uid="u"))
    create = write_of(Create(side=Side.DOWNSTREAM, key=ObjectKey(CM, "shop", "b"), body={}))
    report = compare([patch(REPLACE_A), delete], [patch(REPLACE_B), create])
    lines = report.diff().splitlines()
    assert lines == [
        "missing in replay: delete downstream configmaps shop/a",
        "differing ops: patch downstream configmaps shop/a: "
        'live only [{"op":"replace","path":"/data/a","value":"1"}], '
        'replay only [{"op":"replace","path":"/data/b","value":"2"}]',
        "extra in replay: create downstream configmaps shop/b",
    ]


def test_bookkeeping_writes_are_left_out_by_name_and_listed():
    heartbeat = Write(
        verb="merge-patch",
        side="upstream",
        resource=CONFIGS.group_resource,
        key="edge1",
        subresource="status",
    )
    report = compare([heartbeat, patch(REPLACE_A)], [patch(REPLACE_A)])
    assert report.equal
    assert report.excluded == ((heartbeat, "bookkeeping writes"),)


def test_every_exclusion_has_a_name_and_a_reason_and_the_report_line_names_them_all():
    names = [entry.name for entry in fidelity.NOT_EMULATED]
    assert len(set(names)) == len(names)
    assert all(entry.reason for entry in fidelity.NOT_EMULATED)
    assert fidelity.summary() == "not compared/emulated: " + ", ".join(names)


values = st.sampled_from(["1", "2", "3"])
paths = st.sampled_from(["/data/a", "/data/b", "/metadata/labels/x"])
ops = st.fixed_dictionaries({"op": st.just("replace"), "path": paths, "value": values})
writes = st.lists(st.lists(ops, min_size=1, max_size=3).map(lambda o: patch(*o)), max_size=6)


@given(writes, writes)
def test_a_comparison_accounts_for_every_write_once(live, replayed):
    report = compare(live, replayed)
    assert len(live) - len(report.missing) == len(replayed) - len(report.extra)
    assert report.equal == (sorted(live) == sorted(replayed))
    assert compare(replayed, live).missing == report.extra
