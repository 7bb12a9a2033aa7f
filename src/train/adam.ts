// Adam (Kingma & Ba, 2015) over a fixed list of parameter arrays, updated in place.

export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export class Adam {
  private readonly params: readonly Float64Array[];
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private readonly learningRate: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private t = 0;

  /** `params` are owned by the caller and mutated by `step`. */
  constructor(params: readonly Float64Array[], opts: AdamOptions) {
    this.params = params;
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
    this.learningRate = opts.learningRate;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
  }

  /** One update; `grads[k]` must have the shape of `params[k]`. */
  step(grads: readonly Float64Array[]): void {
    this.t++;
    const { beta1, beta2, epsilon } = this;
    // Bias correction folded into the step size (the paper's "efficient" form).
    const stepSize =
      (this.learningRate * Math.sqrt(1 - beta2 ** this.t)) / (1 - beta1 ** this.t);
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k]!;
      const g = grads[k]!;
      const m = this.m[k]!;
      const v = this.v[k]!;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        const mi = beta1 * m[i]! + (1 - beta1) * gi;
        const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i]! -= (stepSize * mi) / (Math.sqrt(vi) + epsilon);
      }
    }
  }
}
