// Messages between the main thread and a media worker, grouped per turn: every postMessage may wake the other
// thread (an eventfd write, and in a VM an interrupt to the other core), and a call's setup posts several commands
// at once (create both endpoints; set the remotes, stop ringback and bridge), each answered by a response.

/** Collects messages posted in one turn of this thread and sends them together once the turn's code has run. */
export class MessageBatch<T> {
  private list: T[] = [];

  constructor(
    /** Sends what the turn posted, in order (one message or more). */
    private readonly send: (list: T[]) => void,
    /** Runs the flush after the current task and its promise callbacks (default: process.nextTick). */
    private readonly schedule: (flush: () => void) => void = (flush) => process.nextTick(flush),
  ) {}

  add(message: T): void {
    this.list.push(message);
    if (this.list.length === 1) this.schedule(this.flush);
  }

  /** Sends what is queued now: before a message that must not overtake it goes out on its own. */
  readonly flush = (): void => {
    if (this.list.length === 0) return;
    const list = this.list;
    this.list = [];
    this.send(list);
  };
}
