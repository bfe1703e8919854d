"""What the offline planner says about its answer: which parameters mattered so far (Optuna's importance
evaluator over the decided trials) and why a proposed point sits where it does (the best decided trials it agrees
with). Kept apart from planner.py, which only rebuilds the study and asks the sampler.
"""

from __future__ import annotations

import math
from typing import Any

import optuna
from optuna.trial import TrialState

MIN_TRIALS_FOR_IMPORTANCE = 5


def importances(study: optuna.Study) -> dict[str, float] | None:
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    if len(complete) < MIN_TRIALS_FOR_IMPORTANCE or len({t.value for t in complete}) < 2:
        return None
    # A parameter that never changed explains nothing, yet PED-ANOVA would still give it a share: leave it out.
    varied = [k for k in complete[0].params if len({t.params[k] for t in complete}) > 1]
    if not varied:
        return None
    try:
        imp = optuna.importance.get_param_importances(study, params=varied)
    except (RuntimeError, ValueError):
        return None
    return {k: round(float(v), 4) for k, v in imp.items()}


def why_this_point(params: dict[str, Any], study_trials: list[Any], axes: list[dict[str, Any]], sampler: str, startup: bool, startup_trials: int) -> str:
    """Where the point sits relative to the best decided trials: the evidence the sampler acted on."""
    complete = sorted(
        (t for t in study_trials if t.state == TrialState.COMPLETE and not any(c > 0 for c in t.constraints.values())),
        key=lambda t: -t.value,
    )
    if startup or not complete:
        return f"{sampler}: random start-up sample ({len(complete)} feasible decided trials so far, the model starts after {startup_trials})"
    best = complete[: max(1, min(3, len(complete) // 4))]
    near = []
    for axis in axes:
        k = axis["key"]
        vals = [t.params[k] for t in best]
        lo, hi = min(vals), max(vals)
        span = axis["high"] - axis["low"]
        if axis.get("log"):
            inside = math.log(lo) - 0.1 <= math.log(params[k]) <= math.log(hi) + 0.1
        else:
            inside = lo - 0.05 * span <= params[k] <= hi + 0.05 * span
        if inside:
            near.append(k)
    infeasible = sum(1 for t in study_trials if t.state == TrialState.COMPLETE and any(c > 0 for c in t.constraints.values()))
    return (
        f"{sampler}: {len(complete)} feasible decided trials, {infeasible} vetoed; the best "
        f"{len(best)} (score {best[0].value:.3f}{'' if len(best) == 1 else f'..{best[-1].value:.3f}'}) "
        f"agree with this point on {len(near)} of {len(axes)} axes"
        + (f" ({', '.join(near[:6])}{', ...' if len(near) > 6 else ''})" if near else "")
    )
