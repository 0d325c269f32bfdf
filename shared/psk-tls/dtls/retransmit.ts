/**
 * Flight retransmission timer, RFC 6347 §4.2.4 / §4.2.4.1: start at 1 s, double on every expiry, cap at 60 s.
 * The timer stops when the peer's next flight arrives; the last flight of a handshake gets no timer.
 */

export interface RetransmitOptions {
  initialMs?: number;
  maxMs?: number;
  /** Give up (call onGiveUp) after this many retransmissions. Default 7 (≈ 2 min of back-off at 1 s). */
  maxRetransmissions?: number;
}

export class FlightTimer {
  private timer: NodeJS.Timeout | undefined;
  private active = false;
  private current: number;
  private count = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly maxRetransmissions: number;

  constructor(
    opts: RetransmitOptions,
    private readonly onExpire: () => void,
    private readonly onGiveUp: () => void,
  ) {
    this.initialMs = opts.initialMs ?? 1000;
    this.maxMs = opts.maxMs ?? 60_000;
    this.maxRetransmissions = opts.maxRetransmissions ?? 7;
    this.current = this.initialMs;
  }

  /** Arms the timer for a freshly sent flight (resets the back-off). */
  start(): void {
    this.stop();
    this.active = true;
    this.current = this.initialMs;
    this.count = 0;
    this.arm();
  }

  private arm(): void {
    this.timer = setTimeout(() => this.expire(), this.current);
  }

  private expire(): void {
    this.timer = undefined;
    if (this.count >= this.maxRetransmissions) {
      this.active = false;
      this.onGiveUp();
      return;
    }
    this.count++;
    this.current = Math.min(this.current * 2, this.maxMs); // §4.2.4.1: double the value
    this.onExpire();
    if (this.active && this.timer === undefined) this.arm(); // onExpire may have stopped or restarted us
  }

  stop(): void {
    this.active = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }
  /** The timeout that the next expiry will use (ms). */
  get timeoutMs(): number {
    return this.current;
  }
  get retransmissions(): number {
    return this.count;
  }
}
