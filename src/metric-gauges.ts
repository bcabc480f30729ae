/** State gauges read at scrape time, shared by the agent's and the issuer's metrics. */
import { Gauge, type Registry } from 'prom-client';

/** Registers a gauge in `registers` whose value is `read()` at every scrape. */
export function scrapedGauge(registers: Registry[], name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(read());
    },
  });
}

/** A time in ms as Prometheus seconds; 0 stands for "none" (a gauge cannot be absent). */
export const timestampSeconds = (ms: number | undefined): number => (ms === undefined ? 0 : ms / 1000);
