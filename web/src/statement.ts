// A statement as the account page keeps it: every page loaded so far, newest first.
import type { Entry } from "./api/types";

export interface KnownStatement {
  entries: Entry[];
  /** Where the next older page starts (`after=`); none after the oldest entry. */
  next?: string;
}

/** Two runs of entries as one, newest first, each entry once. */
export function mergeEntries(newer: Entry[], older: Entry[]): Entry[] {
  const byId = new Map<number, Entry>();
  for (const entry of [...newer, ...older]) byId.set(entry.id, entry);
  return [...byId.values()].sort((a, b) => b.id - a.id);
}

/** The statement known so far, with a fresh newest page on top. When the fresh page does
 * not reach the entries known (more arrived than a page holds), what lies between is
 * unknown: start again from the fresh page. */
export function withNewestPage(
  known: KnownStatement,
  page: KnownStatement,
): KnownStatement {
  const newestKnown = known.entries[0]?.id;
  const oldestFresh = page.entries[page.entries.length - 1]?.id;
  const reaches =
    newestKnown !== undefined &&
    (page.next === undefined || (oldestFresh !== undefined && oldestFresh <= newestKnown));
  if (!reaches) return { entries: page.entries, next: page.next };
  return { entries: mergeEntries(page.entries, known.entries), next: known.next };
}

