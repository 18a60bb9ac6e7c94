"""The card lifecycle, state by state: who may change what, and the state each change leaves."""

import pytest

from bot.domain.lifecycle import Actor, CardStatus, Change, Refusal, refusal, status_after

OPEN, CLAIMED, CALLBACK, RESOLVED = CardStatus
ANA, LUIS = Actor("ana"), Actor("luis")
MARTA = Actor("marta", manager=True)


CASES = [
    # claim: only an open card; a held one names its holder
    (Change.CLAIM, OPEN, None, ANA, CLAIMED),
    (Change.CLAIM, CLAIMED, "luis", ANA, Refusal("ephemeral.already_claimed", CLAIMED, "luis")),
    (Change.CLAIM, CLAIMED, "ana", ANA, Refusal("ephemeral.already_claimed", CLAIMED, "ana")),
    (Change.CLAIM, CALLBACK, "luis", ANA, Refusal("ephemeral.already_claimed", CALLBACK, "luis")),
    (Change.CLAIM, RESOLVED, "luis", ANA, Refusal("ephemeral.not_allowed", RESOLVED)),
    # release: the holder or a manager, of a held card; it opens the card again
    (Change.RELEASE, CLAIMED, "ana", ANA, OPEN),
    (Change.RELEASE, CALLBACK, "ana", ANA, OPEN),
    (Change.RELEASE, CLAIMED, "ana", LUIS, Refusal("ephemeral.not_claimer", CLAIMED, "ana")),
    (Change.RELEASE, CLAIMED, "ana", MARTA, OPEN),
    (Change.RELEASE, CLAIMED, None, LUIS, OPEN),
    (Change.RELEASE, OPEN, None, ANA, Refusal("ephemeral.not_allowed", OPEN)),
    (Change.RELEASE, RESOLVED, "ana", ANA, Refusal("ephemeral.not_allowed", RESOLVED)),
    # resolve: anyone, from any state but resolved
    (Change.RESOLVE, OPEN, None, ANA, RESOLVED),
    (Change.RESOLVE, CLAIMED, "luis", ANA, RESOLVED),
    (Change.RESOLVE, CALLBACK, "luis", ANA, RESOLVED),
    (Change.RESOLVE, RESOLVED, "luis", ANA, Refusal("ephemeral.not_allowed", RESOLVED)),
    # reassign: a held card stays in its kind of hold; an open one becomes claimed
    (Change.REASSIGN, OPEN, None, ANA, CLAIMED),
    (Change.REASSIGN, CLAIMED, "ana", LUIS, CLAIMED),
    (Change.REASSIGN, CALLBACK, "ana", LUIS, CALLBACK),
    (Change.REASSIGN, RESOLVED, "ana", ANA, Refusal("ephemeral.not_allowed", RESOLVED)),
    # callback: from any state but resolved
    (Change.CALLBACK, OPEN, None, ANA, CALLBACK),
    (Change.CALLBACK, CLAIMED, "luis", ANA, CALLBACK),
    (Change.CALLBACK, CALLBACK, "ana", ANA, CALLBACK),
    (Change.CALLBACK, RESOLVED, "ana", ANA, Refusal("ephemeral.not_allowed", RESOLVED)),
    # a note: always, and it changes no state
    (Change.NOTE, OPEN, None, ANA, OPEN),
    (Change.NOTE, CLAIMED, "luis", ANA, CLAIMED),
    (Change.NOTE, CALLBACK, "luis", ANA, CALLBACK),
    (Change.NOTE, RESOLVED, "luis", ANA, RESOLVED),
    # accepting a live transfer is a claim: only an open card; a held one names its holder
    (Change.ACCEPT_TRANSFER, OPEN, None, ANA, CLAIMED),
    (Change.ACCEPT_TRANSFER, CLAIMED, "luis", ANA, Refusal("ephemeral.already_claimed", CLAIMED, "luis")),
    (Change.ACCEPT_TRANSFER, CALLBACK, "luis", ANA, Refusal("ephemeral.already_claimed", CALLBACK, "luis")),
    (Change.ACCEPT_TRANSFER, RESOLVED, "luis", ANA, Refusal("ephemeral.not_allowed", RESOLVED)),
]


@pytest.mark.parametrize(("change", "status", "holder", "actor", "expected"), CASES)
def test_each_change_in_each_state(
    change: Change, status: CardStatus, holder: str | None, actor: Actor, expected: CardStatus | Refusal
) -> None:
    refused = refusal(change, status, holder, actor)
    if isinstance(expected, Refusal):
        assert refused == expected
    else:
        assert refused is None
        assert status_after(change, status) is expected


def test_the_cases_cover_every_change_in_every_state() -> None:
    """A new change or state must come with its cases above."""
    covered = {(case[0], case[1]) for case in CASES}
    assert covered == {(change, status) for change in Change for status in CardStatus}
