import { assertNever } from '../src/core/errors.js';
import type {
  BuildingEvent,
  BuildingUse,
  EnergyClass,
  HeatingSystem,
} from '../src/domain/building/events.js';
import type { EnergyCarrier } from '../src/domain/city/events.js';
import { ENERGY_CARRIERS } from '../src/domain/city/events.js';
import type { Polygon } from '../src/domain/geometry.js';
import type { TwinFeature } from '../src/twin/changes.js';
import {
  type CarrierValues,
  co2eKg,
  copyCarriers,
  DEFAULT_PV_YIELD_KWH_PER_KWP,
  defaultHeating,
  defaultPrimaryEnergy,
  estimateFinalEnergy,
  METER_WINDOW_MONTHS,
} from './energy.js';
import type { EventEnvelope } from './envelope.js';

/**
 * Metered kWh per carrier in 12 monthly slots (slot = month index % 12); `meterSlotMonth[slot]` is the month
 * index (`year*12+month`) a slot holds, or -1. Slots older than the 12-month window ending at the latest
 * reading are cleared, so only the window is ever kept: fixed size, and cheap to copy on write.
 */
export type MeterBuckets = Partial<Record<EnergyCarrier, number[]>>;

/** The state of one building, as the buildings projection keeps it. Never mutated: evolve returns a copy. */
export interface BuildingState {
  id: string;
  footprint: Polygon;
  use: BuildingUse;
  yearBuilt: number;
  floors: number;
  heightM?: number;
  grossFloorAreaM2: number;
  dwellings?: number;
  district: string;
  address?: string;
  name?: string;
  energyClass?: EnergyClass;
  primaryEnergyKwhPerM2Year?: number;
  heatingSystem?: HeatingSystem;
  certificateId?: string;
  certifiedOn?: string;
  /** Product of (1 - savings) of the retrofits since the last certificate. */
  retrofitFactor: number;
  retrofitCount: number;
  retrofitMeasures: string[];
  retrofitSavingsKwhPerYear: number;
  retrofitCostEur: number;
  pvKWp: number;
  pvYieldKwhPerYear: number;
  meterLatestMonth: number | null;
  meterSlotMonth: number[] | null;
  meter: MeterBuckets;
  registeredAt: string;
  updatedAt: string;
}

/**
 * The state with every field present, in one fixed order. States are copied with a spread on every event;
 * giving all of them one hidden class (no optional field added later) keeps that copy on V8's fast path.
 * Also used on restore, where JSON has dropped the undefined fields.
 */
export function buildingShape(s: BuildingState): BuildingState {
  return {
    id: s.id,
    footprint: s.footprint,
    use: s.use,
    yearBuilt: s.yearBuilt,
    floors: s.floors,
    heightM: s.heightM,
    grossFloorAreaM2: s.grossFloorAreaM2,
    dwellings: s.dwellings,
    district: s.district,
    address: s.address,
    name: s.name,
    energyClass: s.energyClass,
    primaryEnergyKwhPerM2Year: s.primaryEnergyKwhPerM2Year,
    heatingSystem: s.heatingSystem,
    certificateId: s.certificateId,
    certifiedOn: s.certifiedOn,
    retrofitFactor: s.retrofitFactor,
    retrofitCount: s.retrofitCount,
    retrofitMeasures: s.retrofitMeasures,
    retrofitSavingsKwhPerYear: s.retrofitSavingsKwhPerYear,
    retrofitCostEur: s.retrofitCostEur,
    pvKWp: s.pvKWp,
    pvYieldKwhPerYear: s.pvYieldKwhPerYear,
    meterLatestMonth: s.meterLatestMonth,
    meterSlotMonth: s.meterSlotMonth,
    meter: s.meter,
    registeredAt: s.registeredAt,
    updatedAt: s.updatedAt,
  };
}

/**
 * `{ ...s, meter, meterSlotMonth, meterLatestMonth, updatedAt }` without the spread: a fixed-shape copy
 * (buildingShape) whose existing fields are then set is much cheaper than a spread of 28 fields, and meter
 * readings are among the most frequent events of a replay.
 */
