#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# ONNX Runtime through its Python package, for machines that have it but no node (scripts/opencl-remote.sh): the
# method of scripts/bench-ort.js (CPU execution provider, all graph optimisations, sequential, N intra-op threads,
# the same fixed input pattern, warm-up then N timed runs). Prints one JSON line.
# Usage: bench-ort.py MODEL.onnx THREADS ITERATIONS WARMUP
import json, sys, time
import numpy as np
import onnxruntime as ort
model, threads, iters, warm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
so = ort.SessionOptions()
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
i = s.get_inputs()[0]
dims = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
n = int(np.prod(dims))
data = ((np.arange(n, dtype=np.uint64) * 2654435761) % 1000).astype(np.float32) / 500 - 1
feeds = {i.name: data.reshape(dims)}
for _ in range(warm):
    s.run(None, feeds)
t = []
for _ in range(iters):
    t0 = time.perf_counter_ns()
    s.run(None, feeds)
    t.append((time.perf_counter_ns() - t0) / 1e6)
t.sort()
med = t[len(t) // 2] if len(t) % 2 else (t[len(t) // 2 - 1] + t[len(t) // 2]) / 2
p99 = t[max(-(-99 * len(t) // 100), 1) - 1]
print(json.dumps({"model": model.split("/")[-1], "threads": threads, "median_ms": round(med, 4), "p99_ms": round(p99, 4),
                  "min_ms": round(t[0], 4),
                  "ort_version": ort.__version__}))
