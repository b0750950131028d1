/** Entry point of the gRPC echo server process. */
import { serve } from './grpc-echo.js';

serve();
