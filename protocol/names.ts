/** `mul` → `Mul`: the exported-name convention of rpcx's Go peers, applied to method names on both sides. */
export function goName(property: string): string {
  return property.length === 0 ? property : property[0]!.toUpperCase() + property.slice(1);
}
