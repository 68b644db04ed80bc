// bench:daemon:scale's failover: its timeline from the survivor's own events, and (in namespaces)
// the safety checks, from that timeline and the stub power switch's log.

/**
 * `timeline` (bench-daemon-scale-node.mjs, wall-clock ms) relative to the fault at `t0`: peer lost,
 * vote granted, fence call began / ended (serv1's first successful call on serv2), fencing confirmed,
 * first start, last start done, last transition done; and the number of starts.
 */
export function failoverTimeline(timeline, t0, calls, survivor, victim) {
  const rel = (at) => (at === undefined ? undefined : at - t0);
  const off = calls.find((c) => c.caller === survivor && c.target === victim && c.outcome === 'off');
  return {
    lostMs: rel(timeline.lostAt),
    voteMs: rel(timeline.voteAt),
    fenceBeganMs: rel(off?.began),
    fenceEndedMs: rel(off?.ended),
    fencedMs: rel(timeline.fencedAt),
    firstStartMs: rel(timeline.firstStartAt),
    lastStartMs: rel(timeline.starts.length ? Math.max(...timeline.starts.map((s) => s.at)) : undefined),
    doneMs: rel(timeline.transitionsDone.at(-1)),
    starts: timeline.starts.length,
  };
}

/**
 * What must hold after the victim's loss: the victim powered off by the survivor before the survivor
 * started anything (so nothing was ever active on both: the victim was frozen or dead from t0 until
 * then), the victim's processes killed while frozen (they never ran again), the survivor never a
 * fencing target, each of the victim's N/2 resources started once on the survivor, all N running
 * there at the end. Returns { ok, failed: [text], calls }.
 */
export function safetyChecks({ timeline, t0, calls, N, runningAfter, survivor, victim, lostExit, lostPids }) {
  const failed = [];
  const off = calls.find((c) => c.caller === survivor && c.target === victim && c.outcome === 'off');
  if (!off) failed.push(`${victim} was never powered off by ${survivor} (fence calls: ${describeCalls(calls)})`);
  else if (timeline.firstStartAt !== undefined && timeline.firstStartAt < off.ended)
    failed.push(`${survivor} started ${Math.round(off.ended - timeline.firstStartAt)} ms before ${victim} was powered off`);
  const onSurvivor = calls.filter((c) => c.target === survivor);
  if (onSurvivor.length) failed.push(`the survivor ${survivor} was a fencing target: ${describeCalls(onSurvivor)}`);
  if (lostExit !== 'SIGKILL') failed.push(`${victim}'s daemon ended by ${lostExit ?? 'nothing yet'}, not by the fence's SIGKILL`);
  if (lostPids.length) failed.push(`processes left in ${victim}'s namespace: ${lostPids.join(' ')}`);
  const instances = new Set(timeline.starts.map((s) => s.instance));
  if (instances.size !== timeline.starts.length) failed.push(`${timeline.starts.length - instances.size} starts repeated on ${survivor}`);
  if (instances.size !== N / 2) failed.push(`${instances.size} resources started on ${survivor}, not ${N / 2}`);
  const bad = timeline.starts.filter((s) => !s.ok).length;
  if (bad) failed.push(`${bad} starts failed`);
  if (runningAfter !== N) failed.push(`${runningAfter} running on ${survivor} at the end, not ${N}`);
  return { ok: failed.length === 0, failed, calls: describeCalls(calls.map((c) => ({ ...c, ms: c.began - t0 }))) };
}

/** "serv1→serv2 off at 312 ms", or "none". */
function describeCalls(calls) {
  return calls.length ? calls.map((c) => `${c.caller}→${c.target} ${c.outcome}${c.ms !== undefined ? ` at ${Math.round(c.ms)} ms` : ''}`).join(', ') : 'none';
}

/** The breakdown line, the goal's verdict and (in namespaces) the safety verdict, as printed. */
export function failoverLines(result, detectionMs, survivor, victim) {
  const t = result.timeline;
  const ms = (x) => (x === undefined ? '–' : `${Math.round(x)}`);
  const lines = [
    `failover breakdown (${survivor}'s events, ms after the fault): peer lost ${ms(t.lostMs)} · vote granted ${ms(t.voteMs)} · ` +
      `fence call ${ms(t.fenceBeganMs)} → ${victim} off ${ms(t.fenceEndedMs)} · fencing confirmed ${ms(t.fencedMs)} · first start ${ms(t.firstStartMs)} · ` +
      `last start done ${ms(t.lastStartMs)} (${t.starts} starts) · last transition done ${ms(t.doneMs)} (the bench saw all running at ${ms(result.failoverMs)})`,
  ];
  const goal = detectionMs + 1000;
  const figure = t.doneMs ?? result.failoverMs;
  lines.push(`goal: failover ≤ detection + 1 s (${goal} ms) — ${figure <= goal ? 'met' : 'MISSED'} (${ms(figure)} ms to the last transition done)`);
  if (result.safety)
    lines.push(
      `safety: ${result.safety.ok ? 'held' : `VIOLATED: ${result.safety.failed.join('; ')}`} (${victim} off before ${survivor} started anything, ${victim} never ran again, ` +
        `${survivor} never fenced, each resource started once; fence calls: ${result.safety.calls})`,
    );
  return lines;
}
