// Float64 references for block pooling and nearest upsampling over [..., H, W].

export function avgPool2dRef(x: ArrayLike<number>, shape: readonly number[], k: number, scale = 1 / (k * k)): Float64Array {
  const h = shape[shape.length - 2], w = shape[shape.length - 1];
  const planes = x.length / (h * w);
  const ho = h / k, wo = w / k;
  const o = new Float64Array(planes * ho * wo);
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) o[(p * ho + Math.floor(i / k)) * wo + Math.floor(j / k)] += x[(p * h + i) * w + j] * scale;
  return o;
}

export function upsampleNearest2dRef(x: ArrayLike<number>, shape: readonly number[], k: number, scale = 1): Float64Array {
  const h = shape[shape.length - 2], w = shape[shape.length - 1];
  const planes = x.length / (h * w);
  const o = new Float64Array(x.length * k * k);
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < h * k; i++)
      for (let j = 0; j < w * k; j++) o[(p * h * k + i) * w * k + j] = x[(p * h + Math.floor(i / k)) * w + Math.floor(j / k)] * scale;
  return o;
}
