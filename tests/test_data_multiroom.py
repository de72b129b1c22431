"""Multi-room floors (apartments, office floors) of the synthetic benchmark: plans, points, sentences."""
from __future__ import annotations

import numpy as np
import pytest

from tsp3d.data.synth.floorplan import DOOR_WIDTH, KINDS, make_floorplan
from tsp3d.data.synth.multiroom import DENSITY, DOOR_HEIGHT, WALL, make_floor_scene


def _reachable(plan) -> set[int]:
    seen, stack = {0}, [0]
    while stack:
        i = stack.pop()
        for d in plan.doors:
            for a, b in ((d.a, d.b), (d.b, d.a)):
                if a == i and b not in seen:
                    seen.add(b)
                    stack.append(b)
    return seen


@pytest.mark.parametrize("kind,w,d", [("room", 4, 4), ("apartment", 12, 10), ("apartment", 31, 29),
                                      ("office", 24, 18), ("office", 32, 30), ("office", 5, 4)])
def test_floorplan_tiles_the_extent_and_every_cell_is_reachable(kind, w, d):
    plan = make_floorplan(np.random.default_rng(3), w, d, kind)
    cells = plan.cells
    assert sum(c.width * c.depth for c in cells) == pytest.approx(w * d)
    for i, a in enumerate(cells):  # no two cells overlap
        assert 0 <= a.x0 < a.x1 <= w and 0 <= a.y0 < a.y1 <= d
        for b in cells[i + 1:]:
            assert min(a.x1, b.x1) - max(a.x0, b.x0) <= 1e-9 or min(a.y1, b.y1) - max(a.y0, b.y0) <= 1e-9
    assert _reachable(plan) == set(range(len(cells)))
    for door in plan.doors:  # a door lies on the wall its two cells share
        a, b = cells[door.a], cells[door.b]
        lo, hi = (max(a.y0, b.y0), min(a.y1, b.y1)) if door.axis == 0 else (max(a.x0, b.x0), min(a.x1, b.x1))
        assert lo <= door.center - door.width / 2 and door.center + door.width / 2 <= hi
        assert door.width >= DOOR_WIDTH - 1e-9
    if kind == "office" and min(w, d) >= 10:
        assert any(c.kind == "corridor" for c in cells)
    if kind == "apartment" and w * d > 200:
        assert len(cells) >= 6


def test_floorplan_refuses_bad_requests():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="kind"):
        make_floorplan(rng, 10, 10, "castle")
    with pytest.raises(ValueError, match="side"):
        make_floorplan(rng, 2.0, 10, "apartment")
    assert set(KINDS) == {"room", "apartment", "office"}


@pytest.fixture(scope="module")
def floor():
    return make_floor_scene(seed=0, split="val", index=2, width=14.0, depth=11.0, kind="apartment", density=400.0)


def test_floor_scene_is_deterministic_centred_and_dense_as_asked(floor):
    scene, anns = floor
    again, anns2 = make_floor_scene(seed=0, split="val", index=2, width=14.0, depth=11.0, kind="apartment",
                                    density=400.0)
    assert np.array_equal(scene.points, again.points) and [a.text for a in anns] == [a.text for a in anns2]
    other, _ = make_floor_scene(seed=0, split="val", index=3, width=14.0, depth=11.0, kind="apartment", density=400.0)
    assert not np.array_equal(scene.points[:100], other.points[:100])
    xyz = scene.points[:, :3]
    assert np.all(np.abs(xyz[:, 0]) <= 7.0 + 0.02) and np.all(np.abs(xyz[:, 1]) <= 5.5 + 0.02)
    assert abs(scene.points.shape[0] / (14 * 11 * 400) - 1) < 0.03  # door openings remove a little
    assert scene.points.dtype == np.float32 and np.all((scene.points[:, 3:] >= 0) & (scene.points[:, 3:] <= 1))


def test_floor_scene_objects_are_sampled_in_several_rooms(floor):
    scene, _ = floor
    counts = np.bincount(scene.point_objects[scene.point_objects >= 0], minlength=len(scene.labels))
    assert len(scene.labels) >= 15 and counts.min() >= 30
    assert len(set(scene.object_attributes["room"])) >= 3
    assert len(scene.object_attributes["support"]) == len(scene.labels)


def test_door_openings_remove_only_wall_points_in_the_opening():
    from tsp3d.data.synth.floorplan import Door
    from tsp3d.data.synth.multiroom import _door_openings

    door = Door(0, 1, axis=0, at=5.0, center=2.0, width=0.9)  # wall x = 5, opening y in [1.55, 2.45]
    pts = np.array([[5.04, 2.0, 1.0], [4.96, 2.3, 0.5],  # both faces of the wall, in the opening: removed
                    [5.04, 2.6, 1.0], [5.04, 2.0, 2.3],  # beside it, above it: kept
                    [6.0, 2.0, 1.0], [5.04, 2.0, 1.0]], dtype=np.float32)  # away from the wall; an object point
    labels = np.array([-1, -1, -1, -1, -1, 3])
    assert _door_openings(pts, labels, [door]).tolist() == [False, False, True, True, True, True]
    assert WALL / 2 + 0.02 > 0.04 and DOOR_HEIGHT < 2.3


def test_every_floor_sentence_resolves_to_its_target(floor):
    from tsp3d.data.synth import resolve

    scene, anns = floor
    assert 5 <= len(anns) <= 8
    for a in anns:
        r = resolve(a.text, scene)
        assert r.unique and r.target == a.target, (a.text, r)


def test_default_density_gives_twenty_thousand_to_a_million_points():
    small, _ = make_floor_scene(width=4.0, depth=4.0, kind="room")
    assert abs(small.points.shape[0] - 16 * DENSITY) < 200
    with pytest.raises(ValueError, match="points"):
        make_floor_scene(width=64.0, depth=64.0, density=DENSITY)  # 5M points: over the generator's bound