function withMeter(
  s: BuildingState,
  meter: MeterBuckets,
  meterSlotMonth: number[] | null,
  meterLatestMonth: number | null,
  updatedAt: string,
): BuildingState {
  const next = buildingShape(s);
  next.meter = meter;
  next.meterSlotMonth = meterSlotMonth;
  next.meterLatestMonth = meterLatestMonth;
  next.updatedAt = updatedAt;
  return next;
}

/** `{ ...s, updatedAt }` written out (see withMeter). */
function touched(s: BuildingState, updatedAt: string): BuildingState {
  return withMeter(s, s.meter, s.meterSlotMonth, s.meterLatestMonth, updatedAt);
}

/**
 * Applies a building event to a state the caller owns outright (no other holder of it or of its arrays: a
 * twin replaying alone), writing it in place instead of copying. Only the most frequent event of a replay,
 * the meter reading, has this form; the result equals `evolveBuilding`'s (up to the key order of `meter`).
 * Returns undefined when the event has no in-place form, false when it changed nothing, true when applied.
 */
export function mutateBuilding(
  state: BuildingState,
  event: BuildingEvent,
  env: EventEnvelope,
): boolean | undefined {
  if (event.type !== 'MeterReadingRecorded') return undefined;
  const d = event.data;
  const month = readingMonth(d.periodEnd);
  const latest = state.meterLatestMonth === null ? month : Math.max(state.meterLatestMonth, month);
  const oldest = latest - METER_WINDOW_MONTHS + 1;
  state.updatedAt = env.occurredAt;
  if (month < oldest) return true;
  const slot = month % METER_WINDOW_MONTHS;
  let held = state.meterSlotMonth;
  if (!held) {
    held = new Array<number>(METER_WINDOW_MONTHS).fill(-1);
    state.meterSlotMonth = held;
  }
  // The carriers present are walked by for-in over the buckets' own keys (V8 reads them through the object's
  // enum cache): indexing the buckets by each of the six carrier names was a megamorphic keyed load each,
  // ~2x slower per reading measured alone. Order does not matter in either loop below.
  const buckets = state.meter;
  for (let i = 0; i < METER_WINDOW_MONTHS; i++) {
    const h = held[i]!;
    if ((h !== -1 && h < oldest) || (i === slot && h !== month)) {
      held[i] = -1;
      for (const c in buckets) {
        const slots = buckets[c as EnergyCarrier];
        if (slots) slots[i] = 0;
      }
    }
  }
  held[slot] = month;
  state.meterLatestMonth = latest;
  let target = buckets[d.carrier];
  // A carrier whose readings all left the window is no longer metered; a new carrier is added last.
  let drop = false;
  for (const c in buckets) {
    const slots = buckets[c as EnergyCarrier];
    if (c !== d.carrier && slots && !anyNonZero(slots)) drop = true;
  }
  if (!target || drop) {
    const meter: MeterBuckets = {};
    for (const c of ENERGY_CARRIERS) {
      const slots = buckets[c];
      if (slots && (c === d.carrier || anyNonZero(slots))) meter[c] = slots;
    }
    if (!target) {
      target = new Array<number>(METER_WINDOW_MONTHS).fill(0);
      meter[d.carrier] = target;
    }
    state.meter = meter;
  }
  target[slot] = target[slot]! + d.kwh;
  return true;
}

/** Derived energy figures of a building under the given emission factors. */
export interface BuildingEnergy {
  /** Annualised metered kWh per carrier over the 12-month window (carriers with readings only). */
  metered: Partial<CarrierValues>;
  /** Final energy per carrier: metered where the carrier has readings, else estimated. */
  finalEnergy: CarrierValues;
  basis: 'metered' | 'estimated' | 'mixed';
  estimateSource: 'certificate' | 'default';
  co2eKgPerYear: number;
}

