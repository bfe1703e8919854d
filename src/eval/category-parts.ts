import { mean } from '../stats/averages.js';
import { CATEGORIES, type Category, type EvalSummary } from './summary.js';

/**
 * What one category contributes to a summary's overall. Overall is the mean over agents of each agent's mean over
 * its dev cases, so a category weighs its share of an agent's cases (3 of 18 for identity in the example suite), not
 * a fifth; `part` is its weighted score and the parts add up to overall.
 */
export interface CategoryPart {
  weight: number;
  part: number;
}

export function categoryParts(summary: EvalSummary): Record<Category, CategoryPart> {
  const agents = Object.keys(summary.perAgent);
  const dev = summary.cases.filter((c) => c.split === 'dev');
  const parts = Object.fromEntries(CATEGORIES.map((c) => [c, { weight: 0, part: 0 }])) as Record<Category, CategoryPart>;
  for (const agent of agents) {
    const own = dev.filter((c) => c.agent === agent);
    for (const c of own) {
      parts[c.category].weight += 1 / own.length / agents.length;
      parts[c.category].part += c.score / own.length / agents.length;
    }
  }
  return parts;
}

/** A candidate section's lead over a baseline section in one category, in points of overall, and the most it could be. */
export interface CategoryLead {
  lead: number;
  /** The lead if the candidate scored every case of the category and the baseline stayed where it is. */
  room: number;
}

/**
 * Each category's share of the candidate's lead over the baseline, from the means over their training seeds. It
 * says where a lead comes from and where none can: a category no section moves caps what any section can gain.
 */
export function categoryLeads(candidates: readonly EvalSummary[], baselines: readonly EvalSummary[]): Record<Category, CategoryLead> {
  if (candidates.length === 0 || baselines.length === 0) throw new Error('categoryLeads needs at least one candidate and one baseline run');
  const [cand, base] = [candidates.map(categoryParts), baselines.map(categoryParts)];
  return Object.fromEntries(
    CATEGORIES.map((c) => {
      const basePart = mean(base.map((p) => p[c].part));
      return [c, { lead: mean(cand.map((p) => p[c].part)) - basePart, room: mean(base.map((p) => p[c].weight)) - basePart }];
    }),
  ) as Record<Category, CategoryLead>;
}

/**
 * The categories a candidate moved, taken as those where it used at least `minShare` of the room above the
 * baseline, and the room they leave in all: no section that moves only these can lead by more than `cap`.
 */
export function movedCategories(leads: Record<Category, CategoryLead>, minShare = 0.1): { moved: Category[]; cap: number } {
  const moved = CATEGORIES.filter((c) => leads[c].room > 0 && leads[c].lead >= leads[c].room * minShare);
  return { moved, cap: moved.reduce((s, c) => s + leads[c].room, 0) };
}
