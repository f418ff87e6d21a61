import { describe, expect, it } from "vitest";
import type { Entry } from "./api/types";
import { mergeEntries, withNewestPage } from "./statement";

const entry = (id: number): Entry => ({
  id,
  movement_id: `m${id}`,
  kind: "deposit",
  amount: 100,
  balance_after: 100 * id,
  counterparty_account_id: null,
  description: null,
  created_at: "2026-11-24T10:00:00Z",
});
const ids = (entries: Entry[]) => entries.map((e) => e.id);
const run = (from: number, to: number) =>
  Array.from({ length: from - to + 1 }, (_, i) => entry(from - i));

describe("the statement on screen", () => {
  it("keeps the older pages read so far when new movements arrive", () => {
    const read = { entries: run(10, 3), next: "after-3" };
    const fresh = { entries: run(12, 7), next: "after-7" };
    expect(withNewestPage(read, fresh)).toEqual({ entries: run(12, 3), next: "after-3" });
  });

  it("starts again when more arrived than a page holds, rather than show a gap", () => {
    const read = { entries: run(10, 3), next: "after-3" };
    const fresh = { entries: run(30, 21), next: "after-21" };
    expect(withNewestPage(read, fresh)).toEqual(fresh);
  });

  it("takes the first page as it is, and a whole statement in one page", () => {
    expect(withNewestPage({ entries: [] }, { entries: run(5, 1) })).toEqual({ entries: run(5, 1) });
    const all = withNewestPage({ entries: run(4, 1) }, { entries: run(6, 1) });
    expect(ids(all.entries)).toEqual([6, 5, 4, 3, 2, 1]);
  });

  it("merges runs newest first, each entry once", () => {
    expect(ids(mergeEntries(run(5, 3), run(4, 1)))).toEqual([5, 4, 3, 2, 1]);
  });
});
