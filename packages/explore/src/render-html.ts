import { scaleLinear } from "d3-scale";
import type { Alignment } from "./align.js";
import type { FidelityReport } from "./fidelity.js";
import { compact, esc, histogramSvg, positionPlotSvg } from "./internal/charts.js";
import type { SampleInfo } from "./sample-info.js";
import type { DatasetStats } from "./stats.js";

export interface HtmlReportInput {
  title?: string;
  /** The sample's facts (required): per-position nucleus sizes and masses. */
  sampleInfo: SampleInfo;
  /** The aligned conversation: coloured tokens with their top-k predictions on hover or click. */
  alignment?: Alignment;
  /** Dataset statistics: the nucleus-size histogram is the dataset's (else the sample's). */
  stats?: DatasetStats;
  fidelity?: FidelityReport;
}

const colorScale = scaleLinear<string>()
  .domain([0, 0.3, 0.6, 1])
  .range(["#f8a5a5", "#fcd38d", "#e4f19a", "#8fdca6"])
  .clamp(true);

/** Background colour of a token whose real-token probability is `p` (red: unlikely, green: likely). */
export function tokenColor(p: number): string {
  return colorScale(Number.isFinite(p) ? p : 0);
}

function fmtPct(x: number, digits = 1): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : "n/a";
}

