/**
 * SVG charts as strings, geometry from d3-scale and d3-shape (computed here; no script runs in the report for them).
 */
import { scaleBand, scaleLinear } from "d3-scale";
import { line } from "d3-shape";

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const r2 = (x: number) => Math.round(x * 100) / 100;

interface Frame {
  width: number;
  height: number;
  margin: { top: number; right: number; bottom: number; left: number };
}

function yAxis(
  scale: ReturnType<typeof scaleLinear<number, number>>,
  x: number,
  side: "left" | "right",
  ticks = 5,
  fmt = (v: number) => String(v),
): string {
  const parts: string[] = [];
  for (const v of scale.ticks(ticks)) {
    const y = r2(scale(v));
    const dx = side === "left" ? -6 : 6;
    parts.push(
      `<line x1="${x}" x2="${x + (side === "left" ? -4 : 4)}" y1="${y}" y2="${y}" stroke="#888"/>` +
        `<text x="${x + dx}" y="${y}" dy="0.32em" text-anchor="${side === "left" ? "end" : "start"}">${esc(fmt(v))}</text>`,
    );
  }
  const [a, b] = scale.range() as [number, number];
  parts.push(`<line x1="${x}" x2="${x}" y1="${a}" y2="${b}" stroke="#888"/>`);
  return `<g class="axis">${parts.join("")}</g>`;
}

/** A bar histogram: `counts[i]` for label `labels[i]`. */
export function histogramSvg(
  counts: readonly number[],
  options: {
    id: string;
    title: string;
    xLabel: string;
    yLabel?: string;
    labels?: readonly string[];
    width?: number;
    height?: number;
  },
): string {
  const f: Frame = {
    width: options.width ?? 560,
    height: options.height ?? 260,
    margin: { top: 28, right: 16, bottom: 44, left: 56 },
  };
  const labels = options.labels ?? counts.map((_, i) => String(i));
  const x = scaleBand<string>()
    .domain(labels.map((_l, i) => `${i}`))
    .range([f.margin.left, f.width - f.margin.right])
    .paddingInner(counts.length > 60 ? 0 : 0.1);
  const max = Math.max(1, ...counts);
  const y = scaleLinear()
    .domain([0, max])
    .nice()
    .range([f.height - f.margin.bottom, f.margin.top]);
  const bars = counts
    .map((c, i) => {
      const bx = x(`${i}`) ?? 0;
      const by = y(c);
      return `<rect class="bar" x="${r2(bx)}" y="${r2(by)}" width="${r2(Math.max(0.5, x.bandwidth()))}" height="${r2(y(0) - by)}"><title>${esc(labels[i] as string)}: ${c}</title></rect>`;
    })
    .join("");
  const step = Math.max(1, Math.ceil(counts.length / 12));
  const xTicks = labels
    .map((l, i) =>
      i % step === 0
        ? `<text x="${r2((x(`${i}`) ?? 0) + x.bandwidth() / 2)}" y="${f.height - f.margin.bottom + 14}" text-anchor="middle">${esc(l)}</text>`
        : "",
    )
    .join("");
  return (
    `<svg id="${options.id}" class="chart" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" role="img" aria-label="${esc(options.title)}">` +
    `<text class="title" x="${f.margin.left}" y="16">${esc(options.title)}</text>` +
    `<g class="bars">${bars}</g>` +
    yAxis(y, f.margin.left, "left", 5, (v) => compact(v)) +
    `<g class="axis">${xTicks}<line x1="${f.margin.left}" x2="${f.width - f.margin.right}" y1="${y(0)}" y2="${y(0)}" stroke="#888"/></g>` +
    `<text class="label" x="${(f.width + f.margin.left) / 2}" y="${f.height - 6}" text-anchor="middle">${esc(options.xLabel)}</text>` +
    (options.yLabel
      ? `<text class="label" transform="translate(14 ${(f.height - f.margin.bottom + f.margin.top) / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`
      : "") +
    "</svg>"
  );
}

