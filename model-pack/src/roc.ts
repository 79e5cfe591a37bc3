// ROC plot of one or more packs as a standalone SVG: TAR against FAR on a log axis.
import type { RocPoint } from './evaluate.ts';

const width = 560;
const height = 400;
const left = 60;
const right = 200;
const top = 30;
const bottom = 50;
const minLogFar = -4;
const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function rocSvg(curves: ReadonlyArray<{ label: string; points: readonly RocPoint[] }>): string {
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  // Points with FAR 0 all sit on the left edge: keep the best one. The TAR axis starts at the lowest
  // tenth that the curves reach.
  const shown = curves.map((curve) => {
    const best = Math.max(0, ...curve.points.filter((p) => p.far === 0).map((p) => p.tar));
    return curve.points.filter((p) => p.far > 0 || p.tar === best);
  });
  const floor = Math.max(0, Math.floor(Math.min(1, ...shown.flat().map((p) => p.tar)) * 10) / 10 - 0.1);
  const x = (far: number) =>
    left + ((Math.max(minLogFar, Math.log10(Math.max(far, 1e-12))) - minLogFar) / -minLogFar) * plotW;
  const y = (tar: number) => top + ((1 - tar) / (1 - floor)) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="18" font-size="14">ROC: TAR vs FAR over all photo pairs</text>`,
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`,
  ];
  for (let e = minLogFar; e <= 0; e++) {
    const px = x(10 ** e);
    parts.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${top + plotH}" stroke="#ddd"/>`);
    parts.push(`<text x="${px}" y="${top + plotH + 16}" text-anchor="middle">1e${e}</text>`);
  }
  const step = floor >= 0.5 ? 0.05 : 0.2;
  for (let t = 1; t >= floor - 1e-9; t -= step) {
    const py = y(t);
    parts.push(`<line x1="${left}" y1="${py}" x2="${left + plotW}" y2="${py}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${py + 4}" text-anchor="end">${t.toFixed(2)}</text>`);
  }
  parts.push(
    `<text x="${left + plotW / 2}" y="${height - 12}" text-anchor="middle">false acceptance rate</text>`,
  );
  parts.push(
    `<text x="16" y="${top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${top + plotH / 2})">true acceptance rate</text>`,
  );
  curves.forEach((curve, i) => {
    const colour = colours[i % colours.length]!;
    const sorted = [...shown[i]!].sort((a, b) => a.far - b.far || a.tar - b.tar);
    const path = sorted
      .map((p, k) => `${k === 0 ? 'M' : 'L'}${x(p.far).toFixed(1)},${y(p.tar).toFixed(1)}`)
      .join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    parts.push(
      `<rect x="${left + plotW + 12}" y="${top + 10 + i * 20}" width="14" height="4" fill="${colour}"/>`,
    );
    parts.push(`<text x="${left + plotW + 32}" y="${top + 16 + i * 20}">${escapeXml(curve.label)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
