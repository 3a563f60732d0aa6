"""Detectors of the LR schedule over the whole planned run, beyond the steps observed."""

from __future__ import annotations

from diagnose.evidence import Evidence
from diagnose.probes.sections import ProjectedSchedule
from diagnose.rules.findings import Finding, NotEvaluated, detector, observed

PLANNED_FROM = {
    "loop": "the length of the loop around the passes over the training data",
    "passes": (
        "at least the epochs the observed run saw end, as the script's epoch count could not be "
        "read"
    ),
    "horizon": "the length the scheduler was given",
}


@detector
def lr_schedule_collapses_projected(
    ev: Evidence, min_drop: float = 1e-3, within: float = 0.5
) -> Finding:
    """The schedule, projected over the run's planned length, falls below ``min_drop`` of its peak
    before ``within`` of the run and stays there through at least ``within`` of it: most of the run
    would then train at a rate too small to learn with. A decay that reaches ~0 at the planned end
    (cosine or linear to zero, OneCycleLR) crosses the threshold only in the last few percent."""
    section = observed(ev, "schedule")
    if not section.schedulers:
        return Finding.no("no torch.optim.lr_scheduler scheduler was stepped")
    projected = [s for s in section.schedulers if s.planned_steps and s.lrs]
    if not projected:
        raise NotEvaluated(
            "; ".join(f"{s.cls}: {s.note}" for s in section.schedulers if s.note)
            or "no schedule could be projected"
        )
    for schedule in projected:
        found = _collapse(schedule, min_drop)
        if found is None:
            continue
        step, peak = found
        planned = schedule.planned_steps or 0
        if step < within * planned <= schedule.steps[-1]:
            share = step / planned
            return Finding.yes(
                0.8 + 0.2 * (1 - share / within),
                _detail(schedule, step, peak, share, min_drop),
                where="scheduler",
            )
    return Finding.no(
        "; ".join(
            f"{s.cls}: {s.lrs[0]:.3g} → {s.lrs[-1]:.3g} over {s.planned_steps} planned steps"
            for s in projected
        )
    )


def _collapse(schedule: ProjectedSchedule, min_drop: float) -> tuple[int, float] | None:
    """The first step from which the LR stays below ``min_drop`` of its peak to the end of the
    curve, and that peak; None when it never does."""
    peak = max([*schedule.lrs, schedule.base_lr or 0.0])
    if not peak > 0:
        return None
    first = None
    for index in range(len(schedule.lrs) - 1, -1, -1):
        if not schedule.lrs[index] < min_drop * peak:  # NaN counts as not collapsed
            break
        first = index
    return (schedule.steps[first], peak) if first is not None else None


def _detail(
    schedule: ProjectedSchedule, step: int, peak: float, share: float, min_drop: float
) -> str:
    per_epoch = schedule.steps_per_epoch
    rate = (
        ""
        if per_epoch is None
        else (
            ", stepped once per epoch"
            if round(per_epoch) == 1
            else f", stepped {per_epoch:.0f} times per epoch"
        )
    )
    epochs = f" over {schedule.planned_epochs} epochs" if schedule.planned_epochs else ""
    basis = PLANNED_FROM.get(schedule.planned_from, "unknown")
    end = (
        f"to the planned end ({schedule.lrs[-1]:.2g})"
        if not schedule.stopped
        else f"through step {schedule.steps[-1]} ({schedule.lrs[-1]:.2g}; the projection stopped: "
        f"{schedule.stopped})"
    )
    return (
        f"{schedule.cls}{rate}: projected over the run's planned {schedule.planned_steps} "
        f"steps{epochs} ({basis}), the learning rate falls below {min_drop:g}x its peak {peak:.3g} "
        f"by step {step} ({share:.0%} of the run) and stays there {end}; {schedule.observed_steps} "
        "steps were observed"
    )
