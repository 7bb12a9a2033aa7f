// The busy poller keeps the loop turning for its window after the latest answer, only while
// allowed, and never after stop(); with a window of 0 it never schedules anything.
import { expect, it } from 'vitest';
import { BusyPoller } from '../src/util/busy-poll.js';

function harness(windowUs: number) {
  let now = 0;
  let allowed = true;
  const queue: (() => void)[] = [];
  const poller = new BusyPoller(windowUs, {
    nowUs: () => now,
    schedule: (fn) => queue.push(fn),
    allowed: () => allowed,
  });
  /** Runs one loop turn `stepUs` later; returns how many turns are scheduled after it. */
  const turn = (stepUs: number): number => {
    now += stepUs;
    const fns = queue.splice(0);
    for (const fn of fns) fn();
    return queue.length;
  };
  return { poller, turn, setAllowed: (a: boolean) => (allowed = a), scheduled: () => queue.length };
}

it('polls for the window after the latest kick, then lets the loop sleep', () => {
  const h = harness(300);
  h.poller.kick();
  expect(h.scheduled()).toBe(1);
  expect(h.turn(100)).toBe(1); // t=100
  expect(h.turn(100)).toBe(1); // t=200
  h.poller.kick(); // an answer at t=200 extends the window to t=500
  expect(h.scheduled()).toBe(1); // no second chain
  expect(h.turn(250)).toBe(1); // t=450
  expect(h.turn(100)).toBe(0); // t=550: past the window
  expect(h.poller.isPolling).toBe(false);
  h.poller.kick(); // a later answer starts a new window
  expect(h.scheduled()).toBe(1);
});

it('stops while not allowed (a worker needs the core) and after stop()', () => {
  const h = harness(1000);
  h.poller.kick();
  h.setAllowed(false);
  expect(h.turn(10)).toBe(0);
  h.setAllowed(true);
  h.poller.kick();
  expect(h.turn(10)).toBe(1);
  h.poller.stop();
  expect(h.turn(10)).toBe(0);
  h.poller.kick();
  expect(h.scheduled()).toBe(0);
});

it('a window of 0 never schedules', () => {
  const h = harness(0);
  h.poller.kick();
  expect(h.scheduled()).toBe(0);
});
