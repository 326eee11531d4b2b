"""The dead-letter listing's preview of a body: bounded, and never ending on half a character."""

from helpdesk_shared.messaging.dead_letters import _BODY_PREVIEW, body_preview


def test_a_cut_through_an_accented_character_drops_its_first_half() -> None:
    body = ("a" * (_BODY_PREVIEW - 1) + "é" + "suite").encode()

    preview = body_preview(body)

    assert preview == "a" * (_BODY_PREVIEW - 1)
    assert "\ufffd" not in preview


def test_a_short_body_is_shown_whole() -> None:
    assert body_preview("Écran noir au démarrage".encode()) == "Écran noir au démarrage"


def test_a_short_body_ending_on_a_broken_character_still_shows_it_as_broken() -> None:
    assert body_preview("clé".encode()[:-1]) == "cl\ufffd"


def test_bytes_that_are_not_utf8_show_as_replacement_marks() -> None:
    assert body_preview(b"\xff\xfeok") == "\ufffd\ufffdok"
