// SPDX-License-Identifier: Apache-2.0
// Times the TFLite WASM interpreter (npm @tensorflow/tfjs-tflite, its single-threaded SIMD build with XNNPACK) on
// a .tflite model: node tflite-wasm-bench.js MODEL [ITERATIONS] [WARMUP]. Wall-clock and process CPU time per
// predict() (the input tensor is built once). Run by scripts/bench-q8.sh --tflite, which installs the packages.
const fs = require('fs');
const path = require('path');
const modelPath = process.argv[2], iters = +(process.argv[3] || 50), warm = +(process.argv[4] || 5);
const wasmDir = path.join(require.resolve('@tensorflow/tfjs-tflite/package.json'), '..', 'wasm') + '/';
global.self = global; // the loader takes Node for a web worker: give it a location and importScripts
self.location = { origin: '', href: 'file:///' };
WebAssembly.instantiateStreaming = undefined;
global.fetch = async (u) => { const b = fs.readFileSync(String(u)); return { ok: true, status: 200, arrayBuffer: async () => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) }; };
global.importScripts = (url) => require('vm').runInThisContext(fs.readFileSync(url, 'utf8'), { filename: url });
(async () => {
  const tf = require('@tensorflow/tfjs-core');
  require('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  global.MessageChannel = undefined; // no threads: the single-threaded SIMD build (tflite_web_api_cc_simd)
  const tflite = require('@tensorflow/tfjs-tflite');
  tflite.setWasmPath(wasmDir);
  const buf = fs.readFileSync(modelPath);
  const model = await tflite.loadTFLiteModel(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length), {numThreads: 1});
  const inp = model.inputs[0];
  console.log('input', inp.shape, inp.dtype);
  const n = inp.shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (Math.imul(i, 2654435761) >>> 13) & 255;
  const x = tf.tensor(data, inp.shape, 'int32');
  const t = [], c = [];
  console.warn = () => {};
  for (let i = 0; i < warm + iters; i++) {
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    const out = model.predict(x);
    const t1 = process.hrtime.bigint(), c1 = process.cpuUsage(c0);
    Object.values(out).forEach(o => o.dispose && o.dispose());
    if (i >= warm) { t.push(Number(t1 - t0) / 1e6); c.push((c1.user + c1.system) / 1e3); }
  }
  t.sort((a, b) => a - b);
  c.sort((a, b) => a - b);
  console.log(`tflite-wasm CPU time per run: median ${c[Math.floor(iters / 2)].toFixed(3)} ms, p99 ${c[Math.ceil(0.99 * iters) - 1].toFixed(3)} ms, min ${c[0].toFixed(3)} ms`);
  console.log(`tflite-wasm ${path.basename(modelPath)}: ${iters} runs: median ${t[Math.floor(iters / 2)].toFixed(3)} ms, p99 ${t[Math.ceil(0.99 * iters) - 1].toFixed(3)} ms, min ${t[0].toFixed(3)} ms`);
})().catch(e => { console.error(e); process.exit(1); });
