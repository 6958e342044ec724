// Save what ONNX Runtime's graph optimizer makes of a model, as
// pipelines do before shipping (SessionOptions.optimized_model_filepath).
//   node optimize.js MODEL OUT LEVEL     (LEVEL: basic, extended, all)
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const [model, out, level] = process.argv.slice(2);
  await ort.InferenceSession.create(model, {
    graphOptimizationLevel: level,
    optimizedModelFilePath: out,
    executionProviders: ['cpu'],
  });
}

main().catch((e) => {
  console.error(String(e.message || e).split('\n')[0]);
  process.exit(1);
});
