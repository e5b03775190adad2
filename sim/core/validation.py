"""Reduced configurations whose answers queueing theory knows, and those answers.

:func:`mmc_scenario` strips the model down to an M/M/c queue: residents report every
issue at once to a command centre that triages in no time, one department of
``servers`` staff works round the clock, service is exponential, nothing grows,
bounces or is lost. The mean time in system then follows Erlang C
(:func:`mmc_mean_time_in_system`), which the tests check the model against.
"""

from __future__ import annotations

from scipy import stats

from sim.core.params import Params

_ROUND_THE_CLOCK = {"start_hour": 0, "hours_per_day": 24, "days_per_week": 7}


def mmc_scenario(arrival_rate_per_day: float, service_rate_per_day: float, servers: int) -> Params:
    """The model reduced to an M/M/c queue.

    Args:
        arrival_rate_per_day: λ, issues a day.
        service_rate_per_day: μ, cases one server completes a day.
        servers: c, the department's staff.
    """
    residents = 10_000
    tree = {
        "name": "mmc",
        "growth": False,
        "service_distribution": "exponential",
        "population": {
            "residents": residents,
            "towns": 1,
            "county_travel_hours": 0.0,
            "town_travel_hours": 0.0,
        },
        "domains": ["service"],
        "categories": {
            "job": {
                "rate_per_1000_per_day": arrival_rate_per_day * 1000.0 / residents,
                "domains": ["service"],
                "initial_level": [0.0, 0.0, 1.0, 0.0],
                "max_level": "department",
                "growth_days": 1e9,
                "detectability": 0.0,
                "self_report_probability": 1.0,
                "self_report_delay_days": 0.0,
                "service_hours": [1.0, 1.0, 24.0 / service_rate_per_day, 1.0],
            }
        },
        "residents": {"willingness_mean": 1.0, "learning_rate": 0.0, "channel_shares": {"hotline": 1.0}},
        "service_requests": {"rate_per_1000_per_day": 0.0, "steps_probabilities": [1.0]},
        "calendar": {k: _ROUND_THE_CLOCK for k in ("grid", "office", "enforcement", "centre")},
        "grid": {"patrollers_per_grid": 0},
        "dispatch": {
            "command_centre": True,
            "triage_hours": 0.0,
            "misroute_probability": 0.0,
            "handoff_loss_probability": 0.0,
            "verification_days": 0.0,
        },
        "departments": {
            "location": "town",
            "groups": [["service"]],
            "staff_per_10k": float(servers),
            "inspection_rate": 0.0,
        },
        "one_window": {"enabled": False},
    }
    return Params.model_validate(tree)


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Probability that an arrival waits in an M/M/c queue (Erlang C)."""
    a = arrival_rate / service_rate
    rho = a / servers
    if rho >= 1:
        raise ValueError(f"unstable queue: utilisation {rho:.3f} >= 1")
    top = stats.poisson.pmf(servers, a) / (1 - rho)
    return float(top / (stats.poisson.cdf(servers - 1, a) + top))


def mmc_mean_time_in_system(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time in system W = C / (cμ - λ) + 1/μ of an M/M/c queue."""
    c = erlang_c(arrival_rate, service_rate, servers)
    return c / (servers * service_rate - arrival_rate) + 1.0 / service_rate