/**
 * Per-position plot: bars of one series on the left axis (nucleus size) and a line of another in [0, 1] on the right
 * axis (real-token probability or nucleus mass).
 */
export function positionPlotSvg(
  bars: ArrayLike<number>,
  lineValues: ArrayLike<number>,
  options: { id: string; title: string; barLabel: string; lineLabel: string; width?: number; height?: number },
): string {
  const n = bars.length;
  const f: Frame = {
    width: options.width ?? Math.min(1100, Math.max(560, n * 4 + 110)),
    height: options.height ?? 280,
    margin: { top: 28, right: 56, bottom: 44, left: 56 },
  };
  const x = scaleLinear()
    .domain([0, Math.max(1, n)])
    .range([f.margin.left, f.width - f.margin.right]);
  let maxBar = 1;
  for (let i = 0; i < n; i++) {
    maxBar = Math.max(maxBar, bars[i] as number);
  }
  const yb = scaleLinear()
    .domain([0, maxBar])
    .nice()
    .range([f.height - f.margin.bottom, f.margin.top]);
  const yl = scaleLinear()
    .domain([0, 1])
    .range([f.height - f.margin.bottom, f.margin.top]);
  const bw = Math.max(0.5, x(1) - x(0) - (n < 150 ? 1 : 0));
  const rects: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = bars[i] as number;
    rects.push(`<rect x="${r2(x(i))}" y="${r2(yb(v))}" width="${r2(bw)}" height="${r2(yb(0) - yb(v))}"/>`);
  }
  const points: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    points.push([i + 0.5, lineValues[i] as number]);
  }
  const path =
    line<[number, number]>()
      .defined((d) => Number.isFinite(d[1]))
      .x((d) => r2(x(d[0])))
      .y((d) => r2(yl(d[1])))(points) ?? "";
  const dots = points
    .filter((d) => Number.isFinite(d[1]))
    .map((d) => `<circle cx="${r2(x(d[0]))}" cy="${r2(yl(d[1]))}" r="${n > 300 ? 1 : 2}"/>`)
    .join("");
  const xTicks = x
    .ticks(10)
    .filter((v) => Number.isInteger(v))
    .map(
      (v) =>
        `<line x1="${r2(x(v))}" x2="${r2(x(v))}" y1="${yb(0)}" y2="${yb(0) + 4}" stroke="#888"/><text x="${r2(x(v))}" y="${yb(0) + 16}" text-anchor="middle">${v}</text>`,
    )
    .join("");
  return (
    `<svg id="${options.id}" class="chart wide" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" role="img" aria-label="${esc(options.title)}">` +
    `<text class="title" x="${f.margin.left}" y="16">${esc(options.title)}</text>` +
    `<g class="bars size">${rects.join("")}</g>` +
    `<path class="line" d="${path}"/><g class="dots">${dots}</g>` +
    yAxis(yb, f.margin.left, "left", 5, compact) +
    yAxis(yl, f.width - f.margin.right, "right", 5, (v) => v.toFixed(1)) +
    `<g class="axis">${xTicks}<line x1="${f.margin.left}" x2="${f.width - f.margin.right}" y1="${yb(0)}" y2="${yb(0)}" stroke="#888"/></g>` +
    `<text class="label" x="${(f.width + f.margin.left - f.margin.right) / 2}" y="${f.height - 6}" text-anchor="middle">position</text>` +
    `<text class="label bar-label" transform="translate(14 ${(f.height - f.margin.bottom + f.margin.top) / 2}) rotate(-90)" text-anchor="middle">${esc(options.barLabel)}</text>` +
    `<text class="label line-label" transform="translate(${f.width - 10} ${(f.height - f.margin.bottom + f.margin.top) / 2}) rotate(90)" text-anchor="middle">${esc(options.lineLabel)}</text>` +
    "</svg>"
  );
}

export function compact(v: number): string {
  if (Math.abs(v) >= 1e6) {
    return `${(v / 1e6).toFixed(1)}M`;
  }
  if (Math.abs(v) >= 1e4) {
    return `${(v / 1e3).toFixed(0)}k`;
  }
  return String(v);
}
