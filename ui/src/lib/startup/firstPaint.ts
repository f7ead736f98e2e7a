/**
 * Start-up time: the first screen a launch shows reports itself once it is on screen, so that
 * the shell logs how long the person waited (and `scripts/bench.sh app` can time cold starts).
 */
import { firstScreenPainted, type FirstScreen } from '$lib/ipc';

let reported = false;
/** Bumped by the test reset: frames scheduled before it must not report into the next test. */
let launch = 0;

/**
 * Reports `screen` as the first one painted, once per page load. Waits two animation frames:
 * the first callback runs before the frame with the new DOM is drawn, the second after it.
 * A failure is not worth showing: the report only feeds a log line.
 */
export function reportFirstPaint(screen: FirstScreen, frame: (cb: () => void) => void = requestAnimationFrame): void {
  if (reported) return;
  reported = true;
  const mine = launch;
  frame(() => {
    frame(() => {
      if (mine !== launch) return;
      firstScreenPainted(screen).catch(() => undefined);
    });
  });
}

/**
 * Forgets the report and drops the frames still pending (tests only: each test is a new
 * "launch", and a report scheduled by one test must not land in the next one's IPC log).
 */
export function resetFirstPaintForTests(): void {
  reported = false;
  launch += 1;
}
