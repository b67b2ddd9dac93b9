extension IntegrationsPanel {
    /// The page's stylesheet, served as /assets/integrations.css (a file, so the CSP needs no
    /// 'unsafe-inline' for styles). System fonts only: the page loads nothing from elsewhere.
    static let css = #"""
:root {
  --fg: #1d2330; --muted: #5b6475; --bg: #f5f6f8; --card: #fff; --line: #d9dde4;
  --ok: #17663a; --ok-bg: #dff3e6; --warn: #7a4b00; --warn-bg: #fff0cc;
  --bad: #9b1c1c; --bad-bg: #fde2e2; --off: #4a5160; --off-bg: #e6e8ec;
  --accent: #1f5fbf; --dur: #b35c00;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 1rem; padding: .75rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.25rem; margin: 0; flex: 1; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
#status { min-height: 1.5em; margin: 0 0 1rem; color: var(--muted); }
#status.error { color: var(--bad); }
button { font: inherit; padding: .35rem .8rem; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--fg); cursor: pointer; }
button:hover:not(:disabled):not([aria-disabled="true"]) { border-color: var(--accent); }
button:focus-visible, input:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
button:disabled, button[aria-disabled="true"] { opacity: .55; cursor: default; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { color: var(--bad); }
#signin { max-width: 26rem; margin: 3rem auto; padding: 1.5rem; background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
#signin h2 { margin-top: 0; font-size: 1.1rem; }
#signin label { display: block; font-weight: 600; margin-bottom: .3rem; }
#signin input { width: 100%; font: inherit; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 6px; margin-bottom: .75rem; }
#signin .hint { color: var(--muted); font-size: .9em; }
.template { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; margin-bottom: 1rem; }
.template > .head { display: flex; align-items: center; gap: .6rem; flex-wrap: wrap; }
.template h2 { font-size: 1.1rem; margin: 0; }
.template .desc, .template .note { color: var(--muted); margin: .35rem 0; }
.caps { list-style: none; padding: 0; margin: .4rem 0; display: flex; gap: .35rem; flex-wrap: wrap; }
.caps li { font-size: .8em; padding: .05rem .5rem; border-radius: 999px; background: var(--off-bg); color: var(--off); }
.badge { font-size: .8em; font-weight: 600; padding: .1rem .55rem; border-radius: 999px; white-space: nowrap; }
.badge.connected { background: var(--ok-bg); color: var(--ok); }
.badge.needs-reauth { background: var(--warn-bg); color: var(--warn); }
.badge.error { background: var(--bad-bg); color: var(--bad); }
.badge.disconnected, .badge.pending, .badge.retired { background: var(--off-bg); color: var(--off); }
.connection { border-top: 1px solid var(--line); margin-top: .75rem; padding-top: .75rem; }
.connection .head { display: flex; align-items: center; gap: .6rem; flex-wrap: wrap; }
.connection h3 { font-size: 1rem; margin: 0; }
.connection .actions { margin-left: auto; display: flex; gap: .4rem; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr)); gap: .25rem 1rem; margin: .6rem 0; }
.facts div { display: flex; flex-direction: column; }
.facts dt { font-size: .8em; color: var(--muted); }
.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
.last-error { color: var(--bad); margin: .3rem 0; overflow-wrap: anywhere; }
.body { display: grid; grid-template-columns: minmax(16rem, 22rem) 1fr; gap: 1rem; align-items: start; }
@media (max-width: 50rem) { .body { grid-template-columns: 1fr; } }
figure { margin: 0; }
figcaption { font-size: .8em; color: var(--muted); }
.legend-records { color: var(--accent); font-weight: 600; }
.legend-duration { color: var(--dur); font-weight: 600; }
svg.chart { width: 100%; height: auto; background: #fafbfc; border: 1px solid var(--line); border-radius: 6px; }
svg.chart .axis { stroke: var(--line); stroke-width: 1; }
svg.chart .line-records { fill: none; stroke: var(--accent); stroke-width: 2; }
svg.chart .line-duration { fill: none; stroke: var(--dur); stroke-width: 1.5; stroke-dasharray: 4 3; }
svg.chart .pt-records { fill: var(--accent); }
svg.chart .pt-duration { fill: var(--dur); }
svg.chart .pt-failed { stroke: var(--bad); stroke-width: 2; }
svg.chart text { font-size: 9px; fill: var(--muted); }
.logs { width: 100%; border-collapse: collapse; font-size: .85em; }
.logs caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
.logs th, .logs td { text-align: left; padding: .2rem .45rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.logs td.num { text-align: right; font-variant-numeric: tabular-nums; }
.logs td.err { color: var(--bad); overflow-wrap: anywhere; max-width: 24rem; }
.logs tr.failed td:first-child { box-shadow: inset 3px 0 var(--bad); }
.empty { color: var(--muted); font-style: italic; }
dialog { border: 1px solid var(--line); border-radius: 10px; padding: 1.25rem; max-width: 28rem; }
dialog h2 { margin-top: 0; font-size: 1.05rem; }
dialog .buttons { display: flex; justify-content: flex-end; gap: .5rem; }
"""#
}
