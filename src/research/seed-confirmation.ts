/** How often one kept decision holds up: against a champion run, `keeps` is one candidate run's verdict. */
export interface KeepCount {
  keeps: number;
  total: number;
}

export interface KeepRates {
  /** Each candidate run against each champion run. */
  single: KeepCount;
  /** Each unordered pair of candidate runs (two training seeds of one section) against each champion run: kept only if both are. */
  confirmed: KeepCount;
}

/**
 * The Council's noise guard sees evaluation noise (which cases flip), not training noise: a section's score moves
 * with the training seed as much as with a small change of section (docs/tiny-model.md). Requiring a second
 * training seed of the candidate to keep as well is the obvious remedy; this counts what it would do, from runs
 * already trained. A run is never judged against itself, so the candidates and champions may be the same runs
 * (an A/A test, where every keep is a false keep) or two sections (where keeps are the rule's power).
 */
export function keepRates<T>(candidates: readonly T[], champions: readonly T[], keeps: (candidate: T, champion: T) => boolean): KeepRates {
  const single = { keeps: 0, total: 0 };
  const confirmed = { keeps: 0, total: 0 };
  for (const champion of champions) {
    const kept = candidates.filter((c) => c !== champion).map((c) => keeps(c, champion));
    single.total += kept.length;
    single.keeps += kept.filter(Boolean).length;
    for (let i = 0; i < kept.length; i += 1) {
      for (let j = i + 1; j < kept.length; j += 1) {
        confirmed.total += 1;
        if (kept[i] && kept[j]) confirmed.keeps += 1;
      }
    }
  }
  return { single, confirmed };
}

export function formatKeepCount(count: KeepCount): string {
  return `${count.keeps}/${count.total}${count.total > 0 ? ` (${((100 * count.keeps) / count.total).toFixed(0)}%)` : ''}`;
}