/** Applies one building event. Returns undefined when the building leaves the layer (demolished). */
export function evolveBuilding(
  state: BuildingState | undefined,
  event: BuildingEvent,
  env: EventEnvelope,
): BuildingState | undefined {
  if (event.type === 'BuildingRegistered') {
    const d = event.data;
    return buildingShape({
      id: env.entityId,
      footprint: d.footprint,
      use: d.use,
      yearBuilt: d.yearBuilt,
      floors: d.floors,
      heightM: d.heightM,
      grossFloorAreaM2: d.grossFloorAreaM2,
      dwellings: d.dwellings,
      district: d.district,
      address: d.address,
      name: d.name,
      retrofitFactor: 1,
      retrofitCount: 0,
      retrofitMeasures: [],
      retrofitSavingsKwhPerYear: 0,
      retrofitCostEur: 0,
      pvKWp: 0,
      pvYieldKwhPerYear: 0,
      meterLatestMonth: null,
      meterSlotMonth: null,
      meter: {},
      registeredAt: env.occurredAt,
      updatedAt: env.occurredAt,
    });
  }
  if (!state) return undefined;
  switch (event.type) {
    case 'BuildingEnergyCertified': {
      const d = event.data;
      // A new certificate already reflects earlier retrofits, so the retrofit factor starts again at 1.
      // A fixed-shape copy, then its own fields set (cheaper than a spread; the input is not touched).
      const next = buildingShape(state);
      next.energyClass = d.energyClass;
      next.primaryEnergyKwhPerM2Year = d.primaryEnergyKwhPerM2Year;
      next.heatingSystem = d.heatingSystem;
      next.certificateId = d.certificateId;
      next.certifiedOn = d.issuedOn;
      next.retrofitFactor = 1;
      next.updatedAt = env.occurredAt;
      return next;
    }
    case 'MeterReadingRecorded': {
      const d = event.data;
      const month = readingMonth(d.periodEnd);
      const latest = state.meterLatestMonth === null ? month : Math.max(state.meterLatestMonth, month);
      const oldest = latest - METER_WINDOW_MONTHS + 1;
      if (month < oldest) return touched(state, env.occurredAt);
      // Structural sharing: only the arrays that change are copied (the reading's carrier, and the others
      // only when a slot is cleared), and the bucket object is built without `delete` (keys keep the order
      // a copy-then-delete would give: present carriers in ENERGY_CARRIERS order, a new carrier last).
      const slot = month % METER_WINDOW_MONTHS;
      const held = state.meterSlotMonth;
      let cleared: number[] | undefined;
      for (let i = 0; i < METER_WINDOW_MONTHS; i++) {
        const h = held ? held[i]! : -1;
        // Clear months that left the window, and the slot this month reuses if it held another month.
        if ((h !== -1 && h < oldest) || (i === slot && h !== month)) {
          cleared ??= [];
          cleared.push(i);
        }
      }
      let slotMonth: number[];
      if (held && held[slot] === month && cleared === undefined) slotMonth = held;
      else {
        slotMonth = held ? held.slice() : new Array<number>(METER_WINDOW_MONTHS).fill(-1);
        if (cleared) for (const i of cleared) slotMonth[i] = -1;
        slotMonth[slot] = month;
      }
      const meter: MeterBuckets = {};
      for (const c of ENERGY_CARRIERS) {
        const slots = state.meter[c];
        if (!slots) continue;
        if (c === d.carrier) {
          const target = slots.slice();
          if (cleared) for (const i of cleared) target[i] = 0;
          target[slot] = target[slot]! + d.kwh;
          meter[c] = target;
          continue;
        }
        const kept = cleared ? withCleared(slots, cleared) : slots;
        // A carrier whose readings all left the window is no longer metered (its estimate applies again).
        if (anyNonZero(kept)) meter[c] = kept;
      }
      if (!meter[d.carrier]) {
        const target = new Array<number>(METER_WINDOW_MONTHS).fill(0);
        target[slot] = 0 + d.kwh;
        meter[d.carrier] = target;
      }
      return withMeter(state, meter, slotMonth, latest, env.occurredAt);
    }
    case 'BuildingRetrofitted': {
      const d = event.data;
      const before = totalKwh(estimatedEnergy(state));
      const factor = state.retrofitFactor * (1 - d.expectedSavingsPercent / 100);
      const measures = [...new Set([...state.retrofitMeasures, ...d.measures])].sort();
      const next: BuildingState = {
        ...state,
        retrofitFactor: factor,
        retrofitCount: state.retrofitCount + 1,
        retrofitMeasures: measures,
        retrofitCostEur: state.retrofitCostEur + (d.costEur ?? 0),
        energyClass: d.newEnergyClass ?? state.energyClass,
        heatingSystem: d.newHeatingSystem ?? state.heatingSystem,
        updatedAt: env.occurredAt,
      };
      const after = totalKwh(estimatedEnergy(next));
      next.retrofitSavingsKwhPerYear = state.retrofitSavingsKwhPerYear + Math.max(0, before - after);
      return next;
    }
    case 'RooftopPvInstalled': {
      const d = event.data;
      const yieldKwh = d.expectedYieldKwhPerYear ?? d.kWp * DEFAULT_PV_YIELD_KWH_PER_KWP;
      return {
        ...state,
        pvKWp: state.pvKWp + d.kWp,
        pvYieldKwhPerYear: state.pvYieldKwhPerYear + yieldKwh,
        updatedAt: env.occurredAt,
      };
    }
    case 'BuildingAttributesCorrected': {
      const next: BuildingState = { ...state, updatedAt: env.occurredAt };
      for (const [key, value] of Object.entries(event.data)) {
        if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
      }
      return next;
    }
    case 'BuildingDemolished':
      return undefined;
    default:
      return assertNever(event, 'building event');
  }
}

