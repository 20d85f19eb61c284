import { CityTwin, type CityTwinSnapshot, createCityTwin } from '../twin/cityTwin.js';
import { TimeTravel, type TimeTravelOptions, type TwinAdapter } from './timeTravel.js';

/**
 * Time travel over the city twin of src/twin/: the same apply as the live projections, without building the
 * change lists nobody listens to (features are made when read).
 */
export const cityTwinAdapter: TwinAdapter<CityTwin> = {
  create: (city) => createCityTwin(city),
  apply: (twin, event) => twin.applySilently(event),
  toSnapshot: (twin) => twin.toSnapshot(),
  fromSnapshot: (snapshot) => CityTwin.fromSnapshot(snapshot as CityTwinSnapshot),
  clone: (twin) => twin.clone(),
  beginBulk: (twin) => twin.beginBulk(),
  endBulk: (twin) => twin.endBulk(),
  observeTime: (twin, ms) => {
    twin.advanceClock(ms);
  },
};

/** Time travel for city twins. `dir` is where its index and snapshots persist (e.g. `<DATA_DIR>/time-travel`). */
export function createCityTimeTravel(
  options: Omit<TimeTravelOptions<CityTwin>, 'twin'>,
): TimeTravel<CityTwin> {
  return new TimeTravel({ ...options, twin: cityTwinAdapter });
}
