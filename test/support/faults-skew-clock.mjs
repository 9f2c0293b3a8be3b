// Preloaded with `node --import`: moves this whole process's wall clock (Date.now(), new Date()) by
// FAULTS_CLOCK_OFFSET_MS, like a laptop whose clock is off. Timers and performance.now() are untouched.
const offset = Number(process.env.FAULTS_CLOCK_OFFSET_MS ?? 0);
if (offset) {
  const RealDate = globalThis.Date;
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...args);
    }
    static now() {
      return RealDate.now() + offset;
    }
  }
  globalThis.Date = SkewedDate;
}
