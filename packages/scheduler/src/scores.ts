/**
 * Node score tables ("allowed nodes" in Pacemaker): per primitive, a map node -> score. A node
 * missing from the map may not run the resource at all (matters in opt-in clusters). Every
 * change is recorded as a named contribution for the explanation.
 */
import { addScores } from '@paceline/model';
import { isBan, type Cause, type Contribution } from './reasons.js';

export type ScoreTable = Map<string, number>;

export interface ScoreBook {
  readonly tables: Map<string, ScoreTable>;
  readonly contributions: Map<string, Map<string, Contribution[]>>;
}

export function newScoreBook(): ScoreBook {
  return { tables: new Map(), contributions: new Map() };
}

/**
 * A copy of a score table, entry by entry: `new Map(table)` goes through the table's iterator,
 * an array per entry (the assign stage copies tables on every colocation it merges).
 */
export function copyTable(table: ReadonlyMap<string, number>): ScoreTable {
  const copy: ScoreTable = new Map();
  table.forEach((score, node) => copy.set(node, score));
  return copy;
}

export function tableOf(book: ScoreBook, rsc: string): ScoreTable {
  let table = book.tables.get(rsc);
  if (!table) {
    table = new Map();
    book.tables.set(rsc, table);
  }
  return table;
}

/** Records a contribution (a zero one only when it is a ban: "banned" is news even at 0). */
export function note(book: ScoreBook, rsc: string, node: string, cause: Cause, score: number): void {
  if (score === 0 && !isBan(cause)) return;
  let per = book.contributions.get(rsc);
  if (!per) {
    per = new Map();
    book.contributions.set(rsc, per);
  }
  const list = per.get(node) ?? [];
  list.push({ cause, score });
  per.set(node, list);
}

/** Pacemaker's resource_node_score: add to an existing entry, or create it. */
export function addNodeScore(book: ScoreBook, rsc: string, node: string, score: number, cause: Cause): void {
  const table = tableOf(book, rsc);
  const old = table.get(node);
  table.set(node, old === undefined ? score : addScores(old, score));
  note(book, rsc, node, cause, score);
}
