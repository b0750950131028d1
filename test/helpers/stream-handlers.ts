/** Small streaming handlers the tests register with `registerFunction(..., { stream })`. */

/** A client-streaming handler: the sum of the numbers the client sends. */
export async function sumOfInput(input: unknown): Promise<number> {
  let total = 0;
  for await (const n of input as AsyncIterable<number>) total += n;
  return total;
}
