/**
 * Grafana provisioning (dashboards/provisioning/): the Prometheus data source and a file
 * provider for dashboards/generated. Paths are the ones infra/compose/compose.yaml mounts.
 */
export const DATASOURCE_UID = "meshtune-prometheus";
export const GRAFANA_DASHBOARD_DIR = "/var/lib/grafana/dashboards/meshtune";

export function datasources(prometheusUrl: string): Record<string, unknown> {
  return {
    apiVersion: 1,
    datasources: [
      {
        name: "Prometheus (meshtune)",
        uid: DATASOURCE_UID,
        type: "prometheus",
        access: "proxy",
        url: prometheusUrl,
        isDefault: true,
        // Matches the scrape interval, so $__rate_interval covers at least four samples.
        jsonData: { timeInterval: "15s" },
      },
    ],
  };
}

export function dashboardProviders(): Record<string, unknown> {
  return {
    apiVersion: 1,
    providers: [
      {
        name: "meshtune",
        folder: "meshtune",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: GRAFANA_DASHBOARD_DIR, foldersFromFilesStructure: false },
      },
    ],
  };
}
