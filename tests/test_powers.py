"""Powers as items (001, 003, 004, 000): a case needs one item; the squad holding it settles
it on site only as far as it is proficient in it; towns hand back items they cannot
exercise. Off, nothing changes; fully trained with every item held, it is today's
domains-whole model; more items without capacity lower on-site disposal, and hand-back
raises it again by moving cases to the county teams."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sim
from sim.core.kinds import Layer, Tier
from sim.core.model import GovModel
from sim.core.powers import county_share
from sim.errors import ScenarioError
from tests.conftest import REFERENCE

SMALL = {"population.residents": 20_000}
ITEMS = {"powers.items": True}
DAYS = 300


def _model(days: int = DAYS, seed: int = 3, **overrides: Any) -> GovModel:
    p = sim.load_scenario("reform", context=REFERENCE, overrides={**SMALL, **overrides})
    m = GovModel(p, seed=seed, days=days)
    for _ in range(days):
        m.step()
    return m


def _enforcement(m: GovModel) -> dict[str, float]:
    """On-site rate of the enforcement cases resolved, the share the county's squads resolved."""
    L = m.ledger
    enf = ~np.isnan(L.column("resolved")) & (L.column("tier") == Tier.ENFORCEMENT)
    county = m.units.layer[L.column("resolver")[enf]] == Layer.COUNTY
    return {"on_site": float((L.column("on_site")[enf] == 1).mean()), "county": float(county.mean())}


def _summary(**overrides: Any) -> dict[str, float]:
    return sim.run(
        "reform", seed=3, days=150, context=REFERENCE, overrides={**SMALL, **overrides}
    ).summary.to_dict()


def test_off_the_item_parameters_change_nothing() -> None:
    off = _summary()
    explicit = _summary(
        **{
            "powers.items": False,
            "powers.items_per_domain": 7,
            "powers.devolved_share": 0.1,
            "powers.training_cases": 3.0,
            "powers.concentration": 2.0,
        }
    )
    assert explicit == off


def test_every_item_held_and_mastered_is_the_domains_whole_model() -> None:
    # the item draws have their own stream and proficiency 1 leaves the on-site chance as it was
    off = _summary()
    mastered = _summary(**ITEMS, **{"powers.training_cases": 10_000.0})
    assert mastered == off
    assert _summary(**ITEMS)["on_site_disposal_rate"] < off["on_site_disposal_rate"] - 0.2


def test_cases_need_an_item_of_their_categorys_domains_the_common_ones_most() -> None:
    m = _model(days=120, **ITEMS)
    L, n = m.ledger, m.params.powers.items_per_domain
    item = L.column("item")
    drawn = item >= 0
    assert drawn.sum() > 200
    domains = m.catalogue.domains[L.column("category")[drawn]]
    assert np.all((domains == (item[drawn] // n)[:, None]).any(axis=1))
    rank = np.bincount(item[drawn] % n, minlength=n)
    assert rank[:10].sum() > rank[-10:].sum() * 3  # k^-1: the first items far more often
    # only cases that reached the enforcement tier need an item
    assert np.all(L.column("level")[drawn] == Tier.ENFORCEMENT)


@pytest.mark.parametrize("seed", [1, 2])
def test_more_items_devolved_without_capacity_lower_on_site_disposal(seed: int) -> None:
    few = _enforcement(_model(seed=seed, **ITEMS, **{"powers.devolved_share": 0.2}))
    all_ = _enforcement(_model(seed=seed, **ITEMS, **{"powers.devolved_share": 1.0}))
    assert few["county"] > 0.15 and all_["county"] == 0.0  # the rare items' cases left with the county
    assert all_["on_site"] < few["on_site"] - 0.03


def test_training_gives_the_capacity_to_use_devolved_items() -> None:
    untrained = _enforcement(_model(**ITEMS))
    trained = _enforcement(_model(**ITEMS, **{"powers.training_cases": 10.0}))
    assert trained["on_site"] > untrained["on_site"] + 0.1


@pytest.mark.parametrize("seed", [1, 2])
def test_handing_back_unused_items_raises_on_site_disposal_and_moves_cases_to_the_county(seed: int) -> None:
    keep = _model(seed=seed, **ITEMS)
    review = _model(seed=seed, **ITEMS, **{"powers.review_days": 90, "powers.review_rounds": 3})
    assert keep.world.powers is not None and review.world.powers is not None
    assert keep.world.powers.returned == 0
    returned = review.world.powers.returned
    held = review.world.powers.held[review.world.powers.town]
    assert returned > 0 and held.sum() + returned == keep.world.powers.held[keep.world.powers.town].sum()
    before, after = _enforcement(keep), _enforcement(review)
    assert before["county"] == 0.0 and after["county"] > 0.05
    assert after["on_site"] > before["on_site"] + 0.02


def test_reviews_stop_after_the_trial_period() -> None:
    one = _model(days=200, **ITEMS, **{"powers.review_days": 60, "powers.review_rounds": 1})
    three = _model(days=200, **ITEMS, **{"powers.review_days": 60, "powers.review_rounds": 3})
    assert one.world.powers is not None and three.world.powers is not None
    assert 0 < one.world.powers.returned < three.world.powers.returned


def test_the_staff_split_anticipates_the_hand_back() -> None:
    """The county's expected share of a devolved domain's cases grows with the reviews of the
    trial period and shrinks as the towns' cases (their uses of each item) grow."""
    p = sim.load_scenario("reform", overrides={**ITEMS, "powers.review_days": 90})
    shares = [
        county_share(p.model_copy(update={"powers": p.powers.model_copy(update={"review_rounds": n})}), 0.5)
        for n in (1, 2, 4)
    ]
    assert 0 < shares[0] < shares[1] < shares[2] < 1
    assert county_share(p, 5.0) < county_share(p, 0.5)
    assert (
        county_share(p.model_copy(update={"powers": p.powers.model_copy(update={"review_days": 0})}), 0.5)
        == 0
    )


def test_a_review_needs_items() -> None:
    with pytest.raises(ScenarioError, match="powers.review_days"):
        sim.load_scenario("reform", overrides={"powers.review_days": 90})
