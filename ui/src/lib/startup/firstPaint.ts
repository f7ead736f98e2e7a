/**
 * Start-up time: the first screen a launch shows reports itself once it is on screen, so that
 * the shell logs how long the person waited (and `scripts/bench.sh app` can time cold starts).
 */
import { firstScreenPainted, type FirstScreen } from '$lib/ipc';

let reported = false;

/**
 * Reports `screen` as the first one painted, once per page load. Waits two animation frames:
 * the first callback runs before the frame with the new DOM is drawn, the second after it.
 * A failure is not worth showing: the report only feeds a log line.
 */
export function reportFirstPaint(screen: FirstScreen, frame: (cb: () => void) => void = requestAnimationFrame): void {
  if (reported) return;
  reported = true;
  frame(() => {
    frame(() => {
      firstScreenPainted(screen).catch(() => undefined);
    });
  });
}

/** Forgets the report (tests only: each test is a new "launch"). */
export function resetFirstPaintForTests(): void {
  reported = false;
}
