import { readFileSync } from 'node:fs';
import { area, bbox, booleanPointInPolygon, polygon } from '@turf/turf';
import { parse } from 'csv-parse/sync';
import type { Feature, Polygon } from 'geojson';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ARCHETYPES, type Archetype, PERIODS } from '../../seeds/facts/buildingStock.js';
import { CITY_FACTS, ELECTRICITY_KG_PER_KWH } from '../../seeds/facts/cities.js';
import { ringPolygon } from '../../seeds/geometry.js';

const DATA = '../shared/data';
const Facts = suite('seeded facts against their cited sources');

Facts(
  'the building-stock figures are the MODERATE Romania rows (floor area and final energy per period)',
  () => {
    const rows = parse(readFileSync(`${DATA}/energy-stats/moderate_eu27_building_stock_2020_romania.csv`), {
      columns: true,
    }) as Record<string, string>[];
    const subsector: Record<Archetype, string> = {
      house: 'Single family- Terraced houses',
      block: 'Apartment blocks',
      tower: 'Multifamily houses',
      office: 'Offices',
      trade: 'Trade',
      education: 'Education',
      health: 'Health',
      hotel: 'Hotels and Restaurants',
      other: 'Other non-residential buildings',
    };
    const bage = [
      'Before 1945',
      '1945 - 1969',
      '1970 - 1979',
      '1980 - 1989',
      '1990 - 1999',
      '2000 - 2010',
      '2011 - 2020',
    ];
    for (const [archetype, name] of Object.entries(subsector) as [Archetype, string][]) {
      PERIODS.forEach((period, i) => {
        const row = rows.find((r) => r.subsector === name && r.bage === bage[i]);
        assert.ok(row, `${name} ${bage[i]}`);
        const areaMm2 = Number(row.area_Mm2);
        const final = Number(row.fec_sh_kWh_m2) + Number(row.fec_dhw_kWh_m2);
        assert.ok(
          Math.abs(ARCHETYPES[archetype].areaMm2[period.id] - areaMm2) < 0.01,
          `${archetype} ${period.id} area`,
        );
        assert.ok(
          Math.abs(ARCHETYPES[archetype].finalKwhPerM2[period.id] - final) < 0.1,
          `${archetype} ${period.id} energy`,
        );
      });
    }
  },
);

Facts('the electricity factor is the 2025 Electricity Maps figure for Romania', () => {
  const rows = parse(readFileSync(`${DATA}/energy-stats/romania_grid_co2_intensity.csv`), {
    columns: true,
  }) as Record<string, string>[];
  const latest = rows.find((r) => r.indicator!.startsWith('grid carbon intensity') && r.year === '2025')!;
  assert.is(Number(latest.value) / 1000, ELECTRICITY_KG_PER_KWH);
  for (const city of CITY_FACTS) assert.is(city.emissionFactors.electricity, ELECTRICITY_KG_PER_KWH);
});

const real = (file: string) =>
  (JSON.parse(readFileSync(`${DATA}/boundaries/${file}`, 'utf8')) as { features: Feature<Polygon>[] })
    .features;

function assertFollows(name: string, coarse: Polygon, truth: Polygon): void {
  const ratio = area(coarse) / area(truth);
  assert.ok(
    Math.abs(ratio - 1) < 0.03,
    `${name}: area within 3 % of the real boundary (${ratio.toFixed(4)})`,
  );
  const [a, b] = [bbox(coarse), bbox(truth)];
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 0.003, `${name}: extent edge ${i}`);
}

Facts(
  'the coarse outlines follow the real administrative boundaries (area within 3 %, extent within ~300 m)',
  () => {
    const sectors = real('bucharest_sectors_uat-harta.geojson');
    const bucharest = CITY_FACTS.find((c) => c.id === 'bucharest')!;
    for (const d of bucharest.districts) {
      const n = d.id.slice('sector-'.length);
      const truth = sectors.find((f) => String(f.properties?.UAT).endsWith(`Sectorul ${n}`))!;
      assertFollows(d.name, ringPolygon(d.outline!), truth.geometry);
    }
    const cluj = CITY_FACTS.find((c) => c.id === 'cluj-napoca')!;
    assertFollows(
      'Cluj-Napoca',
      ringPolygon(cluj.outline),
      real('cluj-napoca_municipality_uat-harta.geojson')[0]!.geometry,
    );
    const suceava = CITY_FACTS.find((c) => c.id === 'suceava')!;
    assertFollows(
      'Suceava',
      ringPolygon(suceava.outline),
      real('suceava_municipality_uat-harta.geojson')[0]!.geometry,
    );
  },
);

Facts('every neighbourhood centre lies inside its city', () => {
  for (const city of CITY_FACTS) {
    const outline = polygon([city.outline]);
    for (const d of city.districts) {
      if (d.centre) assert.ok(booleanPointInPolygon(d.centre, outline), `${city.id} ${d.name}`);
    }
  }
});

Facts.run();
