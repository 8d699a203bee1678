/**
 * belay's CEL engine for Kubernetes (ValidatingAdmissionPolicy semantics). The only module
 * that imports the CEL library.
 */

export {
  type CostBudget,
  createCostBudget,
  MAX_MESSAGE_EXPRESSION_LENGTH,
  PER_CALL_COST_LIMIT,
  PER_EVALUATION_COST_BUDGET,
} from "./cost.ts";
export {
  type Activation,
  type ActivationOptions,
  type CelCompileError,
  type CelEnvironment,
  type CelEnvironmentOptions,
  type CelVariableType,
  type CompiledExpression,
  type CompileOptions,
  createCelEnvironment,
  type EvaluateOptions,
  type EvaluationErrorCode,
  type EvaluationResult,
  requestOnlyKey,
  VAP_VARIABLES,
  type VariableMemo,
} from "./environment.ts";
export {
  type AuthzAttributes,
  type AuthzDecision,
  type AuthzUser,
  type CelAuthorizer,
  serviceAccountUser,
} from "./lib/authz.ts";
export { truncateMessage } from "./message.ts";
export type { JsValue } from "./values.ts";
export {
  compareVersions,
  formatVersion,
  type K8sVersion,
  LATEST_K8S_VERSION,
  OLDEST_K8S_VERSION,
  parseK8sVersion,
} from "./version.ts";
