export { loadProxyConfigFile, readYamlFile } from "./config-file.js";
export type { ControlClient, ControlClientOptions, ControlSettings, ControlTarget } from "./control/index.js";
export { resolveControlSettings, startControlClient, startProxyControl } from "./control/index.js";
export { PROXY_HELP, runProxy } from "./main.js";
