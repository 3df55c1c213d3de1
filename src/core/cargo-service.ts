import { consola } from "consola";
import type { Driver } from "./driver.ts";
import { ConflictError, NotFoundError } from "../shared/errors.ts";
import { newId } from "./ids.ts";
import { bayLabels, volumeName } from "./labels.ts";
import { paginate, type Page } from "./pagination.ts";
import type { PendingVolumes } from "./pending-volumes.ts";
import type { Quotas } from "./quotas.ts";
import type { StateStore } from "./state-store.ts";
import { cargoView, type CargoView } from "./views.ts";
import type { CargoRow } from "../db/schema.ts";

export const DEFAULT_CARGO_SIZE_MB = 1024;

export interface ListCargosInput {
  limit: number;
  cursor?: string;
  /** true: managed cargos (those created with a sandbox); false (default): external ones. */
  managed?: boolean;
}

/** External cargos: workspace volumes that outlive the sandboxes attached to them (api.md §5). */
export class CargoService {
  constructor(
    private readonly store: StateStore,
    private readonly driver: Driver,
    private readonly instanceId: string,
    private readonly pendingVolumes: PendingVolumes,
    private readonly quotas: Quotas,
  ) {}

  async create(owner: string, input: { size_limit_mb?: number }): Promise<CargoView> {
    // Checked before any engine work, and again where the row is written (concurrent creates).
    this.quotas.checkRoomForOne(owner, "max_cargos", await this.store.countExternalCargos(owner));
    const now = Date.now();
    const id = newId("cargo");
    const cargo: CargoRow = {
      id,
      owner,
      managed: false,
      managedBySandboxId: null,
      volumeName: volumeName(id),
      sizeLimitMb: input.size_limit_mb ?? DEFAULT_CARGO_SIZE_MB,
      createdAt: now,
      lastAccessedAt: now,
      deletedAt: null,
    };
    await this.pendingVolumes.createWithRows(cargo.volumeName, bayLabels({ instanceId: this.instanceId, owner, cargoId: id }), () =>
      this.store.insertCargo(cargo, (external) => this.quotas.checkRoomForOne(owner, "max_cargos", external)),
    );
    consola.info(`cargo ${id} created (owner ${owner})`);
    return cargoView(cargo);
  }

  async get(owner: string, id: string): Promise<CargoView> {
    const cargo = await this.store.findCargo(owner, id);
    if (!cargo) throw new NotFoundError("cargo", id);
    return cargoView(cargo);
  }

  list(owner: string, input: ListCargosInput): Promise<Page<CargoView>> {
    return paginate(
      (after, limit) => this.store.listCargos(owner, input.managed ?? false, after, limit),
      input.limit,
      input.cursor,
      cargoView,
    );
  }

  /** 409 while a live sandbox uses it; a repeated delete is a no-op. */
  async delete(owner: string, id: string): Promise<void> {
    const cargo = await this.store.findCargoRecord(owner, id);
    if (!cargo) throw new NotFoundError("cargo", id);
    if (!cargo.deletedAt) {
      const { activeSandboxIds } = await this.store.deleteCargoIfUnused(cargo.id, Date.now());
      if (activeSandboxIds.length > 0) {
        throw new ConflictError(`cargo ${id} is in use by ${activeSandboxIds.length} sandbox(es)`, {
          cargo_id: id,
          active_sandbox_ids: activeSandboxIds,
        });
      }
      consola.info(`cargo ${id} deleted (owner ${owner})`);
    }
    // Also on a repeat: finishes a removal the engine refused last time.
    await this.driver.removeVolume(cargo.volumeName);
  }
}
