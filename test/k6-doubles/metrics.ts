// Double of `k6/metrics`: Counter, Gauge, Rate, Trend with add(value, tags). Declared only in the
// init context (k6 refuses otherwise); each VU's init re-declares them and gets the same metric.
import { emit, registerMetric, runtime, systemTags, userTags, type MetricDef, type MetricType } from "./runtime.ts";

class Metric {
  readonly name: string;
  private readonly def: MetricDef;

  constructor(type: MetricType, name: string, isTime = false) {
    if (runtime.stage !== "init") throw new Error("metrics must be declared in the init context");
    if (typeof name !== "string" || !/^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/.test(name)) {
      throw new Error(`invalid metric name ${JSON.stringify(name)}: use letters, digits and underscores (max 128)`);
    }
    this.name = name;
    this.def = registerMetric(name, type, isTime ? "time" : "default");
  }

  add(value: unknown, tags?: Record<string, unknown>): boolean {
    if (runtime.stage === "init") throw new Error("cannot add metric samples in the init context");
    // k6 converts with ToFloat (true is 1) and only warns about a value that is not a number.
    const number = value === null || value === undefined ? Number.NaN : Number(value);
    if (Number.isNaN(number)) {
      runtime.warnings.push(`metric ${this.name}: the value ${JSON.stringify(value)} is not a number; sample dropped`);
      return false;
    }
    emit(this.def, number, { ...systemTags(), ...userTags(tags, `${this.name}.add()`) });
    return true;
  }
}

export class Counter extends Metric {
  constructor(name: string, isTime?: boolean) {
    super("counter", name, isTime);
  }
}
export class Gauge extends Metric {
  constructor(name: string, isTime?: boolean) {
    super("gauge", name, isTime);
  }
}
export class Rate extends Metric {
  constructor(name: string, isTime?: boolean) {
    super("rate", name, isTime);
  }
}
export class Trend extends Metric {
  constructor(name: string, isTime?: boolean) {
    super("trend", name, isTime);
  }
}

export default { Counter, Gauge, Rate, Trend };
