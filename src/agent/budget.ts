/**
 * A count with two caps: one in total and one per caller group (issue 15). The socket server
 * keeps one for connections, the connection guard one for open calls (streams). Pure counting.
 */

/** Why a budget said no. */
export type BudgetRefusal = 'total_limit' | 'caller_limit';

export interface Budget {
  /** Takes one unit for `group`, or says which cap is reached (nothing is taken then). */
  take(group: string): BudgetRefusal | undefined;
  /** Gives back a unit `take` gave to `group`. */
  give(group: string): void;
  /** Units taken in total. */
  size(): number;
  /** Units `group` holds. */
  of(group: string): number;
  /** True when the total cap is reached. */
  full(): boolean;
}

/** @throws TypeError when a cap is not a positive integer */
export function createBudget(caps: { readonly total: number; readonly perGroup: number }): Budget {
  for (const [name, cap] of Object.entries(caps)) {
    if (!Number.isSafeInteger(cap) || cap < 1) throw new TypeError(`${name} must be a positive integer: ${cap}`);
  }
  const held = new Map<string, number>();
  let total = 0;
  return {
    take(group) {
      if (total >= caps.total) return 'total_limit';
      const mine = held.get(group) ?? 0;
      if (mine >= caps.perGroup) return 'caller_limit';
      held.set(group, mine + 1);
      total++;
      return undefined;
    },
    give(group) {
      const mine = held.get(group) ?? 0;
      if (mine === 0) return;
      if (mine === 1) held.delete(group);
      else held.set(group, mine - 1);
      total--;
    },
    size: () => total,
    of: (group) => held.get(group) ?? 0,
    full: () => total >= caps.total,
  };
}
