import { booleanPointInPolygon, booleanWithin, kinks } from '@turf/turf';
import type { MultiPolygon, Polygon } from 'geojson';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Archetype, periodOf, periodShares } from '../../seeds/facts/buildingStock.js';
import { CITY_FACTS } from '../../seeds/facts/cities.js';
import { generateCities, generateCity, type SeedEvent } from '../../seeds/generate.js';
import { eventDefinition } from '../../src/domain/events.js';

const cities = generateCities();
const Generator = suite('seeded city generator');

Generator('the same seed gives the same events, a different seed different ones', () => {
  const again = generateCity('suceava');
  assert.equal(JSON.stringify(again), JSON.stringify(cities.get('suceava')));
  const other = generateCity('suceava', { seed: 'another' });
  assert.not.equal(JSON.stringify(other.slice(2, 10)), JSON.stringify(again.slice(2, 10)));
  assert.not.equal(other[0]!.id, again[0]!.id);
});

Generator('every generated event passes its domain schema and has a unique id', () => {
  const ids = new Set<string>();
  for (const [city, events] of cities) {
    for (const [i, e] of events.entries()) {
      const def = eventDefinition(e.type);
      assert.ok(def, `unknown type ${e.type}`);
      assert.is(def.kind, e.kind, `${city}#${i} ${e.type} in a ${e.kind} stream`);
      const parsed = def.schema.safeParse(e.data);
      if (!parsed.success) assert.unreachable(`${city}#${i} ${e.type}: ${parsed.error.message}`);
      assert.not.ok(ids.has(e.id), `duplicate id ${e.id}`);
      ids.add(e.id);
      assert.ok(!Number.isNaN(Date.parse(e.occurredAt)));
    }
  }
});

Generator(
  'each city has the real districts: Bucharest its six sectors, Cluj and Suceava real neighbourhoods',
  () => {
    const districts = (city: string) =>
      (cities.get(city)![0]!.data.districts as { id: string; name: string }[]).map((d) => d.name);
    assert.equal(
      districts('bucharest'),
      [1, 2, 3, 4, 5, 6].map((n) => `Sectorul ${n}`),
    );
    for (const name of [
      'Mănăștur',
      'Gheorgheni',
      'Mărăști',
      'Grigorescu',
      'Zorilor',
      'Centru',
      'Iris',
      'Bună Ziua',
    ])
      assert.ok(districts('cluj-napoca').includes(name), name);
    for (const name of ['Burdujeni', 'Obcini', 'George Enescu', 'Zamca', 'Centru', 'Ițcani'])
      assert.ok(districts('suceava').includes(name), name);
    const bucharest = cities.get('bucharest')![0]!.data as { population: number };
    assert.is(bucharest.population, 1_716_961);
  },
);

Generator('district polygons are valid and partition the city population', () => {
  for (const [city, events] of cities) {
    const data = events[0]!.data as {
      population: number;
      districts: { boundary: Polygon | MultiPolygon; population: number }[];
    };
    assert.is(
      data.districts.reduce((s, d) => s + d.population, 0),
      data.population,
      `${city} district populations sum to the city's`,
    );
    for (const d of data.districts) assert.is(kinks(d.boundary).features.length, 0);
  }
});

function cityAreas(events: SeedEvent[]) {
  const data = events[0]!.data as {
    boundary: Polygon;
    districts: { id: string; boundary: Polygon | MultiPolygon }[];
  };
  return { boundary: data.boundary, districts: new Map(data.districts.map((d) => [d.id, d.boundary])) };
}

Generator('every building lies inside its city and its district; static assets inside their district', () => {
  for (const [city, events] of cities) {
    const { boundary, districts } = cityAreas(events);
    for (const e of events) {
      if (e.type === 'BuildingRegistered') {
        const footprint = e.data.footprint as Polygon;
        assert.ok(booleanWithin(footprint, boundary), `${city} ${e.entityId} inside the city`);
        assert.ok(
          booleanWithin(footprint, districts.get(e.data.district as string)!),
          `${e.entityId} in district`,
        );
      }
      if (e.type === 'MobilityAssetRegistered' && e.data.district) {
        const at = (e.data.location as { coordinates: [number, number] }).coordinates;
        assert.ok(booleanPointInPolygon(at, boundary), `${city} ${e.entityId} inside the city`);
        assert.ok(
          booleanPointInPolygon(at, districts.get(e.data.district as string)!),
          `${e.entityId} district`,
        );
      }
    }
  }
});

