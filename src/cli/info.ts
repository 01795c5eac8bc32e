import type { Device } from '../gpu/device.js';
import { describeCaps } from '../gpu/caps.js';

export function printInfo(d: Device, json: boolean): void {
  const info = describeCaps(d.caps);
  if (json) {
    console.log(JSON.stringify(info, null, 2));
    return;
  }
  const a = d.info;
  console.log(`adapter   ${a.description || a.device || '(unnamed)'}${a.isFallback ? ' (fallback)' : ''}`);
  console.log(`vendor    ${a.vendor || '-'}   architecture ${a.architecture || '-'}   backend ${a.backend}`);
  console.log(`features  ${info.features.join(', ')}`);
  console.log('limits');
  for (const [k, v] of Object.entries(info.limits)) console.log(`  ${k.padEnd(36)} ${v.toLocaleString('en-US')}`);
}
