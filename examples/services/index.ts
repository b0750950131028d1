/** The example services, as rpcx's examples define them. */
export { Arith, type ArithArgs, type ArithReply } from './arith.js';
export { Echo } from './echo.js';
export { Feed } from './feed.js';
