"""The selection verdict says whether an object is selected and which plugins vetoed it."""

from __future__ import annotations

from syncpipe.hooks import hookimpl, manager
from syncpipe.hooks.verdict import SelectionVerdict
from syncpipe.model.events import Direction
from tests.unit.hooks.plugins import KEY, OBJ
from tests.unit.hooks.plugins import hooks_with as hooks_in_order


class Opinion:
    def __init__(self, answer: bool | None) -> None:
        self.answer = answer
        self.calls = 0

    @hookimpl
    def syncpipe_select(self) -> bool | None:
        self.calls += 1
        return self.answer


def hooks_with(**plugins: object) -> manager.Hooks:
    return hooks_in_order(*plugins.items())


def verdict(hooks: manager.Hooks) -> SelectionVerdict:
    return hooks.selection_verdict(key=KEY, obj=OBJ, direction=Direction.DOWN)


def test_an_included_object_is_selected_with_no_vetoers() -> None:
    assert verdict(hooks_with(yes=Opinion(True), shrug=Opinion(None))) == SelectionVerdict(True)


def test_an_object_nobody_includes_is_not_selected_and_nobody_vetoed_it() -> None:
    assert verdict(hooks_with(shrug=Opinion(None))) == SelectionVerdict(False, ())


def test_a_veto_names_every_vetoing_plugin_in_pluggys_call_order() -> None:
    hooks = hooks_with(first=Opinion(False), yes=Opinion(True), last=Opinion(False))
    # pluggy calls the last registered implementation first.
    assert verdict(hooks) == SelectionVerdict(False, ("last", "first"))


def test_select_is_the_verdicts_selected_flag() -> None:
    hooks = hooks_with(yes=Opinion(True), no=Opinion(False))
    assert hooks.select(key=KEY, obj=OBJ, direction=Direction.DOWN) is False


def test_an_inclusion_costs_one_call_per_plugin() -> None:
    yes, shrug = Opinion(True), Opinion(None)
    verdict(hooks_with(yes=yes, shrug=shrug))
    assert (yes.calls, shrug.calls) == (1, 1)


def test_a_wrapper_around_select_still_sees_the_common_call() -> None:
    seen: list[object] = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def syncpipe_select(self) -> object:
            result = yield
            seen.append(result)
            return result

    verdict(hooks_with(yes=Opinion(True), wrap=Wrapper()))
    assert seen == [[True]]


def test_vetoers_are_found_when_some_plugins_have_no_opinion() -> None:
    hooks = hooks_with(no=Opinion(False), shrug=Opinion(None), yes=Opinion(True))
    assert verdict(hooks) == SelectionVerdict(False, ("no",))


def test_vetoers_are_read_off_the_answers_when_every_plugin_answered() -> None:
    no, yes = Opinion(False), Opinion(True)
    assert verdict(hooks_with(no=no, yes=yes)) == SelectionVerdict(False, ("no",))
    assert (no.calls, yes.calls) == (1, 1)