/** `slots` with the cleared slots set to 0: the same array when none of them held anything. */
function withCleared(slots: number[], cleared: number[]): number[] {
  let copy: number[] | undefined;
  for (const i of cleared) {
    if (slots[i] === 0) continue;
    copy ??= slots.slice();
    copy[i] = 0;
  }
  return copy ?? slots;
}

function anyNonZero(slots: number[]): boolean {
  for (let i = 0; i < slots.length; i++) if (slots[i]) return true;
  return false;
}

const digit = (s: string, i: number) => s.charCodeAt(i) - 48;

/**
 * The month index (`year*12+month`) a reading belongs to: the month in which its period ends, a period
 * ending at 00:00 on the 1st belonging to the month before. UTC times (`...Z`) are read from the string
 * (this runs for every reading of a replay); anything else goes through Date.
 */
export function readingMonth(periodEnd: string): number {
  const n = periodEnd.length;
  if (
    n >= 20 &&
    periodEnd.charCodeAt(n - 1) === 90 &&
    periodEnd.charCodeAt(4) === 45 &&
    periodEnd.charCodeAt(7) === 45 &&
    periodEnd.charCodeAt(10) === 84
  ) {
    const year =
      digit(periodEnd, 0) * 1000 + digit(periodEnd, 1) * 100 + digit(periodEnd, 2) * 10 + digit(periodEnd, 3);
    const month = digit(periodEnd, 5) * 10 + digit(periodEnd, 6) - 1;
    const day = digit(periodEnd, 8) * 10 + digit(periodEnd, 9);
    let midnight = true;
    for (let i = 11; i < n - 1; i++) {
      const c = periodEnd.charCodeAt(i);
      if (c !== 48 && c !== 58 && c !== 46) {
        midnight = false;
        break;
      }
    }
    const index = year * 12 + month;
    if (year >= 1000 && month >= 0 && month < 12) return day === 1 && midnight ? index - 1 : index;
  }
  const end = new Date(Date.parse(periodEnd) - 1);
  return end.getUTCFullYear() * 12 + end.getUTCMonth();
}

function totalKwh(values: CarrierValues): number {
  let sum = 0;
  for (const c of ENERGY_CARRIERS) sum += values[c];
  return sum;
}

/** Final energy per carrier estimated from the certificate (or the age default) and retrofits. */
export function estimatedEnergy(state: BuildingState): CarrierValues {
  const primary = state.primaryEnergyKwhPerM2Year ?? defaultPrimaryEnergy(state.yearBuilt);
  const heating = state.heatingSystem ?? defaultHeating(state.use, state.yearBuilt);
  return estimateFinalEnergy(primary, state.grossFloorAreaM2, heating, state.retrofitFactor);
}

