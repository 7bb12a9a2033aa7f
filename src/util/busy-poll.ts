// Keeps the event loop polling for a short window after an answer instead of letting its
// thread sleep.
//
// Why: on a virtual machine a sleeping thread's vCPU halts, and waking it for the next
// request costs far more than the request itself (measured on a 2-core VM: a uWS hello server
// at one connection answers in ~130–400 µs p50 when it sleeps between requests, ~50–70 µs when
// it keeps polling). A client that sends its next request as soon as it has the answer (the
// usual closed loop) finds the loop awake. Each turn scheduled here makes libuv poll for I/O
// with a zero timeout, so sockets and worker replies are still served at once.
//
// Contract: polling lasts at most `windowUs` after the latest kick(), and only while
// `allowed()` holds; kick() with windowUs 0 does nothing. The CPU cost is at most `windowUs`
// of one core per answer, and none when no requests arrive.

export interface BusyPollDeps {
  nowUs(): number;
  /** Schedules `fn` for the next loop turn (setImmediate). */
  schedule(fn: () => void): void;
  /**
   * False while polling would take CPU that other work needs, e.g. while a worker thread runs
   * a batch on a machine with few cores; polling then stops until the next kick().
   */
  allowed(): boolean;
}

export class BusyPoller {
  private lastKickUs = 0;
  private polling = false;
  private stopped = false;

  constructor(
    private readonly windowUs: number,
    private readonly deps: BusyPollDeps,
  ) {}

  /** Call after each answer: keeps the loop awake for the next `windowUs`. */
  kick(): void {
    if (this.windowUs <= 0 || this.stopped) return;
    this.lastKickUs = this.deps.nowUs();
    if (this.polling) return;
    this.polling = true;
    this.deps.schedule(this.turn);
  }

  /** Ends polling for good (shutdown): the loop may then empty and the process exit. */
  stop(): void {
    this.stopped = true;
  }

  get isPolling(): boolean {
    return this.polling;
  }

  private readonly turn = (): void => {
    if (!this.stopped && this.deps.nowUs() - this.lastKickUs < this.windowUs && this.deps.allowed()) {
      this.deps.schedule(this.turn);
    } else {
      this.polling = false;
    }
  };
}
