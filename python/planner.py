"""The offline planner's sampler: rebuilds an in-memory Optuna study from the trials the TypeScript side
derived from results.tsv, and asks the configured sampler for the next configurations.

One request is a JSON object on stdin; the answer is one JSON line on stdout, `{"event":"result",...}` or
`{"event":"error","message":...}` (exit code 2 when the request itself is wrong). With `--serve`, every stdin
line is a request and every answer one stdout line, so a benchmark pays Python's and Optuna's start-up once.

Deterministic: the same request (seed, sampler, trials in order) gives the same answer. A configuration already
tried (`tried`) is never returned: the sampler is asked again with the repeat left in the study as a running
trial, which pushes the next ask elsewhere.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from planner_explain import MIN_TRIALS_FOR_IMPORTANCE, importances, why_this_point

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
warnings.filterwarnings("ignore", category=FutureWarning)

SAMPLERS = ("tpe", "gp", "cmaes", "random")
# Thirty experiments a night: GP's default of ten random start-up trials would spend a third of them on pure
# exploration, so its model takes over after five decided trials.
STARTUP_TRIALS = 5
# TPE models from the first decided trial, the baseline: a uniform start-up sample over fourteen axes mostly
# lands below the jailbreak floor (six to eight in ten of random search's experiments are vetoed there in the
# planner benchmark), while TPE's first proposals, drawn around the baseline against the uniform prior, stay
# where the hand-set defaults already work.
TPE_STARTUP_TRIALS = 1
# The share of decided trials TPE treats as good. Optuna's default (10%, capped at 25) is one to three trials in a
# night of up to 30, so one lucky evaluation (noise sd of the overall about 0.03) steers the whole model; a
# quarter averages over the noise. Chosen on the planner benchmark's landscapes 0-39 (docs/research-loop.md).
TPE_GOOD_SHARE = 0.25
MAX_ASKS = 64


class RequestError(Exception):
    """The request is malformed: the caller's fault, exit code 2."""


def _distributions(axes: list[dict[str, Any]]) -> dict[str, BaseDistribution]:
    out: dict[str, BaseDistribution] = {}
    for i, axis in enumerate(axes):
        try:
            key, kind, low, high = axis["key"], axis["type"], axis["low"], axis["high"]
        except (KeyError, TypeError) as e:
            raise RequestError(f"axes[{i}] lacks {e}: each axis needs key, type, low, high") from None
        if kind == "int":
            out[key] = IntDistribution(int(low), int(high))
        elif kind == "float":
            out[key] = FloatDistribution(float(low), float(high), log=bool(axis.get("log", False)))
        else:
            raise RequestError(f"axes[{i}] ({key}): type must be int or float, not {kind!r}")
    return out


def quantize(axis: dict[str, Any], value: float) -> float | int:
    """The same rounding as src/planner/search-space.ts `quantize`, so both sides agree on what repeats."""
    low, high = axis["low"], axis["high"]
    if axis["type"] == "int":
        q: float | int = int(round(value))
    elif axis.get("log"):
        q = float(f"{value:.1e}")
    else:
        decimals = max(0, math.ceil(-math.log10((high - low) / 100)))
        q = round(value, decimals)
    return min(high, max(low, q))


def _trial_label(t: dict[str, Any], i: int) -> str:
    label = t.get("label")
    return label if isinstance(label, str) and label else f"trials[{i}]"


