/** Every dashboard meshtune ships, in the order docs/dashboards.md explains them. */
import type { Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { CLUSTER_UID, clusterDashboard } from "./cluster.js";
import { FLEET_UID, fleetDashboard } from "./fleet.js";
import { TUNER_UID, tunerDashboard } from "./tuner.js";

export interface DashboardDef {
  uid: string;
  build(): Dashboard;
}

export const DASHBOARDS: readonly DashboardDef[] = [
  { uid: FLEET_UID, build: () => fleetDashboard().build() },
  { uid: CLUSTER_UID, build: () => clusterDashboard().build() },
  { uid: TUNER_UID, build: () => tunerDashboard().build() },
];
