// Recent issuances and refusals, kept in memory for the status page: a bounded ring buffer the
// issuer appends to. Holds only what is safe to show (codes, safe messages, IDs, peers, serials).

/** One issuance or refusal, as shown on the status page. Times are ms since epoch. */
export interface ActivityEvent {
  readonly at: number;
  readonly outcome: 'issued' | 'refused';
  /** Known once the caller is attested; null for refusals before that. */
  readonly spiffeId: string | null;
  readonly peer: string;
  readonly attestor: string;
  /** Issued certificates only. */
  readonly serial: string | null;
  readonly notAfter: number | null;
  /** Refusals only: the TetherError code and its caller-safe message. */
  readonly code: string | null;
  readonly message: string | null;
}

export const DEFAULT_ACTIVITY_CAPACITY = 100;

export class ActivityLog {
  private readonly events: (ActivityEvent | undefined)[];
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number = DEFAULT_ACTIVITY_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.events = new Array<ActivityEvent | undefined>(capacity);
  }

  /** Appends an event, overwriting the oldest once full. */
  record(event: ActivityEvent): void {
    this.events[this.next] = event;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /** Events newest first. */
  recent(): ActivityEvent[] {
    const out: ActivityEvent[] = [];
    for (let i = 1; i <= this.size; i++) {
      const e = this.events[(this.next - i + this.capacity) % this.capacity];
      if (e) out.push(e);
    }
    return out;
  }
}
