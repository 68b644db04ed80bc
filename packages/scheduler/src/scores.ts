/**
 * Node score tables ("allowed nodes" in Pacemaker): per primitive, a map node -> score. A node
 * missing from the map may not run the resource at all (matters in opt-in clusters). Every
 * change is recorded as a named contribution for the explanation.
 */
import type { ScoreContribution } from '@paceline/model';
import { addScores } from '@paceline/model';

export type ScoreTable = Map<string, number>;

export interface ScoreBook {
  readonly tables: Map<string, ScoreTable>;
  readonly contributions: Map<string, Map<string, ScoreContribution[]>>;
}

export function newScoreBook(): ScoreBook {
  return { tables: new Map(), contributions: new Map() };
}

export function tableOf(book: ScoreBook, rsc: string): ScoreTable {
  let t = book.tables.get(rsc);
  if (!t) {
    t = new Map();
    book.tables.set(rsc, t);
  }
  return t;
}

export function note(book: ScoreBook, rsc: string, node: string, source: string, score: number, detail?: string): void {
  if (score === 0 && !source.startsWith('banned')) return;
  let per = book.contributions.get(rsc);
  if (!per) {
    per = new Map();
    book.contributions.set(rsc, per);
  }
  const list = per.get(node) ?? [];
  list.push(detail !== undefined ? { source, score, detail } : { source, score });
  per.set(node, list);
}

/** Pacemaker's resource_node_score: add to an existing entry, or create it. */
export function addNodeScore(book: ScoreBook, rsc: string, node: string, score: number, source: string): void {
  const t = tableOf(book, rsc);
  const old = t.get(node);
  t.set(node, old === undefined ? score : addScores(old, score));
  note(book, rsc, node, source, score);
}
