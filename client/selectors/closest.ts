/**
 * Closest: the server nearest to the client by great-circle distance, from the servers' `latitude=` and
 * `longitude=` metadata and the client's own coordinates. Servers without coordinates are used only when no server
 * has any. Ties are broken at random.
 */
import { candidates, metadataNumber, randomIndex, type SelectInfo, type Selector } from './selector.js';

interface Located {
  server: string;
  latitude: number;
  longitude: number;
}

export class ClosestSelector implements Selector {
  readonly #latitude: number;
  readonly #longitude: number;
  #located: Located[] = [];
  #all: string[] = [];

  constructor(latitude: number, longitude: number) {
    this.#latitude = latitude;
    this.#longitude = longitude;
  }

  select(info: SelectInfo): string | undefined {
    const exclude = info.exclude;
    let located = this.#located;
    if (exclude && exclude.size > 0) {
      const left = located.filter((l) => !exclude.has(l.server));
      if (left.length > 0) located = left;
    }
    if (located.length === 0) {
      const list = candidates(this.#all, exclude);
      return list.length === 0 ? undefined : list[randomIndex(list.length)];
    }
    let best: string[] = [];
    let bestDistance = Infinity;
    for (const l of located) {
      const d = distanceKm(this.#latitude, this.#longitude, l.latitude, l.longitude);
      if (d < bestDistance) {
        bestDistance = d;
        best = [l.server];
      } else if (d === bestDistance) best.push(l.server);
    }
    return best.length === 1 ? best[0] : best[randomIndex(best.length)];
  }

  update(servers: ReadonlyMap<string, string>): void {
    this.#all = [...servers.keys()];
    const located: Located[] = [];
    for (const [server, metadata] of servers) {
      const latitude = metadataNumber(metadata, 'latitude', undefined);
      const longitude = metadataNumber(metadata, 'longitude', undefined);
      if (latitude !== undefined && longitude !== undefined) located.push({ server, latitude, longitude });
    }
    this.#located = located;
  }
}

/** Great-circle (haversine) distance in km between two points given in degrees. */
export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(a)));
}
