import { readFileSync } from 'node:fs';

/**
 * CPU time (user + system, ms, 10 ms resolution) of the calling thread, from /proc on Linux: on a shared
 * machine it says what the work cost, whatever else ran. (Node 20 has no process.threadCpuUsage.)
 */
export function threadCpuMs(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  // Fields after the command name in parentheses: state is field 3, utime 14 and stime 15, in 1/100 s.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