Generator('grid links join existing nodes of the same network, added before the link', () => {
  for (const events of cities.values()) {
    const nodes = new Map<string, string>();
    for (const e of events) {
      if (e.type === 'GridNodeAdded') nodes.set(e.entityId!, e.data.network as string);
      if (e.type === 'GridLinkAdded') {
        assert.is(nodes.get(e.data.fromNode as string), e.data.network);
        assert.is(nodes.get(e.data.toNode as string), e.data.network);
      }
    }
  }
});

/** Floor area per construction period of one archetype across all three cities, as shares. */
function seededShares(match: (e: SeedEvent) => boolean): Map<string, number> {
  const area = new Map<string, number>();
  let total = 0;
  for (const events of cities.values()) {
    for (const e of events) {
      if (e.type !== 'BuildingRegistered' || !match(e)) continue;
      const p = periodOf(e.data.yearBuilt as number);
      const gfa = e.data.grossFloorAreaM2 as number;
      area.set(p, (area.get(p) ?? 0) + gfa);
      total += gfa;
    }
  }
  return new Map([...area].map(([p, a]) => [p, a / total]));
}

Generator(
  'the residential block stock follows the MODERATE floor-area mix by period (within 6 points)',
  () => {
    const blocks = seededShares((e) => e.data.use !== 'office' && (e.data.dwellings as number) > 4);
    const expected = new Map<string, number>();
    // Apartment blocks and high-rise multifamily blocks together, weighted by their national floor areas.
    const weights: [Archetype, number][] = [
      ['block', 165.75],
      ['tower', 39.09],
    ];
    for (const [archetype, weight] of weights) {
      for (const [p, share] of Object.entries(periodShares(archetype))) {
        expected.set(p, (expected.get(p) ?? 0) + (share * weight) / 204.84);
      }
    }
    for (const [p, share] of expected) {
      const seeded = blocks.get(p) ?? 0;
      assert.ok(
        Math.abs(seeded - share) < 0.06,
        `${p}: seeded ${seeded.toFixed(3)} vs published ${share.toFixed(3)}`,
      );
    }
    const panel = ['1945-1969', '1970-1979', '1980-1989'].reduce((s, p) => s + (blocks.get(p) ?? 0), 0);
    assert.ok(panel > 0.5, `1945-1989 blocks hold most block floor area (${panel.toFixed(2)})`);
  },
);

Generator('Bucharest heats far more of its blocks by district heating than Cluj-Napoca', () => {
  const share = (city: string) => {
    const events = cities.get(city)!;
    const blocks = new Set(
      events
        .filter((e) => e.type === 'BuildingRegistered' && (e.data.dwellings as number) > 4)
        .map((e) => e.entityId),
    );
    const certs = events.filter((e) => e.type === 'BuildingEnergyCertified' && blocks.has(e.entityId));
    return certs.filter((e) => e.data.heatingSystem === 'district-heating').length / certs.length;
  };
  const fact = (id: string) => CITY_FACTS.find((c) => c.id === id)!.heating.blocksDistrictHeating;
  assert.ok(Math.abs(share('bucharest') - fact('bucharest')) < 0.08, `Bucharest ${share('bucharest')}`);
  assert.ok(share('cluj-napoca') < 0.15, `Cluj ${share('cluj-napoca')}`);
});

Generator('the demo has a few thousand buildings and scale multiplies them', () => {
  const count = (events: SeedEvent[]) => events.filter((e) => e.type === 'BuildingRegistered').length;
  const total = [...cities.values()].reduce((s, e) => s + count(e), 0);
  assert.ok(total >= 2_000 && total <= 6_000, `${total}`);
  assert.is(count(generateCity('suceava', { scale: 0.5 })), Math.round(count(cities.get('suceava')!) / 2));
  assert.throws(() => generateCity('atlantis'), /No seeded city/);
  assert.throws(() => generateCity('suceava', { scale: 0 }), /scale/);
});

Generator.run();
