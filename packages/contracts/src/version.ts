/**
 * Every wire contract carries an apiVersion. Bump the suffix on a breaking change; readers
 * reject versions they do not know (see docs/decisions/0001-contracts.md).
 */
export const CONFIG_API_VERSION = "meshtune.io/v1alpha1" as const;
export const SIM_API_VERSION = "meshtune.io/sim/v1alpha1" as const;
export const DECISION_API_VERSION = "meshtune.io/decision/v1alpha1" as const;
