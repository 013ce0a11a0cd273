/** Marks model instances, so the compiler can recognise one without importing the model module. */
export const MODEL_INSTANCE: unique symbol = Symbol.for('orm-migrate.model-instance');

export function isModelInstance(value: unknown): value is { pk: unknown; [MODEL_INSTANCE]: true } {
  return typeof value === 'object' && value !== null && (value as { [MODEL_INSTANCE]?: boolean })[MODEL_INSTANCE] === true;
}

/** The database alias an instance was loaded from or saved to (Django's `_state.db`). */
export const INSTANCE_ALIAS: unique symbol = Symbol.for('orm-migrate.instance-alias');
