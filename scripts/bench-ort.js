// SPDX-License-Identifier: Apache-2.0
// ONNX Runtime side of scripts/bench.sh: times session.run() of one model (CPU execution provider, all graph
// optimisations, sequential execution, N intra-op threads) on a fixed input and prints one JSON line
// {"model", "threads", "iterations", "median_ms", "p99_ms", "min_ms", "ort_version"}.
// Usage: node scripts/bench-ort.js MODEL.onnx THREADS ITERATIONS WARMUP (run with NODE_PATH pointing at the
// node_modules that holds onnxruntime-node).
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const [model, threadsArg, itersArg, warmupArg] = process.argv.slice(2);
  if (!model || !threadsArg) {
    console.error('usage: node bench-ort.js MODEL.onnx THREADS [ITERATIONS] [WARMUP]');
    process.exit(2);
  }
  const threads = parseInt(threadsArg, 10), iterations = parseInt(itersArg || '200', 10);
  const warmup = parseInt(warmupArg || '20', 10);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const name = session.inputNames[0];
  const meta = session.inputMetadata ? session.inputMetadata[0] : null;
  let dims = meta && meta.shape ? meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1)) : null;
  if (!dims) dims = model.includes('full') ? [1, 192, 192, 3] : [1, 128, 128, 3];
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = ((i * 2654435761) % 1000) / 500 - 1; // fixed pattern in [-1, 1)
  const feeds = { [name]: new ort.Tensor('float32', data, dims) };
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const t = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  const n = t.length;
  const median = n % 2 ? t[(n - 1) / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
  const p99 = t[Math.max(Math.ceil(0.99 * n), 1) - 1];
  console.log(JSON.stringify({ model, threads, iterations, median_ms: median, p99_ms: p99, min_ms: t[0],
    input: dims, ort_version: ort.env.versions ? ort.env.versions.common : 'unknown' }));
}

main().catch((e) => {
  console.error(`bench-ort: ${e.message}`);
  process.exit(1);
});
