/** Small helpers for the cross-service tests. */
import { createServer } from "node:net";

export { Closer, waitFor } from "../packages/adapters/test/services.js";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