def _frozen_trials(trials: list[dict[str, Any]], dists: dict[str, BaseDistribution]) -> list[Any]:
    frozen = []
    for i, t in enumerate(trials):
        where = _trial_label(t, i)
        params = t.get("params")
        if not isinstance(params, dict):
            raise RequestError(f"{where}: params must be an object of axis name to value")
        missing = [k for k in dists if k not in params]
        if missing:
            raise RequestError(f"{where}: params lack {', '.join(missing)}")
        for k, v in params.items():
            if k not in dists:
                raise RequestError(f"{where}: {k} is not an axis of the search space")
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not dists[k]._contains(dists[k].to_internal_repr(v)):
                raise RequestError(f"{where}: {k}={v!r} is outside the search space ({dists[k]})")
        state = t.get("state")
        kwargs: dict[str, Any] = {"params": params, "distributions": dists}
        if state == "complete":
            value = t.get("value")
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise RequestError(f"{where}: a complete trial needs a finite value, got {value!r}")
            kwargs.update(value=float(value), state=TrialState.COMPLETE)
            constraints = t.get("constraints")
            if constraints is not None:
                if not isinstance(constraints, dict) or not all(isinstance(c, (int, float)) for c in constraints.values()):
                    raise RequestError(f"{where}: constraints must map a name to a number")
                kwargs["constraints"] = {k: float(c) for k, c in constraints.items()}
        elif state == "fail":
            kwargs["state"] = TrialState.FAIL
        elif state == "running":
            kwargs["state"] = TrialState.RUNNING
        else:
            raise RequestError(f"{where}: state must be complete, fail or running, not {state!r}")
        frozen.append(create_trial(**kwargs))
    return frozen


def _good_trials(n: int) -> int:
    return min(max(1, math.ceil(TPE_GOOD_SHARE * n)), 25)


def _sampler(name: str, seed: int, history: list[Any]) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        # Independent (univariate) TPE, not Optuna 5's multivariate default: with at most thirty trials over
        # fourteen axes, a joint kernel density has too few points to learn interactions, while each axis's
        # good region is learnt from every trial. Constant liar still applies to running trials.
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=TPE_STARTUP_TRIALS,
            multivariate=False,
            gamma=_good_trials,
            constant_liar=True,
        )
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "gp":
        try:
            import scipy  # noqa: F401
            import torch  # noqa: F401
        except ImportError as e:
            raise RequestError(
                f"planner.sampler gp needs torch and scipy in the project's venv ({e}); "
                "install them with `.venv/bin/pip install torch scipy`, or choose tpe, cmaes or random"
            ) from None
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=STARTUP_TRIALS)
    if name == "cmaes":
        # The study is rebuilt from results.tsv on every call, so CMA-ES's own generations are lost: it is
        # warm-started from the decided trials instead (WS-CMA-ES), which estimates its mean and covariance
        # from the best of them (WS-CMA-ES selects its top 10%, so it needs ten); before that it starts at
        # the best decided configuration.
        complete = [t for t in history if t.state == TrialState.COMPLETE]
        if len(complete) >= 10:
            return optuna.samplers.CmaEsSampler(seed=seed, source_trials=complete, warn_independent_sampling=False)
        x0 = max(complete, key=lambda t: t.value).params if complete else None
        return optuna.samplers.CmaEsSampler(seed=seed, x0=x0, sigma0=0.2 if x0 else None, warn_independent_sampling=False)
    raise RequestError(f"sampler must be one of {', '.join(SAMPLERS)}, not {name!r}")


def _startup(sampler: str) -> int:
    return TPE_STARTUP_TRIALS if sampler == "tpe" else STARTUP_TRIALS


def _key(params: dict[str, Any], keys: list[str]) -> str:
    return json.dumps([params[k] for k in keys])


