export * from "./config.js";
export * from "./control.js";
export * from "./decisions.js";
export * from "./names.js";
export * from "./sim.js";
export * from "./telemetry.js";
export * from "./validate.js";
export * from "./version.js";
