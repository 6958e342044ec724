// Run a model in ONNX Runtime (CPU) on N(0, 1) inputs and print, as JSON,
// for each output: its element count, whether every value is finite, its
// standard deviation, and unit_std: the std across dimension 1 (features
// or channels) at each position, averaged.
//   node run.js MODEL INPUTS.json
// With ORT_VALUES=1 in the environment each output also has its values
// (float32 outputs only), to compare two models' outputs.
// INPUTS.json: [{"name": ..., "type": "float32"|"float16"|"float64"|"int64"|
//                "int32", "dims": [...]}, ...] (integers: zeros)
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function normal(rng) {
  // Box-Muller on a small seeded generator: reproducible inputs
  const u = 1 - rng(), v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function mulberry32(a) {
  return function () {
    a |= 0; a = (a + 0x6D2B79F5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function f32ToF16(x) {
  const f = new Float32Array([x]), u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000, e = ((u >>> 23) & 0xff) - 127 + 15;
  const m = u & 0x7fffff;
  if (e <= 0) return sign;
  if (e >= 31) return sign | 0x7c00;
  return sign | (e << 10) | (m >>> 13);
}

function makeInput(spec, rng) {
  const n = spec.dims.reduce((a, b) => a * b, 1);
  if (spec.type === 'int64')
    return new ort.Tensor('int64', BigInt64Array.from({length: n}, () => 0n), spec.dims);
  if (spec.type === 'int32')
    return new ort.Tensor('int32', Int32Array.from({length: n}, () => 0), spec.dims);
  const vals = Array.from({length: n}, () => normal(rng));
  if (spec.type === 'float16')
    return new ort.Tensor('float16', Uint16Array.from(vals, f32ToF16), spec.dims);
  if (spec.type === 'float64')
    return new ort.Tensor('float64', Float64Array.from(vals), spec.dims);
  return new ort.Tensor('float32', Float32Array.from(vals), spec.dims);
}

function summarize(t) {
  let data = t.data, n = data.length;
  if (t.type === 'float16') data = Float32Array.from(data, h => {
    const e = (h >> 10) & 31, m = h & 1023, s = h & 0x8000 ? -1 : 1;
    return e === 31 ? (m ? NaN : s * Infinity)
      : e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
  });
  let finite = true, sum = 0, sum2 = 0;
  for (let i = 0; i < n; i++) {
    const v = Number(data[i]);
    if (!Number.isFinite(v)) finite = false;
    sum += v; sum2 += v * v;
  }
  const mean = sum / n;
  // the spread across units (dimension 1: features or channels) at each
  // position of each input, averaged: 0 when all units are alike
  const dims = t.dims.map(Number);
  const units = dims.length > 1 ? dims[1] : n;
  const outer = dims.length > 1 ? dims[0] : 1;
  const inner = n / (outer * units);
  let unitStd = 0;
  for (let b = 0; b < outer; b++) {
    for (let p = 0; p < inner; p++) {
      let s = 0, s2 = 0;
      for (let u = 0; u < units; u++) {
        const v = Number(data[(b * units + u) * inner + p]); s += v; s2 += v * v;
      }
      const m = s / units;
      unitStd += Math.sqrt(Math.max(s2 / units - m * m, 0)) / (outer * inner);
    }
  }
  const r = {elements: n, finite, std: Math.sqrt(Math.max(sum2 / n - mean * mean, 0)),
             unit_std: unitStd};
  if (process.env.ORT_VALUES === '1' && t.type === 'float32') r.values = Array.from(data);
  return r;
}

async function main() {
  const [model, specPath] = process.argv.slice(2);
  const specs = JSON.parse(fs.readFileSync(specPath, 'utf8'));
  const rng = mulberry32(12345);
  const feeds = {};
  for (const s of specs) feeds[s.name] = makeInput(s, rng);
  const session = await ort.InferenceSession.create(model);
  const out = await session.run(feeds);
  const result = {};
  for (const name of Object.keys(out)) result[name] = summarize(out[name]);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch(e => { process.stderr.write(String(e.message || e) + '\n'); process.exit(1); });
