"""The reform switches, declared once: each mechanism of governance a scenario can turn
on, the parameters that set it, the modules where it acts and its source.

Everything that lists "the mechanisms" derives from :data:`SWITCHES` or is checked
against it by a test: the attribution's groups (:mod:`sim.experiments.attribution`),
the dashboard's switches, and the tables of ``scenarios/README.md`` and ``docs/ODD.md``
(:func:`markdown_table`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Switch:
    """One mechanism.

    Attributes:
        name: its identifier (attribution rows, dashboard controls).
        label: what it is, in words.
        paths: the parameter paths it owns; a path ending in ``.`` is a prefix (the
            first switch whose paths match a parameter owns it).
        acts_in: the modules whose behaviour it changes.
        source: the seed documents (``../shared/seeds/``) or *assumption*.
        toggle: the boolean parameter that turns it on, if one does.
        requires: a switch it cannot act without; attribution switches the two together.
    """

    name: str
    label: str
    paths: tuple[str, ...]
    acts_in: tuple[str, ...]
    source: str
    toggle: str | None = None
    requires: str | None = None

    def owns(self, path: str) -> bool:
        """Whether the parameter ``path`` belongs to this switch."""
        return any(path == p or (p.endswith(".") and path.startswith(p)) for p in self.paths)


_M = "sim.core.mechanisms."

SWITCHES: tuple[Switch, ...] = (
    Switch(
        "separation",
        "patrol–handling separation (巡办分离): patrollers only patrol, leaders handle",
        ("grid.separation",),
        ("sim.core.agents", _M + "discovery"),
        "001",
        toggle="grid.separation",
    ),
    Switch(
        "service_lists",
        "service lists: the categories the grid and the village may settle themselves (the rest go up)",
        ("grid.settles", "village.settles"),
        ("sim.core.catalogue",),
        "001, 000",
    ),
    Switch(
        "grid_police",
        'grid police officers ("4+N"): settle and report the public-security categories in the grid',
        ("grid.police_per_grid", "grid.police_categories"),
        ("sim.core.units", "sim.core.catalogue", _M + "discovery"),
        "001; the categories and the officer's detection an assumption",
    ),
    Switch(
        "grid_supervisor",
        'grid supervisors ("4+N"): check resolutions and reopen poor ones',
        ("grid.supervisors_per_grid", "grid.check_hours"),
        (_M + "supervision", "sim.core.staffing"),
        "001; check hours and the poor-resolution rate an assumption",
    ),
    Switch(
        "grid_team",
        'the grid team ("4+N"): patrollers, leaders, volunteers',
        ("grid.",),
        ("sim.core.agents", _M + "discovery"),
        "001",
    ),
    Switch(
        "village_staff",
        "village (community) staff who settle the village's issues (大事不出村)",
        ("village.",),
        ("sim.core.units", _M + "handling"),
        "001; staff numbers an assumption",
    ),
    Switch(
        "command_centre",
        "a command centre triages and dispatches instead of the hierarchy (and the hierarchy's hand-offs)",
        (
            "dispatch.command_centre",
            "dispatch.sub_centres",
            "dispatch.centre_staff_per_10k",
            "dispatch.triage_hours",
            "dispatch.handoff_days",
            "dispatch.misroute_probability",
            "dispatch.handoff_loss_probability",
            "dispatch.max_bounces",
            "dispatch.bounce_assessment_hours",
            "dispatch.escalation_assessment_hours",
            "dispatch.verification_days",
        ),
        ("sim.core.units", _M + "dispatch", _M + "handling"),
        "001, 000, 003",
        toggle="dispatch.command_centre",
    ),
    Switch(
        "deadline_watch",
        "the command centre watches deadlines (supervised cases worked in overtime)",
        ("dispatch.deadline_watch", "dispatch.overtime_hours_per_day"),
        (_M + "handling", "sim.core.units"),
        "MODEL.md §3",
        toggle="dispatch.deadline_watch",
        requires="command_centre",
    ),
    Switch(
        "lead_department",
        'a lead department runs a cross-department "one thing" in parallel',
        ("departments.lead_department", "departments.lead_coordination_hours"),
        (_M + "handling", _M + "one_window"),
        "004",
    ),
    Switch(
        "duty_list",
        "a duty list fixes each item's owner (less misrouting; town-led items)",
        ("departments.duty_list_coverage", "departments.town_domains"),
        (_M + "dispatch", "sim.core.units"),
        "003, 004",
    ),
    Switch(
        "merged_departments",
        "merged town bureaus instead of county line departments",
        ("departments.location", "departments.groups"),
        ("sim.core.units", _M + "discovery"),
        "003",
    ),
    Switch(
        "staff_moved_down",
        "department staff moved from the county to the towns",
        ("departments.moved_down_per_town",),
        ("sim.core.units",),
        "003",
    ),
    Switch(
        "department_staff",
        "department staffing and inspections",
        ("departments.",),
        ("sim.core.units", _M + "discovery"),
        "assumption",
    ),
    Switch(
        "comprehensive_enforcement",
        "a comprehensive squad with devolved penalty powers instead of line teams",
        ("enforcement.",),
        ("sim.core.units", _M + "enforcement", _M + "handling"),
        "001, 000, 004",
    ),
    Switch(
        "powers_as_items",
        "powers as items: a case needs one item, held by the town squad or the county team, used on site "
        "only with the squad's proficiency in it; towns hand back items they cannot exercise",
        ("powers.",),
        (_M + "powers", _M + "dispatch", _M + "enforcement", "sim.core.agents", "sim.core.units"),
        "001, 003, 004, 000; proficiency an assumption",
        toggle="powers.items",
    ),
    Switch(
        "one_window",
        "one window takes service requests and routes them behind the counter",
        ("one_window.",),
        (_M + "one_window", "sim.core.units"),
        "000, 004",
        toggle="one_window.enabled",
    ),
    Switch(
        "cluster_centre",
        "the cluster's own centre (片区组团): its villages' staff serve one queue there, and its joint "
        "meetings (八联: 事务联商、会议联席) settle listed cross-community cases every `meeting_days` days",
        ("clusters.centre", "clusters.joint_settles", "clusters.meeting_days", "clusters.meeting_hours"),
        ("sim.core.units", "sim.core.catalogue", _M + "dispatch", _M + "handling", _M + "meetings"),
        "002; cadence and meeting hours an assumption",
        toggle="clusters.centre",
    ),
    Switch(
        "clusters",
        "neighbouring villages pool their grid teams (片区组团)",
        ("clusters.",),
        ("sim.core.units", _M + "handling"),
        "002",
    ),
    Switch(
        "professional_grids",
        "public-security, fire and safety grids beside the basic grids, each patrolling its categories",
        ("professional_grids.",),
        (_M + "discovery", _M + "professional_grids", "sim.core.staffing"),
        "001; categories, fire share and patrollers an assumption",
        toggle="professional_grids.enabled",
    ),
    Switch(
        "assessment",
        "two-way assessment (双向考核): towns and county departments rate each other; poor scores answered",
        ("assessment.",),
        (_M + "assessment", _M + "handling", _M + "dispatch"),
        "004; strengths an assumption",
        toggle="assessment.enabled",
    ),
    Switch(
        "calendar",
        "working calendars of each kind of staff",
        ("calendar.",),
        ("sim.core.units", "sim.core.agents", _M + "discovery"),
        "assumption",
    ),
)
"""Every switch, in the order that decides which owns a parameter path."""

BY_NAME: dict[str, Switch] = {s.name: s for s in SWITCHES}


def switch_of(path: str) -> str:
    """The switch that owns a parameter path, or the path's section when none does."""
    for s in SWITCHES:
        if s.owns(path):
            return s.name
    return path.split(".", 1)[0]


def markdown_table() -> str:
    """The switches as a Markdown table (as ``scenarios/README.md`` and the ODD show it)."""
    rows = ["| switch | what it is | parameters | acts in | source |", "|---|---|---|---|---|"]
    for s in SWITCHES:
        params = ", ".join(f"`{p}*`" if p.endswith(".") else f"`{p}`" for p in s.paths)
        acts = ", ".join(f"`{m.removeprefix('sim.core.')}`" for m in s.acts_in)
        rows.append(f"| `{s.name}` | {s.label} | {params} | {acts} | {s.source} |")
    return "\n".join(rows) + "\n"
