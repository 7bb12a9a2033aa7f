// Reads a prediction log back after a run: the file and its rotated siblings (PATH.1 newest …
// PATH.N), streamed line by line (a long soak writes more than one string can hold). Counts
// primary lines per client id and shadow lines, and checks that `seq` runs 0..n-1 with no gap
// and no repeat across every file — how "no line lost, none written twice" is shown.
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface LogCount {
  files: number;
  lines: number;
  /** Primary (shadow: false) lines by client_id ('' when none). */
  primaryByClient: Map<string, number>;
  /** Primary lines by status. */
  primaryByStatus: Map<number, number>;
  shadow: number;
  /** Seq values missing from 0..max, and seq values seen twice. */
  seqGaps: number;
  seqRepeats: number;
  unparsable: number;
}

interface Line {
  seq: number;
  shadow: boolean;
  status: number;
  client_id?: string;
}

export async function readPredictionLog(file: string): Promise<LogCount> {
  const files = [file];
  for (let i = 1; existsSync(`${file}.${i}`); i++) files.push(`${file}.${i}`);
  const out: LogCount = { files: files.length, lines: 0, primaryByClient: new Map(), primaryByStatus: new Map(), shadow: 0, seqGaps: 0, seqRepeats: 0, unparsable: 0 };
  let seen = new Uint8Array(1 << 20);
  let maxSeq = -1;
  for (const f of files) {
    for await (const text of createInterface({ input: createReadStream(f), crlfDelay: Infinity })) {
      if (text === '') continue;
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        out.unparsable++;
        continue;
      }
      out.lines++;
      while (line.seq >= seen.length) {
        const bigger = new Uint8Array(seen.length * 2);
        bigger.set(seen);
        seen = bigger;
      }
      if (seen[line.seq]) out.seqRepeats++;
      seen[line.seq] = 1;
      maxSeq = Math.max(maxSeq, line.seq);
      if (line.shadow) {
        out.shadow++;
        continue;
      }
      const client = line.client_id ?? '';
      out.primaryByClient.set(client, (out.primaryByClient.get(client) ?? 0) + 1);
      out.primaryByStatus.set(line.status, (out.primaryByStatus.get(line.status) ?? 0) + 1);
    }
  }
  for (let s = 0; s <= maxSeq; s++) if (!seen[s]) out.seqGaps++;
  return out;
}
