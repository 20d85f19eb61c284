import { type Contribution, KPI_WIDTH } from '../../projections/kpis.js';

/**
 * Sums of KPI contribution vectors, city-wide and per district. `replace` moves one entity from its old
 * contribution to its new one; only the fields that differ are touched, so a change that leaves a float
 * field alone leaves its sum bit-for-bit unchanged (which keeps restore + tail equal to a full replay).
 */
export class KpiAccumulator {
  private cityTotals = new Float64Array(KPI_WIDTH);
  private readonly districts = new Map<string, Float64Array>();

  /** Subtracts `before` from `fromDistrict` and the city, adds `after` to `toDistrict` and the city. */
  replace(
    fromDistrict: string | undefined,
    before: Contribution | undefined,
    toDistrict: string | undefined,
    after: Contribution | undefined,
  ): void {
    if (fromDistrict === toDistrict) {
      const d = toDistrict === undefined ? undefined : this.areaOf(toDistrict);
      for (let i = 0; i < KPI_WIDTH; i++) {
        const b = before ? before[i]! : 0;
        const a = after ? after[i]! : 0;
        if (a === b) continue;
        this.cityTotals[i] = this.cityTotals[i]! - b + a;
        if (d) d[i] = d[i]! - b + a;
      }
      return;
    }
    const from = fromDistrict === undefined ? undefined : this.areaOf(fromDistrict);
    const to = toDistrict === undefined ? undefined : this.areaOf(toDistrict);
    for (let i = 0; i < KPI_WIDTH; i++) {
      const b = before ? before[i]! : 0;
      const a = after ? after[i]! : 0;
      if (a !== b) this.cityTotals[i] = this.cityTotals[i]! - b + a;
      if (from && b !== 0) from[i] = from[i]! - b;
      if (to && a !== 0) to[i] = to[i]! + a;
    }
  }

  private areaOf(district: string): Float64Array {
    let v = this.districts.get(district);
    if (!v) {
      v = new Float64Array(KPI_WIDTH);
      this.districts.set(district, v);
    }
    return v;
  }

  city(): Float64Array {
    return this.cityTotals;
  }

  district(id: string): Float64Array {
    return this.districts.get(id) ?? new Float64Array(KPI_WIDTH);
  }

  districtIds(): string[] {
    return [...this.districts.keys()];
  }

  clone(): KpiAccumulator {
    const copy = new KpiAccumulator();
    copy.cityTotals = this.cityTotals.slice();
    for (const [id, v] of this.districts) copy.districts.set(id, v.slice());
    return copy;
  }

  /** Plain arrays; JSON keeps doubles exactly (shortest round-trip representation). */
  toJSON(): { city: number[]; districts: Array<[string, number[]]> } {
    return {
      city: [...this.cityTotals],
      districts: [...this.districts].map(([id, v]) => [id, [...v]]),
    };
  }

  static fromJSON(json: { city: number[]; districts: Array<[string, number[]]> }): KpiAccumulator {
    const acc = new KpiAccumulator();
    if (json.city.length !== KPI_WIDTH) throw new Error('KPI snapshot does not match the KPI fields');
    acc.cityTotals = Float64Array.from(json.city);
    for (const [id, v] of json.districts) acc.districts.set(id, Float64Array.from(v));
    return acc;
  }
}
