/** bsf/log-sink.ts: the BSF's log lines, unchanged and in order, written once per event-loop turn. */
import { expect } from 'chai';
import { batchedStdout } from '../../../bsf/log-sink.js';

describe('BSF log sink', () => {
  it('writes every line, in order, in one write per event-loop turn', async () => {
    const writes: string[] = [];
    const sink = batchedStdout({
      write: (s: string) => {
        writes.push(s);
      },
    });
    sink.write('{"a":1}\n');
    sink.write('{"b":2}\n');
    sink.write('{"c":3}\n');
    expect(writes).to.deep.equal([]);
    await new Promise((r) => setImmediate(r));
    expect(writes).to.deep.equal(['{"a":1}\n{"b":2}\n{"c":3}\n']);
    sink.write('{"d":4}\n');
    await new Promise((r) => setImmediate(r));
    expect(writes).to.deep.equal(['{"a":1}\n{"b":2}\n{"c":3}\n', '{"d":4}\n']);
  });

  it('flush() writes what is pending at once, and nothing twice', async () => {
    const writes: string[] = [];
    const sink = batchedStdout({
      write: (s: string) => {
        writes.push(s);
      },
    });
    sink.write('x\n');
    sink.flush();
    expect(writes).to.deep.equal(['x\n']);
    await new Promise((r) => setImmediate(r));
    expect(writes).to.deep.equal(['x\n']);
  });
});
