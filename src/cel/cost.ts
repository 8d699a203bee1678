/**
 * Runtime cost accounting in cel-go's units (interpreter/runtimecost.go and Kubernetes'
 * library/cost.go). Costs are charged as the interpreter evaluates each node; exceeding the
 * limit aborts evaluation at once.
 */

/** kube-apiserver's per-expression runtime cost limit (`celconfig.PerCallLimit`). */
export const PER_CALL_COST_LIMIT = 1_000_000;
/** kube-apiserver's per-evaluation budget shared by all expressions of one policy evaluation (`RuntimeCELCostBudget`). */
export const PER_EVALUATION_COST_BUDGET = 10_000_000;
/** messageExpression output is truncated to this many bytes (5 KiB), as kube-apiserver does. */
export const MAX_MESSAGE_EXPRESSION_LENGTH = 5 * 1024;

/** cel-go common/cost.go constants. */
export const SELECT_AND_IDENT_COST = 1;
export const LIST_CREATE_BASE_COST = 10;
export const MAP_CREATE_BASE_COST = 30;
export const STRUCT_CREATE_BASE_COST = 40;
export const STRING_TRAVERSAL_COST_FACTOR = 0.1;
export const REGEX_STRING_LENGTH_COST_FACTOR = 0.25;
/** Kubernetes' cost of one authorizer check (library/cost.go). */
export const AUTHZ_CHECK_COST = 350_000;

/** Thrown inside the interpreter when a cost limit is exceeded; caught at the evaluation boundary. */
export class CostLimitExceeded extends Error {
  readonly kind: "expression" | "budget";
  readonly cost: number;
  constructor(kind: "expression" | "budget", cost: number) {
    super(
      kind === "expression"
        ? "operation cancelled: actual cost limit exceeded"
        : "validation failed due to running out of cost budget, no further validation rules will be run",
    );
    this.name = "CostLimitExceeded";
    this.kind = kind;
    this.cost = cost;
  }
}

/**
 * A cost budget shared by several evaluations (one admission request's policy evaluation).
 * `remaining` decreases as evaluations charge it.
 */
export interface CostBudget {
  remaining: number;
}

/** A new shared budget (default: kube-apiserver's 10,000,000 per evaluation). */
export function createCostBudget(limit: number = PER_EVALUATION_COST_BUDGET): CostBudget {
  return { remaining: limit };
}

/** Cost tracker for one expression evaluation. */
export class CostTracker {
  cost = 0;
  private readonly stop: number;
  private readonly kind: "expression" | "budget";
  constructor(perCallLimit: number, budget: CostBudget | undefined) {
    if (budget !== undefined && budget.remaining < perCallLimit) {
      this.stop = Math.max(0, budget.remaining);
      this.kind = "budget";
    } else {
      this.stop = perCallLimit;
      this.kind = "expression";
    }
  }
  /** Adds `n` units; throws {@link CostLimitExceeded} past the limit. */
  charge(n: number): void {
    this.cost += n;
    if (this.cost > this.stop) throw new CostLimitExceeded(this.kind, this.cost);
  }
  /** Throws if charging `n` would exceed the limit, without charging (for pre-checks of O(n) work). */
  precheck(n: number): void {
    if (this.cost + n > this.stop) {
      this.cost += n;
      throw new CostLimitExceeded(this.kind, this.cost);
    }
  }
}

/** `ceil(size * factor)` as cel-go computes traversal costs. */
export function traversalCost(size: number, factor: number = STRING_TRAVERSAL_COST_FACTOR): number {
  return Math.ceil(size * factor);
}
