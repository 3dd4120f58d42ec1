export { loadProxyConfigFile, readYamlFile } from "./config-file.js";
export { PROXY_HELP, runProxy } from "./main.js";
