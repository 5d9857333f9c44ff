"""A reservation's reference: eight letters read aloud at the desk."""

from collections import Counter

from strapontin.reservations.models import REFERENCE_ALPHABET, new_reference


def test_a_reference_is_eight_letters_of_its_alphabet_each_drawn_as_often():
    assert 256 % len(REFERENCE_ALPHABET) == 0  # one random byte per letter, unbiased
    references = [new_reference() for _ in range(4000)]
    assert {len(reference) for reference in references} == {8}
    letters = Counter("".join(references))
    assert set(letters) == set(REFERENCE_ALPHABET)
    # 32,000 letters: about 1,000 each; 800 is more than six standard deviations below.
    assert min(letters.values()) > 800
