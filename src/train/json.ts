// Reproducible JSON text for the artifacts: key order is the objects' insertion order
// (which the builders fix), two-space indentation, arrays of numbers/strings kept on one
// line so a reference profile stays readable, and a trailing newline. Numbers use
// JavaScript's shortest round-trip form, which is deterministic.

export function formatJson(value: unknown): string {
  return `${format(value, '')}\n`;
}

function format(value: unknown, indent: string): string {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) {
      return `[${value.map((v) => scalar(v)).join(', ')}]`;
    }
    const inner = `${indent}  `;
    return `[\n${value.map((v) => inner + format(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    const body = entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${format(v, inner)}`);
    return `{\n${body.join(',\n')}\n${indent}}`;
  }
  return scalar(value);
}

function scalar(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error(`cannot write non-finite number ${value} as JSON`);
  }
  const text = JSON.stringify(value);
  if (text === undefined) throw new Error(`cannot write ${typeof value} as JSON`);
  return text;
}
