import {
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * Per city, the list of its events' global positions with their recorded time and occurred time, in
 * position order. It answers, without touching the log: which position a recorded time stands for
 * (`at` -> position), how many city events precede a position, and the latest occurred time among the
 * first k events (so a snapshot taken after k events can serve a valid-time query only when nothing in it
 * happened after that valid time).
 *
 * Persisted (when given a directory) as one append-only file of fixed 32-byte records
 * (position f64, city index u32 + pad, recordedAt ms f64, occurredAt ms f64) plus the list of city ids, so a
 * restart reads it back instead of scanning the whole log. Positions are kept as doubles: exact up to 2^53.
 */
export class CityTimeline {
  length = 0;
  private positionsArr = new Float64Array(1024);
  private recordedArr = new Float64Array(1024);
  private occurredArr = new Float64Array(1024);
  /** Running maxima, so a search over a column that is not perfectly sorted stays monotone. */
  private maxRecordedArr = new Float64Array(1024);
  private maxOccurredArr = new Float64Array(1024);

  push(position: number, recordedMs: number, occurredMs: number): void {
    if (this.length === this.positionsArr.length) this.grow();
    const i = this.length;
    this.positionsArr[i] = position;
    this.recordedArr[i] = recordedMs;
    this.occurredArr[i] = occurredMs;
    this.maxRecordedArr[i] = i === 0 ? recordedMs : Math.max(this.maxRecordedArr[i - 1]!, recordedMs);
    this.maxOccurredArr[i] = i === 0 ? occurredMs : Math.max(this.maxOccurredArr[i - 1]!, occurredMs);
    this.length++;
  }

  position(i: number): number {
    return this.positionsArr[i]!;
  }
  occurred(i: number): number {
    return this.occurredArr[i]!;
  }
  recorded(i: number): number {
    return this.recordedArr[i]!;
  }
  /** Latest occurredAt among the events 0..i. */
  maxOccurredThrough(i: number): number {
    return this.maxOccurredArr[i]!;
  }

  lastPosition(): number | undefined {
    return this.length > 0 ? this.positionsArr[this.length - 1] : undefined;
  }

  /** Number of events with position <= p. */
  countThrough(p: number): number {
    return upperBound(this.positionsArr, this.length, p);
  }

  /** Number of events recorded at or before t (ms), against the running maximum of recordedAt. */
  countRecordedThrough(t: number): number {
    return upperBound(this.maxRecordedArr, this.length, t);
  }

  /** Number of leading events (0..k-1) whose latest occurredAt is <= t. */
  countOccurredPrefixThrough(t: number): number {
    return upperBound(this.maxOccurredArr, this.length, t);
  }

  private grow(): void {
    const size = this.positionsArr.length * 2;
    const bigger = (a: Float64Array) => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    this.positionsArr = bigger(this.positionsArr);
    this.recordedArr = bigger(this.recordedArr);
    this.occurredArr = bigger(this.occurredArr);
    this.maxRecordedArr = bigger(this.maxRecordedArr);
    this.maxOccurredArr = bigger(this.maxOccurredArr);
  }
}

/** First index in a[0..n) whose value is > x (a must be non-decreasing). */
function upperBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const RECORD = 32;

/** The index over every city, with its optional append-only file. */
export class PositionIndex {
  private readonly byCity = new Map<string, CityTimeline>();
  private readonly cityIds: string[] = [];
  private fd: number | undefined;
  private pending: Buffer[] = [];
  /** Highest position recorded in the index (over all cities). */
  lastPosition = 0;

  private constructor(private readonly dir: string | undefined) {}

  /** Opens (or creates) the index in `dir`; in memory only when dir is undefined. */
  static open(dir: string | undefined): PositionIndex {
    const index = new PositionIndex(dir);
    if (!dir) return index;
    mkdirSync(dir, { recursive: true });
    const citiesFile = join(dir, 'cities.json');
    if (existsSync(citiesFile))
      index.cityIds.push(...(JSON.parse(readFileSync(citiesFile, 'utf8')) as string[]));
    const file = join(dir, 'index.bin');
    index.fd = openSync(file, existsSync(file) ? 'r+' : 'w+');
    const size = fstatSync(index.fd).size;
    // A torn last record (a kill in the middle of a write) is dropped; the event is re-read from the log.
    const whole = size - (size % RECORD);
    if (whole !== size) ftruncateSync(index.fd, whole);
    const buf = readFileSync(file).subarray(0, whole);
    for (let off = 0; off < whole; off += RECORD) {
      const position = buf.readDoubleLE(off);
      const city = index.cityIds[buf.readUInt32LE(off + 8)];
      if (city === undefined) break;
      index.timelineOf(city).push(position, buf.readDoubleLE(off + 16), buf.readDoubleLE(off + 24));
      index.lastPosition = Math.max(index.lastPosition, position);
    }
    return index;
  }

  timeline(city: string): CityTimeline | undefined {
    return this.byCity.get(city);
  }

  /** The cities with at least one indexed event. */
  cities(): string[] {
    return [...this.byCity.keys()];
  }

  /** Records one city event; buffered until `flush`. Events must come in position order. */
  add(city: string, position: number, recordedMs: number, occurredMs: number): void {
    if (position <= this.lastPosition) return;
    let cityIdx = this.cityIds.indexOf(city);
    if (cityIdx < 0) {
      cityIdx = this.cityIds.push(city) - 1;
      this.writeCities();
    }
    this.timelineOf(city).push(position, recordedMs, occurredMs);
    this.lastPosition = position;
    if (this.fd !== undefined) {
      const rec = Buffer.alloc(RECORD);
      rec.writeDoubleLE(position, 0);
      rec.writeUInt32LE(cityIdx, 8);
      rec.writeDoubleLE(recordedMs, 16);
      rec.writeDoubleLE(occurredMs, 24);
      this.pending.push(rec);
    }
  }

  /** Writes buffered records to the file (appends, in order). */
  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    const all = Buffer.concat(this.pending);
    this.pending = [];
    const at = fstatSync(this.fd).size;
    writeSync(this.fd, all, 0, all.length, at);
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private timelineOf(city: string): CityTimeline {
    let t = this.byCity.get(city);
    if (!t) {
      t = new CityTimeline();
      this.byCity.set(city, t);
    }
    return t;
  }

  private writeCities(): void {
    if (!this.dir) return;
    // Written synchronously before any record that refers to the new city index.
    const fd = openSync(join(this.dir, 'cities.json'), 'w');
    writeSync(fd, JSON.stringify(this.cityIds));
    closeSync(fd);
  }
}
