/**
 * A promise whose resolve/reject land on fields of an object the caller already has, without an executor closure
 * (and the context object it drags along) per promise: on the hot path of every call that is two allocations saved.
 */
export interface Settlers {
  resolveCall: (value: unknown) => void;
  rejectCall: (error: unknown) => void;
}

let binding: Settlers | undefined;

function bindSettlers(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  binding!.resolveCall = resolve;
  binding!.rejectCall = reject;
}

/** A new promise settled through `holder.resolveCall` / `holder.rejectCall`. */
export function promiseFor<T>(holder: Settlers): Promise<T> {
  binding = holder;
  try {
    return new Promise<unknown>(bindSettlers) as Promise<T>;
  } finally {
    binding = undefined;
  }
}