/** Metered, annualised kWh per carrier over the window ending at the latest reading month. */
export function meteredEnergy(state: BuildingState): Partial<CarrierValues> {
  const out: Partial<CarrierValues> = {};
  const slotMonth = state.meterSlotMonth;
  if (!slotMonth) return out;
  let months = 0;
  for (const m of slotMonth) if (m !== -1) months++;
  // Annualise over the months that have any reading, so a building read for 6 months counts for a year.
  const scale = months > 0 ? METER_WINDOW_MONTHS / months : 0;
  for (const c of ENERGY_CARRIERS) {
    const slots = state.meter[c];
    if (!slots) continue;
    let sum = 0;
    for (let i = 0; i < slots.length; i++) if (slotMonth[i] !== -1) sum += slots[i]!;
    out[c] = sum * scale;
  }
  return out;
}

/** All derived energy figures of a building. */
export function buildingEnergy(state: BuildingState, factors: CarrierValues): BuildingEnergy {
  const estimate = estimatedEnergy(state);
  const metered = meteredEnergy(state);
  // The estimate is a fresh object: copied only when metered values are written over it.
  const finalEnergy = state.meterSlotMonth === null ? estimate : copyCarriers(estimate);
  let meteredCount = 0;
  for (const c of ENERGY_CARRIERS) {
    const m = metered[c];
    if (m !== undefined) {
      finalEnergy[c] = m;
      meteredCount++;
    }
  }
  return {
    metered,
    finalEnergy,
    basis: meteredCount === 0 ? 'estimated' : hasOnlyMeteredUse(estimate, metered) ? 'metered' : 'mixed',
    estimateSource: state.primaryEnergyKwhPerM2Year === undefined ? 'default' : 'certificate',
    co2eKgPerYear: co2eKg(finalEnergy, factors),
  };
}

function hasOnlyMeteredUse(estimate: CarrierValues, metered: Partial<CarrierValues>): boolean {
  for (const c of ENERGY_CARRIERS) if (estimate[c] > 0 && metered[c] === undefined) return false;
  return true;
}

const round = (v: number, digits = 1) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** The GeoJSON feature of a building: footprint and current attributes with derived energy figures. */
export function buildingFeature(state: BuildingState, energy: BuildingEnergy): TwinFeature {
  const finalEnergy: Record<string, number> = {};
  for (const c of ENERGY_CARRIERS)
    if (energy.finalEnergy[c] > 0) finalEnergy[c] = round(energy.finalEnergy[c]);
  const metered: Record<string, number> = {};
  for (const c of ENERGY_CARRIERS) {
    const m = energy.metered[c];
    if (m !== undefined) metered[c] = round(m);
  }
  return {
    type: 'Feature',
    id: state.id,
    geometry: state.footprint,
    properties: {
      use: state.use,
      yearBuilt: state.yearBuilt,
      floors: state.floors,
      heightM: state.heightM ?? null,
      grossFloorAreaM2: state.grossFloorAreaM2,
      dwellings: state.dwellings ?? null,
      district: state.district,
      address: state.address ?? null,
      name: state.name ?? null,
      energyClass: state.energyClass ?? null,
      primaryEnergyKwhPerM2Year: state.primaryEnergyKwhPerM2Year ?? null,
      heatingSystem: state.heatingSystem ?? defaultHeating(state.use, state.yearBuilt),
      energyEstimateSource: energy.estimateSource,
      meteredKwhLast12Months: metered,
      finalEnergyKwhPerYear: finalEnergy,
      finalEnergyBasis: energy.basis,
      co2eTonnesPerYear: round(energy.co2eKgPerYear / 1000, 3),
      retrofits: {
        count: state.retrofitCount,
        measures: state.retrofitMeasures,
        expectedSavingsKwhPerYear: round(state.retrofitSavingsKwhPerYear),
        costEur: state.retrofitCostEur,
      },
      pvKWp: state.pvKWp,
      pvYieldKwhPerYear: round(state.pvYieldKwhPerYear),
      status: 'active',
      updatedAt: state.updatedAt,
    },
  };
}
