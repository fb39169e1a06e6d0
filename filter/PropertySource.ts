/**
 * The message properties a filter reads: RocketMQ evaluates SQL92 over the properties map only
 * (TAGS, KEYS and user properties, every value a string).
 */
export type PropertySource = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

/**
 * Reads one property. A plain object is read through its own keys only, so a property named
 * "constructor" or "__proto__" is just a property, never something inherited.
 */
export function getProperty(props: PropertySource, name: string): string | undefined {
  // any map-like object counts as a map; a record's own "get" would be a string, not a function
  if (typeof (props as { get?: unknown }).get === 'function') return (props as ReadonlyMap<string, string>).get(name);
  const record = props as Readonly<Record<string, string>>;
  if (!Object.hasOwn(record, name)) return undefined;
  const value: unknown = record[name];
  return typeof value === 'string' ? value : undefined;
}
