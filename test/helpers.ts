/** Small helpers for the cross-service tests. */

export { freePort, stopChild } from "@meshtune/testkit";
export { Closer, waitFor } from "../packages/adapters/test/services.js";