function fmtNum(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

/** JSON inside a `<script>`: `<` escaped so no text can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

const CSS = `
:root{color-scheme:light;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff}
body{margin:24px auto;max-width:1140px;padding:0 16px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#57606a;margin:0 0 12px}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:6px 10px;min-width:120px}
.card b{display:block;font-size:16px}.card span{color:#57606a;font-size:12px}
.conv{font:13px/1.9 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-word;border:1px solid #d0d7de;border-radius:6px;padding:12px;background:#fafbfc}
.tok{border-radius:3px;cursor:pointer}
.tok.x{padding:1px 0}
.tok.x:hover,.tok.sel{outline:2px solid #0969da}
.tok.p{color:#8c959f}
.ws{color:#8c959f;font-size:11px}
.tok.s{color:#8c959f;background:#eaeef2;text-decoration:line-through dotted}
.legend{display:flex;align-items:center;gap:6px;font-size:12px;color:#57606a;margin:6px 0}
.legend i{display:inline-block;width:28px;height:12px;border-radius:2px}
#tip{position:absolute;display:none;z-index:10;background:#fff;border:1px solid #8c959f;border-radius:6px;box-shadow:0 4px 14px rgba(0,0,0,.18);padding:8px 10px;font-size:12px;min-width:240px;max-width:420px;pointer-events:none}
#tip table{border-collapse:collapse;width:100%}#tip td{padding:1px 4px}#tip td.pb{width:90px}
#tip .pbar{height:8px;background:#0969da;border-radius:2px}
#tip tr.real td{font-weight:700}
#tip .h{font-weight:600;margin-bottom:4px}
.chart{max-width:100%;height:auto;font-size:11px;font-family:system-ui,sans-serif}
.chart .title{font-size:13px;font-weight:600}
.chart .bars rect,.chart rect.bar{fill:#6e9bd1}
.chart .bars.size rect{fill:#b6cdea}
.chart .line{fill:none;stroke:#d1242f;stroke-width:1.5}
.chart .dots circle{fill:#d1242f}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.warn{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:6px 10px;margin:6px 0}
table.kv{border-collapse:collapse}table.kv td{padding:2px 10px 2px 0;vertical-align:top}table.kv td:first-child{color:#57606a}
`;

const SCRIPT = `
(function(){
var data=JSON.parse(document.getElementById("token-data").textContent);
var tip=document.getElementById("tip");var sel=null;
function pct(p){return p>=0.001||p===0?(p*100).toFixed(1)+"%":p.toExponential(1)}
function esc(s){return s.replace(/[&<>]/g,function(c){return{"&":"&amp;","<":"&lt;",">":"&gt;"}[c]})}
function show(el){var d=data[el.getAttribute("data-k")];if(!d)return;
var h='<div class="h">'+esc(JSON.stringify(d.t))+' \\u2014 position '+d.pos+'</div>';
if(d.skip){h+='<div>skipped by the skip rules: no logits stored</div>'}else{
h+='<div>real token: '+(d.r>0?pct(d.p)+' (rank '+d.r+', '+d.src+')':'not stored (p &lt; '+pct(d.ub)+')')+'</div>';
h+='<div>nucleus: '+d.ns+' entries, mass '+pct(d.nm)+'</div><table>';
for(var i=0;i<d.k.length;i++){var q=d.k[i];h+='<tr'+(q[3]?' class="real"':'')+'><td>'+esc(JSON.stringify(q[0]))+'</td><td>'+pct(q[1])+'</td><td class="pb"><div class="pbar" style="width:'+Math.max(1,Math.round(q[1]*90))+'px"></div></td><td>'+q[2]+'</td></tr>'}
h+='</table>'}
tip.innerHTML=h;tip.style.display="block";var r=el.getBoundingClientRect();
var x=window.scrollX+r.left,y=window.scrollY+r.bottom+6;var w=tip.offsetWidth;
if(x+w>window.scrollX+document.documentElement.clientWidth-8)x=window.scrollX+document.documentElement.clientWidth-w-8;
tip.style.left=Math.max(4,x)+"px";tip.style.top=y+"px"}
function hide(){if(!sel)tip.style.display="none"}
var conv=document.getElementById("conversation");if(!conv)return;
conv.addEventListener("mouseover",function(e){var t=e.target.closest(".tok[data-k]");if(t&&!sel)show(t)});
conv.addEventListener("mouseout",function(e){var t=e.target.closest(".tok[data-k]");if(t)hide()});
conv.addEventListener("click",function(e){var t=e.target.closest(".tok[data-k]");if(sel)sel.classList.remove("sel");
if(!t||t===sel){sel=null;tip.style.display="none";return}sel=t;t.classList.add("sel");show(t)});
document.addEventListener("keydown",function(e){if(e.key==="Escape"){if(sel)sel.classList.remove("sel");sel=null;tip.style.display="none"}});
})();
`;

/** A token's text for the conversation: newlines and tabs of tokens that have logits get a visible mark. */
function tokenHtml(text: string, marked: boolean): string {
  if (!marked || !/[\n\t]/.test(text)) {
    return esc(text);
  }
  return esc(text).replace(/\t/g, '<span class="ws">→</span>\t').replace(/\n/g, '<span class="ws">↵</span>\n');
}

function card(value: string, label: string): string {
  return `<div class="card"><b>${esc(value)}</b><span>${esc(label)}</span></div>`;
}

/** The seed's `plot_nucleus_sizes`: an SVG histogram of nucleus sizes, of a sample or of dataset statistics. */
export function plotNucleusSizes(
  source: SampleInfo | DatasetStats,
  options: { id?: string; title?: string } = {},
): string {
  let counts: number[];
  let what: string;
  if ("nucleusSizes" in source) {
    const max = Number.isFinite(source.summary.nucleusSize.max) ? source.summary.nucleusSize.max : 0;
    counts = new Array<number>(max + 1).fill(0);
    for (const s of source.nucleusSizes) {
      counts[s] = (counts[s] as number) + 1;
    }
    what = `the ${source.numTokens} positions of sample ${source.index}`;
  } else {
    counts = source.nucleusSize.histogram;
    what = `${compact(source.tokens)} positions (${source.rows} sample${source.rows === 1 ? "" : "s"})`;
  }
  return histogramSvg(counts, {
    id: options.id ?? "nucleus-histogram",
    title: options.title ?? `Nucleus size over ${what}`,
    xLabel: "nucleus size",
    yLabel: "positions",
  });
}

/** Per-position SVG plot: nucleus size (bars) and, as a line, the real-token probability or the nucleus mass. */
export function plotPositions(info: SampleInfo, alignment?: Alignment, options: { id?: string } = {}): string {
  let lineValues: Float64Array;
  let lineLabel: string;
  if (alignment) {
    lineValues = new Float64Array(info.numTokens).fill(Number.NaN);
    for (const t of alignment.tokens) {
      if (t.kind === "extracted") {
        lineValues[t.position] = t.rank > 0 ? t.prob : 0;
      }
    }
    lineLabel = "p(real token)";
  } else {
    lineValues = info.nucleusMass;
    lineLabel = "nucleus mass";
  }
  return positionPlotSvg(info.nucleusSizes, lineValues, {
    id: options.id ?? "position-plot",
    title: `Nucleus size (bars) and ${lineLabel} (line) per position`,
    barLabel: "nucleus size",
    lineLabel,
  });
}

/**
 * One self-contained HTML file (no network, no external script or style): the conversation with every assistant
 * token coloured by the probability of the real token, its top-k distribution on hover or click, the nucleus-size
 * histogram and a per-position plot of nucleus size and real-token probability, as SVG.
 */
export function renderHtmlReport(input: HtmlReportInput): string {
  const { sampleInfo: info, alignment, stats, fidelity } = input;
  const title = input.title ?? `logitpack report: sample ${info.index}`;
  const body: string[] = [];
  body.push(`<h1>${esc(title)}</h1>`);
  const model = typeof info.settings.model === "string" ? `model ${info.settings.model}, ` : "";
  body.push(
    `<p class="meta">${esc(`${model}layout ${info.layout}, dataset index ${info.index}${info.row !== undefined ? `, row ${info.row}` : ""}, ${info.numTokens} positions`)}</p>`,
  );
  const cards = [
    card(String(info.numTokens), "positions"),
    card(fmtNum(info.summary.nucleusSize.mean, 2), "mean nucleus size"),
    card(fmtPct(info.summary.nucleusMass.mean, 2), "mean nucleus mass"),
    card(fmtPct(info.summary.tailMass.mean, 2), "mean tail mass"),
  ];
  if (alignment) {
    cards.push(
      card(fmtNum(alignment.summary.meanProb, 3), "mean p(real token)"),
      card(fmtPct(alignment.summary.top1Share), "real token is top-1"),
      card(fmtPct(alignment.summary.inNucleusShare), "real token in nucleus"),
    );
  }
  if (fidelity) {
    cards.push(card(fmtNum(fidelity.summary.kl.mean, 5), "mean KL (nats)"));
  }
  body.push(`<div class="cards">${cards.join("")}</div>`);

  const tokenData: Record<string, unknown>[] = [];
  if (alignment) {
    for (const w of alignment.warnings) {
      body.push(`<div class="warn">${esc(w)}</div>`);
    }
    body.push(`<h2>Conversation</h2>`);
    body.push(
      `<div class="legend">p(real token): <i style="background:${tokenColor(0)}"></i>0 <i style="background:${tokenColor(0.3)}"></i>0.3 ` +
        `<i style="background:${tokenColor(0.6)}"></i>0.6 <i style="background:${tokenColor(1)}"></i>1 ` +
        `&nbsp; <span class="tok s">skipped</span> &nbsp; <span class="tok p">prompt</span> &nbsp; hover or click a token for its top-${esc(String(alignment.tokens.find((t) => t.predictions.length > 0)?.predictions.length ?? 5))} predictions</div>`,
    );
    const spans: string[] = [];
    for (const t of alignment.tokens) {
      if (t.kind === "prompt") {
        spans.push(`<span class="tok p">${esc(t.text)}</span>`);
        continue;
      }
      const k = tokenData.length;
      if (t.kind === "skipped") {
        tokenData.push({ t: t.text, pos: "-", skip: 1 });
        spans.push(`<span class="tok s" data-k="${k}">${tokenHtml(t.text, true)}</span>`);
        continue;
      }
      tokenData.push({
        t: t.text,
        pos: t.position,
        p: Number.isFinite(t.prob) ? t.prob : null,
        ub: Number.isFinite(t.probUpperBound) ? t.probUpperBound : null,
        r: t.rank,
        src: t.source,
        ns: t.nucleusSize,
        nm: t.nucleusMass,
        k: t.predictions.map((p) => [p.text, p.prob, p.source, p.id === t.id ? 1 : 0]),
      });
      spans.push(
        `<span class="tok x" data-k="${k}" data-p="${Number.isFinite(t.prob) ? t.prob.toFixed(4) : "0"}" style="background:${tokenColor(t.rank > 0 ? t.prob : 0)}">${tokenHtml(t.text, true)}</span>`,
      );
    }
    body.push(`<div id="conversation" class="conv">${spans.join("")}</div>`);
  }

  body.push(`<h2>Nucleus sizes</h2><div class="charts">`);
  body.push(plotNucleusSizes(stats ?? info));
  if (stats?.tailMass) {
    body.push(
      histogramSvg(stats.tailMass.histogram, {
        id: "tail-histogram",
        title: "Tail mass (1 - nucleus mass)",
        xLabel: "tail mass",
        yLabel: "positions",
        labels: stats.tailMass.histogram.map((_, i) => (i / 64).toFixed(2)),
      }),
    );
  }
  body.push(`</div>`);

  body.push(`<h2>Per position</h2>`);
  body.push(plotPositions(info, alignment));
  if (fidelity) {
    body.push(`<h2>Fidelity</h2>`);
    const kl = new Float64Array(info.numTokens).fill(Number.NaN);
    let maxKl = 0;
    fidelity.positions.forEach((t, k) => {
      kl[t] = fidelity.kl[k] as number;
      maxKl = Math.max(maxKl, fidelity.kl[k] as number);
    });
    body.push(
      `<table class="kv"><tr><td>KL(full || reconstructed)</td><td>mean ${fmtNum(fidelity.summary.kl.mean, 5)}, p99 ${fmtNum(fidelity.summary.kl.p99, 5)}, max ${fmtNum(fidelity.summary.kl.max, 5)} nats</td></tr>` +
        `<tr><td>nucleus mass captured</td><td>mean ${fmtPct(fidelity.summary.nucleusMassTrue.mean, 2)}, min ${fmtPct(fidelity.summary.nucleusMassTrue.min, 2)}</td></tr>` +
        `<tr><td>|tail estimate error|</td><td>mean ${fmtNum(fidelity.summary.absTailError.mean, 6)}, max ${fmtNum(fidelity.summary.absTailError.max, 6)}</td></tr>` +
        `<tr><td>nucleus = top ids</td><td>${fmtPct(fidelity.summary.nucleusIsTopShare)} of positions</td></tr></table>`,
    );
    const scaled = kl.map((v) => (maxKl > 0 ? v / maxKl : 0));
    body.push(
      positionPlotSvg(info.nucleusSizes, scaled, {
        id: "fidelity-plot",
        title: `KL per position (line, / max ${fmtNum(maxKl, 5)} nats), nucleus size (bars)`,
        barLabel: "nucleus size",
        lineLabel: "KL / max KL",
      }),
    );
  }
  if (stats) {
    body.push(`<h2>Dataset</h2>`);
    body.push(
      `<table class="kv">` +
        `<tr><td>samples / positions</td><td>${stats.rows} / ${stats.tokens}</td></tr>` +
        `<tr><td>nucleus size</td><td>mean ${fmtNum(stats.nucleusSize.mean)}, median ${stats.nucleusSize.p50}, p90 ${stats.nucleusSize.p90}, p99 ${stats.nucleusSize.p99}, max ${stats.nucleusSize.max}</td></tr>` +
        (stats.cappedShare !== null
          ? `<tr><td>capped at ${stats.topPMax}</td><td>${fmtPct(stats.cappedShare, 3)} of positions</td></tr>`
          : "") +
        (stats.nucleusMass
          ? `<tr><td>nucleus mass</td><td>mean ${fmtNum(stats.nucleusMass.mean, 4)}, p01 ${fmtNum(stats.nucleusMass.p01, 4)}, median ${fmtNum(stats.nucleusMass.p50, 4)}</td></tr>`
          : "") +
        (stats.tailMass
          ? `<tr><td>tail mass</td><td>mean ${fmtNum(stats.tailMass.mean, 4)}, median ${fmtNum(stats.tailMass.p50, 4)}, p99 ${fmtNum(stats.tailMass.p99, 4)}</td></tr>`
          : "") +
        `<tr><td>tokens per sample</td><td>mean ${fmtNum(stats.tokensPerSample.mean, 1)}, median ${stats.tokensPerSample.p50}, p99 ${stats.tokensPerSample.p99}, max ${stats.tokensPerSample.max}</td></tr>` +
        `</table>`,
    );
  }
  const settings = Object.entries(info.settings);
  if (settings.length > 0) {
    body.push(`<h2>Settings</h2><table class="kv">`);
    for (const [k, v] of settings) {
      const text = typeof v === "string" ? v : JSON.stringify(v);
      body.push(`<tr><td>${esc(k)}</td><td>${esc(text.length > 300 ? `${text.slice(0, 300)}…` : text)}</td></tr>`);
    }
    body.push(`</table>`);
  }
  return (
    "<!doctype html>\n" +
    `<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">` +
    `<title>${esc(title)}</title><style>${CSS}</style></head><body>` +
    body.join("\n") +
    `<div id="tip" role="tooltip"></div>` +
    `<script type="application/json" id="token-data">${scriptJson(tokenData)}</script>` +
    `<script>${SCRIPT}</script>` +
    "</body></html>\n"
  );
}
