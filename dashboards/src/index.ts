/**
 * @meshtune/dashboards: Grafana dashboards and Prometheus rules as code, from the contracts
 * metric catalogs. `renderAll()` gives every generated file (path -> content).
 */
export { DASHBOARDS, type DashboardDef } from "./dashboards/index.js";
export { ALERT_GROUPS, CONVERGE_WITHIN_SECONDS, RECORDED, RECORDING_GROUPS } from "./prometheus/rules.js";
export { JOBS, METRICS_PORTS, prometheusConfig, type ScrapeTarget } from "./prometheus/scrape.js";
export { dashboardPath, PROMETHEUS_FILES, renderAll } from "./render.js";
