/**
 * The saga definitions a runner knows, by name and version: new sagas start on a name's
 * highest version, and a saga read back from the log finishes on the version it started with.
 */
import type { SagaDefinition } from "./saga.js";

/** Lookup of registered definitions; built once, never changed. */
export interface DefinitionRegistry {
  /** The highest version registered under `name`, used by new sagas. */
  latest(name: string): SagaDefinition<unknown> | undefined;
  /** Exactly `name` v`version`, used by sagas read back from the log. */
  exact(name: string, version: number): SagaDefinition<unknown> | undefined;
}

/**
 * Indexes definitions by name and version (several versions of one name may be registered).
 * @throws TypeError when two definitions share a name and version.
 */
export function createDefinitionRegistry(definitions: readonly SagaDefinition<unknown>[]): DefinitionRegistry {
  const byName = new Map<string, Map<number, SagaDefinition<unknown>>>();
  const latestByName = new Map<string, SagaDefinition<unknown>>();
  for (const definition of definitions) {
    let versions = byName.get(definition.name);
    if (!versions) byName.set(definition.name, (versions = new Map()));
    if (versions.has(definition.version)) {
      throw new TypeError(`saga definition "${definition.name}" v${definition.version} registered twice`);
    }
    versions.set(definition.version, definition);
    const best = latestByName.get(definition.name);
    if (!best || best.version < definition.version) latestByName.set(definition.name, definition);
  }
  return {
    latest: (name) => latestByName.get(name),
    exact: (name, version) => byName.get(name)?.get(version),
  };
}
