/**
 * One socket speaking HTTP (keep-alive: many requests) and the way its requests go through the Dispatcher: each
 * request becomes an rpcx Message and a DispatchTarget that settles one promise with how the call ended.
 */
import type http from 'node:http';
import type { Logger } from '../../logger.js';
import type { Message } from '../../protocol/message.js';
import type { Dispatcher, DispatchTarget } from '../dispatcher.js';
import { FrontCallTarget, FrontConnection } from '../front-connection.js';
import type { PluginContainer } from '../plugins.js';

/** What the front end needs from its Server. */
export interface FrontendHost {
  readonly dispatcher: Dispatcher;
  readonly plugins: PluginContainer;
  readonly logger: Logger;
  /** Largest request body accepted (413 above). */
  readonly maxBodyLength: number;
  readonly gateway: boolean;
  readonly jsonRpc: boolean;
  readonly pages: boolean;
  /** Serves a builtin page. */
  servePage(path: string, req: http.IncomingMessage, res: http.ServerResponse): void;
  connectionClosed(connection: HttpConnection, error?: Error): void;
}

/** One socket speaking HTTP (keep-alive: many requests). */
export class HttpConnection extends FrontConnection {
  readonly protocol = 'http';

  /** Closes gracefully once the current response (if any) is written. */
  close(): void {
    if (this.inFlight === 0) this.socket.end();
  }
}

/** How the dispatcher settled one HTTP-borne request. */
export type HttpOutcome =
  | { kind: 'reply'; reply: Message }
  | { kind: 'unauthorized'; text: string }
  /** A oneway call started (its handler runs; nothing more will come). */
  | { kind: 'accepted' }
  | { kind: 'oneway-failed'; text: string };

/** The dispatcher's view of one HTTP-borne request. */
class HttpCallTarget extends FrontCallTarget implements DispatchTarget {
  readonly protocol: string;
  readonly #oneway: boolean;
  #settle: ((outcome: HttpOutcome) => void) | undefined;

  constructor(connection: HttpConnection, protocol: string, oneway: boolean, settle: (outcome: HttpOutcome) => void) {
    super(connection);
    this.protocol = protocol;
    this.#oneway = oneway;
    this.#settle = settle;
  }

  respond(reply: Message): void {
    this.#done({ kind: 'reply', reply });
  }
  override callStarted(): void {
    super.callStarted();
    if (this.#oneway) this.#done({ kind: 'accepted' });
  }
  authFailed(text: string): void {
    this.#done({ kind: 'unauthorized', text });
  }
  onewayFailed(text: string): void {
    this.#done({ kind: 'oneway-failed', text });
  }

  #done(outcome: HttpOutcome): void {
    const settle = this.#settle;
    this.#settle = undefined;
    settle?.(outcome);
  }
}

/** Runs one request through the dispatcher and resolves with how it ended. */
export function dispatchHttp(dispatcher: Dispatcher, connection: HttpConnection, request: Message, protocol: string): Promise<HttpOutcome> {
  return new Promise((resolve) => dispatcher.dispatch(request, new HttpCallTarget(connection, protocol, request.oneway, resolve)));
}

