export * from "./clock.js";
export * from "./host.js";
export * from "./lb/types.js";
