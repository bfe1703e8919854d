import type { SectionValues } from '../research/executor.js';
import type { ParamSpec } from './types.js';

/**
 * The section's values as points in a unit cube, so one step size means the same for every parameter: linear
 * in the range, except for ranges spanning two decades or more (the learning rate), which are logarithmic.
 * Pure.
 */
export const HYPOTHESIS_KEY = 'EXPERIMENT_HYPOTHESIS';

/** One searchable coordinate: a scalar parameter, or one agent's weight inside PER_AGENT_WEIGHTS. */
export interface Axis {
  /** `LORA_RANK`, or `PER_AGENT_WEIGHTS.windu`. */
  key: string;
  spec: ParamSpec;
  agent: string | null;
  /** Every agent of the council, so a weight map written from a scalar names them all. */
  agents: readonly string[];
}

export function axes(specs: readonly ParamSpec[], agents: readonly string[]): Axis[] {
  return specs.flatMap((spec): Axis[] =>
    spec.type === 'agent_weights'
      ? agents.map((agent) => ({ key: `${spec.name}.${agent}`, spec, agent, agents }))
      : [{ key: spec.name, spec, agent: null, agents }],
  );
}

/** Ranges spanning two decades or more (the learning rate) are searched on a log scale. */
export const isLog = (s: ParamSpec) => s.min > 0 && s.max / s.min >= 50;

export function toUnit(spec: ParamSpec, value: number): number {
  const u = isLog(spec)
    ? Math.log(value / spec.min) / Math.log(spec.max / spec.min)
    : (value - spec.min) / (spec.max - spec.min);
  return Math.min(1, Math.max(0, u));
}

export function fromUnit(spec: ParamSpec, u: number): number {
  const c = Math.min(1, Math.max(0, u));
  const raw = isLog(spec) ? spec.min * (spec.max / spec.min) ** c : spec.min + c * (spec.max - spec.min);
  return quantize(spec, raw);
}

/**
 * Values a person would write: integers for int parameters, two significant digits on a log scale (1.2e-5),
 * and about a hundredth of the range otherwise (0.05, 0.25, 1.25). Quantizing keeps "never repeat" meaningful.
 */
export function quantize(spec: ParamSpec, value: number): number {
  let q: number;
  if (spec.type === 'int') q = Math.round(value);
  else if (isLog(spec)) q = Number(value.toPrecision(2));
  else {
    const decimals = Math.max(0, Math.ceil(-Math.log10((spec.max - spec.min) / 100)));
    q = Number(value.toFixed(decimals));
  }
  return Math.min(spec.max, Math.max(spec.min, q));
}

export function readAxis(values: SectionValues, axis: Axis): number {
  const v = values[axis.spec.name];
  if (axis.agent === null) return typeof v === 'number' ? v : axis.spec.baseline;
  if (v !== null && typeof v === 'object') return v[axis.agent] ?? axis.spec.baseline;
  return typeof v === 'number' ? v : axis.spec.baseline;
}

export function writeAxis(values: SectionValues, axis: Axis, value: number): SectionValues {
  if (axis.agent === null) return { ...values, [axis.spec.name]: value };
  const prev = values[axis.spec.name];
  const fill = typeof prev === 'number' ? prev : axis.spec.baseline;
  const weights: Record<string, number> = Object.fromEntries(axis.agents.map((a) => [a, fill]));
  if (prev !== null && typeof prev === 'object') Object.assign(weights, prev);
  return { ...values, [axis.spec.name]: { ...weights, [axis.agent]: value } };
}

/** A configuration's identity, independent of key order and of the hypothesis text. */
export function configKey(values: Record<string, unknown>): string {
  const canon = (v: unknown): unknown => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.keys(v)
          .filter((k) => k !== HYPOTHESIS_KEY)
          .sort()
          .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(canon(values));
}

/** Human form of a value: 1.2e-5 for learning rates, plain otherwise. */
export function showValue(value: unknown): string {
  if (typeof value === 'number') {
    return value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential() : String(value);
  }
  return JSON.stringify(value);
}
