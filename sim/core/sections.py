"""The base of every parameter section, the physical bounds fields are held to, and the
field types built on them (:mod:`sim.core.params` and :mod:`sim.core.programme_params`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Probability = float

# Physical bounds, so that whatever validates also runs to its end in bounded memory:
MAX_DAYS_FIELD = 3650.0
"""Longest duration a field may give (ten years)."""
MAX_JOB_HOURS = 2000.0
"""Most hours of work one job may take at one unit (a person-year)."""
MAX_STAFF_PER_10K = 1000.0
"""Most staff of one kind per 10,000 residents (a tenth of the population)."""
MAX_RATE = 1000.0
"""Most events per 1,000 residents per day (one per resident per day)."""

Days = Annotated[float, Field(ge=0, le=MAX_DAYS_FIELD)]
Hours = Annotated[float, Field(ge=0, le=MAX_JOB_HOURS)]
JobHours = Annotated[float, Field(gt=0, le=MAX_JOB_HOURS)]
StaffPer10k = Annotated[float, Field(gt=0, le=MAX_STAFF_PER_10K)]


class FieldError(ValueError):
    """A check across sections (a :class:`sim.core.params.Params` validator) that fails on
    ``field`` (a dotted path): the error carries the field, so a scenario's loader can name
    the file that set it (:func:`sim.core.scenarios._validate`); its text is ``field:
    problem``."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


class Section(BaseModel):
    """Base of every section: frozen, unknown keys rejected, every float finite."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