def propose(request: dict[str, Any]) -> dict[str, Any]:
    axes = request.get("axes")
    if not isinstance(axes, list) or not axes:
        raise RequestError("axes must be a non-empty list")
    dists = _distributions(axes)
    keys = list(dists)
    seed = request.get("seed", 0)
    if not isinstance(seed, int) or seed < 0:
        raise RequestError("seed must be a non-negative integer")
    n = request.get("candidates", 1)
    if not isinstance(n, int) or not 1 <= n <= 16:
        raise RequestError("candidates must be an integer from 1 to 16")
    trials = request.get("trials", [])
    if not isinstance(trials, list):
        raise RequestError("trials must be a list")
    tried_list = request.get("tried", [])
    if not isinstance(tried_list, list):
        raise RequestError("tried must be a list of params objects")
    history = _frozen_trials(trials, dists)
    name = request.get("sampler", "tpe")
    # One stream per history length: with the same seed every call, a sampler would replay the same random
    # draws and spend a growing number of asks on points already tried.
    stream = (seed * 1_000_003 + len(history)) % 2**32
    sampler = _sampler(name, stream, history)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.add_trials(history)
    tried = {_key(t.params, keys) for t in history}
    for i, p in enumerate(tried_list):
        if not isinstance(p, dict) or any(k not in p for k in keys):
            raise RequestError(f"tried[{i}] must give a value for every axis")
        tried.add(_key({k: quantize(a, p[k]) for k, a in zip(keys, axes)}, keys))

    decided = sum(1 for t in history if t.state in (TrialState.COMPLETE, TrialState.FAIL))
    startup = name == "random" or (name in ("tpe", "gp") and sum(1 for t in history if t.state == TrialState.COMPLETE) < _startup(name))
    fallback = optuna.samplers.RandomSampler(seed=(stream + 1) % 2**32)
    candidates = []
    asks = 0
    while len(candidates) < n and asks < 2 * MAX_ASKS:
        # After MAX_ASKS repeats the model is stuck on tried points: random sampling finishes the job.
        if asks == MAX_ASKS:
            study.sampler = fallback
        asks += 1
        trial = study.ask(dists)
        params = {k: quantize(a, trial.params[k]) for k, a in zip(keys, axes)}
        key = _key(params, keys)
        # The asked trial stays RUNNING either way: a repeat steers the next ask away from it, an accepted
        # candidate makes the following candidates spread out (constant liar).
        if key in tried:
            continue
        tried.add(key)
        why = why_this_point(params, history, axes, name, startup, _startup(name)) if asks <= MAX_ASKS else f"random fallback after {MAX_ASKS} repeats from {name}"
        candidates.append({"params": params, "why": why})
    if not candidates:
        return {"event": "result", "candidates": [], "exhausted": True, "decided": decided, "importances": None}
    return {"event": "result", "candidates": candidates, "exhausted": False, "decided": decided, "importances": importances(_decided_study(history))}


def _decided_study(history: list[Any]) -> optuna.Study:
    """The complete trials alone: importance is a property of what was measured, not of what is in flight."""
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.add_trials([t for t in history if t.state == TrialState.COMPLETE])
    return study


def importance(request: dict[str, Any]) -> dict[str, Any]:
    axes = request.get("axes")
    if not isinstance(axes, list) or not axes:
        raise RequestError("axes must be a non-empty list")
    dists = _distributions(axes)
    trials = request.get("trials", [])
    if not isinstance(trials, list):
        raise RequestError("trials must be a list")
    history = _frozen_trials(trials, dists)
    study = _decided_study(history)
    return {"event": "result", "importances": importances(study), "complete": len(study.trials), "minimum": MIN_TRIALS_FOR_IMPORTANCE}


def handle(line: str) -> tuple[dict[str, Any], int]:
    try:
        request = json.loads(line)
        if not isinstance(request, dict):
            raise RequestError("the request must be a JSON object")
        command = request.get("command")
        if command == "propose":
            return propose(request), 0
        if command == "importance":
            return importance(request), 0
        raise RequestError(f"command must be propose or importance, not {command!r}")
    except json.JSONDecodeError as e:
        return {"event": "error", "message": f"the request is not JSON: {e}"}, 2
    except RequestError as e:
        return {"event": "error", "message": str(e)}, 2
    except Exception as e:  # noqa: BLE001 - a sampler's own failure is reported, and --serve keeps serving
        return {"event": "error", "message": f"{type(e).__name__}: {e}"}, 1


def main(argv: list[str]) -> int:
    if argv[1:] == ["--serve"]:
        for line in sys.stdin:
            if not line.strip():
                continue
            answer, _ = handle(line)
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
        return 0
    if argv[1:]:
        sys.stdout.write(json.dumps({"event": "error", "message": "usage: planner.py [--serve] < request.json"}) + "\n")
        return 2
    answer, code = handle(sys.stdin.read())
    sys.stdout.write(json.dumps(answer) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
