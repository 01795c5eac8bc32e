import type { Device } from '../gpu/device.js';

export function describeDevice(d: Device): Record<string, unknown> {
  const l = d.limits as any;
  const limits: Record<string, number> = {};
  for (const k of [
    'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ', 'maxComputeWorkgroupsPerDimension',
    'maxStorageBuffersPerShaderStage', 'maxUniformBufferBindingSize', 'minStorageBufferOffsetAlignment',
  ]) limits[k] = l[k];
  return { adapter: d.info, features: [...d.features].sort(), limits };
}

export function printInfo(d: Device, json: boolean): void {
  const info = describeDevice(d);
  if (json) {
    console.log(JSON.stringify(info, null, 2));
    return;
  }
  const a = d.info;
  console.log(`adapter   ${a.description || a.device || '(unnamed)'}${a.isFallback ? ' (fallback)' : ''}`);
  console.log(`vendor    ${a.vendor || '-'}   architecture ${a.architecture || '-'}   backend ${a.backend}`);
  console.log(`features  ${(info.features as string[]).join(', ')}`);
  console.log('limits');
  for (const [k, v] of Object.entries(info.limits as Record<string, number>)) console.log(`  ${k.padEnd(36)} ${v.toLocaleString('en-US')}`);
}
