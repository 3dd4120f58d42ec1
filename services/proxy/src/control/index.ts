export type { ClusterControlState, ControlClient, ControlClientOptions, ControlTarget } from "./client.js";
export { startControlClient } from "./client.js";
export type { ControlSettings } from "./options.js";
export { CONTROL_HELP, CONTROL_OPTIONS, resolveControlSettings } from "./options.js";
export { startProxyControl } from "./start.js";
