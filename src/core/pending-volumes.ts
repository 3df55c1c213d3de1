import type { Driver, Labels } from "./driver.ts";

/**
 * Creates cargo volumes together with their rows. Between the engine call and
 * the database write a new volume looks exactly like an orphan, so the
 * collector asks `has` and leaves such volumes alone whatever their age; and
 * if the rows cannot be written, the volume goes again (nothing half-created).
 */
export class PendingVolumes {
  private readonly names = new Set<string>();

  constructor(private readonly driver: Driver) {}

  has(name: string): boolean {
    return this.names.has(name);
  }

  async createWithRows(name: string, labels: Labels, writeRows: () => Promise<void>): Promise<void> {
    this.names.add(name);
    try {
      await this.driver.createVolume(name, labels);
      try {
        await writeRows();
      } catch (error) {
        await this.driver.removeVolume(name).catch(() => undefined);
        throw error;
      }
    } finally {
      this.names.delete(name);
    }
  }
}
