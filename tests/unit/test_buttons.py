from deviceflow.manualclock import ManualClock
from buttons import ButtonWatcher
from rng import Rng


class Pin:
    def __init__(self):
        self.v = 0

    def value(self):
        return self.v


def test_a_press_is_reported_once_after_debounce():
    clock = ManualClock()
    pin = Pin()
    w = ButtonWatcher({"new_code": pin}, clock)
    assert w.poll() == []
    pin.v = 1
    assert w.poll() == []  # first sight of "down": not yet
    clock.advance(25)
    assert w.poll() == ["new_code"]
    clock.advance(25)
    assert w.poll() == []  # held: no repeat
    pin.v = 0
    w.poll()
    pin.v = 1
    w.poll()
    clock.advance(25)
    assert w.poll() == ["new_code"]


def test_a_glitch_shorter_than_debounce_is_ignored():
    clock = ManualClock()
    pin = Pin()
    w = ButtonWatcher({"b": pin}, clock)
    pin.v = 1
    w.poll()
    clock.advance(5)
    pin.v = 0
    assert w.poll() == []
    clock.advance(50)
    assert w.poll() == []


def test_rng_is_deterministic_and_in_range():
    a, b = Rng(7), Rng(7)
    xs = [a() for _ in range(200)]
    assert xs == [b() for _ in range(200)]
    assert all(0 <= x < 1 for x in xs)
    assert len(set(xs)) > 190
    assert Rng(8)() != xs[0]


def test_nearby_seeds_give_unrelated_first_draws():
    firsts = [Rng(seed)() for seed in range(1, 50)]
    assert max(firsts) - min(firsts) > 0.5  # not bunched in one corner of [0, 1)
    assert len(set(int(x * 10) for x in firsts)) >= 8
