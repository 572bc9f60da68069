export type { Clock, Env, Random, TimerHandle, Timers } from './types.js';
export { RealClock, RealRandom, RealTimers, realEnv } from './real.js';
export { SeededRandom, SimClock, SimScheduler, SimTimers } from './sim.js';
