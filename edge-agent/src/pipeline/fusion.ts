/** One gallery answer: the best similarity of one enrolled person to a query. */
export interface PersonMatch {
  personId: string;
  similarity: number;
}

/** One shot's gallery answer (its top-k persons) and the shot's weight (its quality score). */
export interface ShotMatches {
  weight: number;
  matches: readonly PersonMatch[];
}

export interface FusedMatch {
  /** Best identity by quality-weighted mean similarity over the shots; null when the gallery is empty. */
  best: PersonMatch | null;
  /** Fused similarity of the second-best identity; null when fewer than two identities were seen. */
  second: number | null;
}

export interface IdentityRule {
  /** Fused similarity at or above which the best identity may be accepted. */
  threshold: number;
  /** Least lead of the best identity over the second-best. */
  margin: number;
}

export interface Identity {
  /** The accepted person, or null (unknown): never the nearest name by default. */
  personId: string | null;
  /** Fused similarity of the best identity (null: empty gallery). */
  similarity: number | null;
  /** Best minus second-best fused similarity; a lone identity is measured against 0 (unrelated faces). */
  margin: number | null;
  /** The best identity whatever the verdict, for a spoof event's "resembled" person. */
  nearest: string | null;
}

/**
 * Fuses the shots' answers into one similarity per person: the quality-weighted mean over shots. A person
 * missing from a shot's top-k gets that shot's lowest returned similarity, an upper bound of its true
 * value, so a missing answer can only shrink the margin, never create a match.
 */
export function fuseMatches(shots: readonly ShotMatches[]): FusedMatch {
  const answered = shots.filter((s) => s.matches.length > 0 && s.weight > 0);
  const persons = new Set(answered.flatMap((s) => s.matches.map((m) => m.personId)));
  const totalWeight = answered.reduce((sum, s) => sum + s.weight, 0);
  const fused: PersonMatch[] = [];
  for (const personId of persons) {
    let sum = 0;
    for (const shot of answered) {
      const hit = shot.matches.find((m) => m.personId === personId);
      const similarity = hit ? hit.similarity : Math.min(...shot.matches.map((m) => m.similarity));
      sum += shot.weight * similarity;
    }
    fused.push({ personId, similarity: sum / totalWeight });
  }
  fused.sort((a, b) => b.similarity - a.similarity);
  return { best: fused[0] ?? null, second: fused[1]?.similarity ?? null };
}

/** Open-set decision: a person only when the fused similarity clears the threshold AND the margin. */
export function identify(fused: FusedMatch, rule: IdentityRule): Identity {
  if (!fused.best) return { personId: null, similarity: null, margin: null, nearest: null };
  const similarity = fused.best.similarity;
  const margin = similarity - (fused.second ?? 0);
  const accepted = similarity >= rule.threshold && margin >= rule.margin;
  return {
    personId: accepted ? fused.best.personId : null,
    similarity,
    margin,
    nearest: fused.best.personId,
  };
}
