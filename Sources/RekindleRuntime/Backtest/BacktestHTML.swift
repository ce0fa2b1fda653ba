import RekindleCore

/// The back-test as one self-contained page (`--report FILE.html`): the JSON report embedded as
/// data, and a small inline script that draws its tables and SVG charts from it, so the page and
/// the JSON cannot disagree and the page needs no network. Every numeric cell names the JSON value
/// it shows (`data-path`, `data-format`), every chart marks itself drawn (`data-drawn`), and any
/// script error is written into the page (`#errors`, `data-errors` on the root): a test opens the
/// page in a headless browser and checks all three.
enum BacktestHTML {
    static func page(_ analysis: BacktestAnalysis) -> String {
        // A `<` in the data (only ever inside a JSON string: a rule id, a rules version) could end
        // its script element or open a comment there; `\u003c` is the same JSON string.
        let data = String(decoding: analysis.json, as: UTF8.self).replacingOccurrences(of: "<", with: #"\u003c"#)
        let title = analysis.candidate == nil ? "Rekindle back-test" : "Rekindle back-test: current vs candidate"
        return """
            <!doctype html>
            <html lang="en" data-errors="0">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title)</title>
            <style>\(style)</style>
            </head>
            <body>
            <pre id="errors" hidden></pre>
            <script>\(errorCapture)</script>
            <main id="report"><h1>\(title)</h1><noscript>This page draws its tables and charts with an inline script; the same numbers are in the JSON report.</noscript></main>
            <script type="application/json" id="report-data">\(data)</script>
            <script>\(script)</script>
            </body>
            </html>

            """
    }

    static let style = """
        :root { --cur: #2f6db5; --cand: #e07b24; --pos: #1d7a3a; --neg: #b3261e; --grid: #e3e6ea; --ink: #1f2328; --muted: #5b636d; }
        * { box-sizing: border-box; }
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 0; background: #f6f7f9; }
        main { max-width: 1240px; margin: 0 auto; padding: 16px 24px 48px; }
        h1 { font-size: 22px; margin: 8px 0 4px; }
        h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--grid); padding-bottom: 4px; }
        h3 { font-size: 15px; margin: 18px 0 6px; }
        p.note { color: var(--muted); margin: 4px 0 10px; max-width: 980px; }
        .kpis { display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0; }
        .kpi { background: #fff; border: 1px solid var(--grid); border-radius: 6px; padding: 8px 12px; min-width: 150px; }
        .kpi b { display: block; font-size: 18px; }
        .kpi span { color: var(--muted); font-size: 12px; }
        .scroll { overflow-x: auto; background: #fff; border: 1px solid var(--grid); border-radius: 6px; }
        table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
        th, td { padding: 4px 8px; border-bottom: 1px solid var(--grid); white-space: nowrap; }
        th { background: #eef1f4; text-align: right; font-weight: 600; }
        th.group { text-align: center; border-left: 2px solid #fff; }
        th:first-child, td:first-child, td.set { text-align: left; }
        td { text-align: right; }
        tr.candidate td { color: #7a3f0b; }
        tr.difference td { font-style: italic; }
        tr.rulestart td { border-top: 2px solid #cfd5dc; }
        td.up { color: var(--pos); } td.down { color: var(--neg); }
        figure.chart { background: #fff; border: 1px solid var(--grid); border-radius: 6px; margin: 10px 0; padding: 8px; }
        figure.chart figcaption { font-weight: 600; margin: 0 0 4px 4px; }
        .legend { display: flex; gap: 14px; margin: 2px 4px 6px; color: var(--muted); font-size: 12px; }
        .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
        svg text { font: 11px system-ui, sans-serif; fill: var(--ink); }
        svg .axis { stroke: #9aa3ad; } svg .gridline { stroke: var(--grid); }
        #errors { background: #fde7e7; color: var(--neg); padding: 8px; margin: 0; }
        """

    /// Installed first, so that an error anywhere later is written into the page.
    static let errorCapture = #"""
        (function () {
          var count = 0;
          function record(text) {
            count += 1;
            var pre = document.getElementById('errors');
            pre.hidden = false;
            pre.textContent += text + '\n';
            document.documentElement.setAttribute('data-errors', String(count));
          }
          window.__recordError = record;
          window.onerror = function (message, source, line, column) { record('error: ' + message + ' (line ' + line + ':' + column + ')'); };
          window.addEventListener('unhandledrejection', function (e) { record('unhandled rejection: ' + e.reason); });
          var original = console.error;
          console.error = function () { record('console.error: ' + Array.prototype.join.call(arguments, ' ')); original.apply(console, arguments); };
        })();
        """#

    static let script = #"""
        (function () {
          'use strict';
          var R = JSON.parse(document.getElementById('report-data').textContent);
          var main = document.getElementById('report');
          var compare = R.rule_sets.candidate !== null;
          var NS = 'http://www.w3.org/2000/svg';
          var MODELS = R.attribution_models;
          var MODEL_TITLES = { last_touch: 'last touch', first_touch: 'first touch', linear: 'linear', u_shaped: 'U-shaped' };
          var MODEL_COLOURS = ['#2f6db5', '#7b4fb8', '#2a9d8f', '#e07b24'];
          var SIDES = compare ? ['current', 'candidate', 'difference'] : ['current'];

          function el(tag, attrs, parent, text) {
            var e = document.createElement(tag);
            for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
            if (text !== undefined) e.textContent = text;
            if (parent) parent.appendChild(e);
            return e;
          }
          function svgEl(tag, attrs, parent, text) {
            var e = document.createElementNS(NS, tag);
            for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
            if (text !== undefined) e.textContent = text;
            if (parent) parent.appendChild(e);
            return e;
          }
          function get(path) {
            var v = R;
            path.split('.').forEach(function (p) { v = (v === null || v === undefined) ? undefined : v[p]; });
            return v;
          }
          function grouped(n) { return n.replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
          function fixed(v, d) {
            var s = Math.abs(v).toFixed(d).split('.');
            return grouped(s[0]) + (s.length > 1 ? '.' + s[1] : '');
          }
          // The text of a value in a format; `signed` puts + before a positive difference.
          function format(v, f, signed) {
            if (v === null || v === undefined) return '\u2013';
            var sign = v < 0 ? '-' : (signed && v > 0 ? '+' : '');
            if (f === 'int') return sign + grouped(String(Math.abs(Math.round(v))));
            if (f === 'money' || f === 'dec2') return sign + fixed(v, 2);
            if (f === 'dec3') return sign + fixed(v, 3);
            if (f === 'pct') return sign + fixed(v * 100, 1) + '%';
            throw new Error('unknown format ' + f);
          }
          // A table cell showing the JSON value at `path`.
          function cell(tr, path, f, signed) {
            var v = get(path);
            var td = el('td', { 'data-path': path, 'data-format': f }, tr, format(v, f, signed));
            if (signed && typeof v === 'number' && v !== 0) td.className = v > 0 ? 'up' : 'down';
            return td;
          }
          function section(title, note) {
            el('h2', {}, main, title);
            if (note) el('p', { class: 'note' }, main, note);
          }
          // A table under the headers; `groups` ([title, columns] pairs) adds a row above them.
          function table(headers, groups) {
            var wrap = el('div', { class: 'scroll' }, main);
            var t = el('table', {}, wrap);
            var head = el('thead', {}, t);
            if (groups) {
              var g = el('tr', {}, head);
              groups.forEach(function (x) { el('th', { colspan: x[1], class: 'group' }, g, x[0]); });
            }
            var tr = el('tr', {}, head);
            headers.forEach(function (h) { el('th', {}, tr, h); });
            return el('tbody', {}, t);
          }
          // A table of the JSON list at `path`: one row per item, its label first, then one cell
          // per [key, format] column.
          function listTable(headers, path, label, columns) {
            var body = table(headers);
            get(path).forEach(function (item, i) {
              var tr = el('tr', {}, body);
              el('td', {}, tr, label(item));
              columns.forEach(function (c) { cell(tr, path + '.' + i + '.' + c[0], c[1]); });
            });
            return body;
          }
          // Headline numbers: [path, format, label] each.
          function kpis(list) {
            var row = el('div', { class: 'kpis' }, main);
            list.forEach(function (x) {
              var box = el('div', { class: 'kpi' }, row);
              el('b', { 'data-path': x[0], 'data-format': x[1] }, box, format(get(x[0]), x[1]));
              el('span', {}, box, x[2]);
            });
          }
          function legend(fig, items) {
            var l = el('div', { class: 'legend' }, fig);
            items.forEach(function (it) {
              var s = el('span', {}, l);
              el('i', { style: 'background:' + it[1] }, s);
              s.appendChild(document.createTextNode(it[0]));
            });
          }
          // A chart: its figure, and the mark that it drew (set once `draw` has added its shapes).
          function chart(name, caption, draw) {
            var fig = el('figure', { class: 'chart', 'data-chart': name }, main);
            el('figcaption', {}, fig, caption);
            try {
              var marks = draw(fig);
              if (marks > 0) { fig.setAttribute('data-drawn', 'true'); fig.setAttribute('data-marks', String(marks)); }
              else el('p', { class: 'note' }, fig, 'Nothing to draw.');
            } catch (e) {
              window.__recordError('chart ' + name + ': ' + e.message);
            }
          }
          function niceMax(v) {
            if (!(v > 0)) return 1;
            var p = Math.pow(10, Math.floor(Math.log10(v)));
            var m = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find(function (k) { return k * p >= v; });
            return m * p;
          }
          // Horizontal bars: one group per label, one bar per series.
          function bars(fig, labels, series, f) {
            legend(fig, series.map(function (s) { return [s.name, s.colour]; }));
            var left = 190, width = 1000, barH = 12, gap = 10, groupH = series.length * barH + gap;
            var height = 24 + labels.length * groupH;
            var max = niceMax(Math.max.apply(null, series.map(function (s) { return Math.max.apply(null, s.values.map(function (v) { return v || 0; })); })));
            var plot = width - left - 80;
            var svg = svgEl('svg', { viewBox: '0 0 ' + width + ' ' + height, width: '100%', role: 'img' }, fig);
            for (var t = 0; t <= 4; t++) {
              var x = left + plot * t / 4;
              svgEl('line', { x1: x, x2: x, y1: 4, y2: height - 16, class: 'gridline' }, svg);
              svgEl('text', { x: x, y: height - 4, 'text-anchor': 'middle' }, svg, format(max * t / 4, f === 'money' ? 'int' : f));
            }
            var marks = 0;
            labels.forEach(function (label, i) {
              var y0 = 6 + i * groupH;
              svgEl('text', { x: left - 8, y: y0 + series.length * barH / 2 + 4, 'text-anchor': 'end' }, svg, label);
              series.forEach(function (s, j) {
                var v = s.values[i] || 0;
                var w = Math.max(0, plot * v / max);
                svgEl('rect', { x: left, y: y0 + j * barH, width: w, height: barH - 2, fill: s.colour }, svg);
                svgEl('text', { x: left + w + 4, y: y0 + j * barH + barH - 3 }, svg, format(v, f));
                marks++;
              });
            });
            svgEl('line', { x1: left, x2: left, y1: 4, y2: height - 16, class: 'axis' }, svg);
            return marks;
          }
          // Lines over months.
          function lines(fig, xs, series, f) {
            legend(fig, series.map(function (s) { return [s.name, s.colour]; }));
            var left = 60, width = 1000, height = 260, top = 10, bottom = 30;
            var all = [];
            series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null) all.push(v); }); });
            var max = niceMax(Math.max.apply(null, all.concat([0])));
            var plotW = width - left - 20, plotH = height - top - bottom;
            var svg = svgEl('svg', { viewBox: '0 0 ' + width + ' ' + height, width: '100%', role: 'img' }, fig);
            function X(i) { return left + (xs.length === 1 ? plotW / 2 : plotW * i / (xs.length - 1)); }
            function Y(v) { return top + plotH - plotH * v / max; }
            for (var t = 0; t <= 4; t++) {
              var y = Y(max * t / 4);
              svgEl('line', { x1: left, x2: width - 20, y1: y, y2: y, class: 'gridline' }, svg);
              svgEl('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, svg, format(max * t / 4, f));
            }
            xs.forEach(function (x, i) { svgEl('text', { x: X(i), y: height - 10, 'text-anchor': 'middle' }, svg, x); });
            var marks = 0;
            series.forEach(function (s) {
              var pts = [];
              s.values.forEach(function (v, i) {
                if (v === null) return;
                pts.push(X(i) + ',' + Y(v));
                svgEl('circle', { cx: X(i), cy: Y(v), r: 3.5, fill: s.colour }, svg);
                marks++;
              });
              if (pts.length > 1) svgEl('polyline', { points: pts.join(' '), fill: 'none', stroke: s.colour, 'stroke-width': 2 }, svg);
            });
            return marks;
          }
          // Stacked vertical bars: one column per label, parts bottom to top.
          function stacked(fig, labels, parts) {
            legend(fig, parts.map(function (p) { return [p.name, p.colour]; }));
            var left = 60, width = 1000, height = 260, top = 10, bottom = 30;
            var totals = labels.map(function (_, i) { return parts.reduce(function (s, p) { return s + p.values[i]; }, 0); });
            var max = niceMax(Math.max.apply(null, totals.concat([0])));
            var plotW = width - left - 20, plotH = height - top - bottom;
            var slot = plotW / Math.max(1, labels.length), barW = Math.min(60, slot * 0.6);
            var svg = svgEl('svg', { viewBox: '0 0 ' + width + ' ' + height, width: '100%', role: 'img' }, fig);
            for (var t = 0; t <= 4; t++) {
              var y = top + plotH - plotH * t / 4;
              svgEl('line', { x1: left, x2: width - 20, y1: y, y2: y, class: 'gridline' }, svg);
              svgEl('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, svg, format(max * t / 4, 'int'));
            }
            var marks = 0;
            labels.forEach(function (label, i) {
              var x = left + slot * i + (slot - barW) / 2, base = top + plotH;
              parts.forEach(function (p) {
                var h = plotH * p.values[i] / max;
                base -= h;
                svgEl('rect', { x: x, y: base, width: barW, height: h, fill: p.colour }, svg);
                marks++;
              });
              svgEl('text', { x: x + barW / 2, y: height - 10, 'text-anchor': 'middle' }, svg, label);
            });
            return marks;
          }

          // ---- Summary
          var p = el('p', { class: 'note' }, main);
          p.textContent = (R.period === null ? 'No events in the history. ' : 'History ' + R.period.from + ' to ' + R.period.to + ' (' + R.period.days.toFixed(1) + ' days). ') +
            'Current rules: ' + R.rule_sets.current.rules_file_version + ' (' + R.rule_sets.current.rules_version + ')' +
            (compare ? '; candidate: ' + R.rule_sets.candidate.rules_file_version + ' (' + R.rule_sets.candidate.rules_version + ')' : '') +
            '. Both fold over the whole history; conversions count purchases that land in a touch\u2019s conversion window.';
          kpis([['events', 'int', 'events'], ['bad_inputs', 'int', 'bad inputs'], ['customers', 'int', 'customers']].concat(
            (compare ? ['current', 'candidate'] : ['current']).reduce(function (list, side) {
              return list.concat([['totals.' + side + '.triggers', 'int', 'triggers (' + side + ')'],
                ['totals.' + side + '.attribution.last_touch.revenue', 'money', 'revenue credited (' + side + ')']]);
            }, [])));

          var ruleIds = R.rules.map(function (r) { return r.rule_id; });
          function sideSeries(metric) {
            var s = [{ name: 'current', colour: '#2f6db5', values: R.rules.map(function (r) { return r.current ? metric(r.current) : 0; }) }];
            if (compare) s.push({ name: 'candidate', colour: '#e07b24', values: R.rules.map(function (r) { return r.candidate ? metric(r.candidate) : 0; }) });
            return s;
          }

          // ---- Per rule
          section('Triggers and conversions per rule', 'Conversions here are last touch (the campaign-conversions topic). ' +
            (compare ? 'Each rule shows the current rule set, the candidate and the difference (candidate minus current).' : ''));
          chart('triggers', 'Triggers per rule', function (fig) { return bars(fig, ruleIds, sideSeries(function (m) { return m.triggers; }), 'int'); });
          chart('conversions', 'Conversions per rule (last touch)', function (fig) {
            return bars(fig, ruleIds, sideSeries(function (m) { return m.attribution.last_touch.conversions; }), 'int');
          });

          function ruleRows(body, fill) {
            R.rules.forEach(function (r, i) {
              SIDES.forEach(function (side, j) {
                var tr = el('tr', { class: side + (j === 0 ? ' rulestart' : '') }, body);
                el('td', {}, tr, j === 0 ? r.rule_id : '');
                el('td', { class: 'set' }, tr, side);
                if (r[side] === null) { el('td', { colspan: 20, class: 'set' }, tr, 'not in this rule set'); return; }
                fill(tr, 'rules.' + i + '.' + side + '.', side === 'difference');
              });
            });
            SIDES.forEach(function (side, j) {
              var tr = el('tr', { class: side + (j === 0 ? ' rulestart' : '') }, body);
              el('td', {}, tr, j === 0 ? 'total' : '');
              el('td', { class: 'set' }, tr, side);
              fill(tr, 'totals.' + side + '.', side === 'difference');
            });
          }

          section('Reach and pressure', 'Messages per customer per 30 days: a rule\u2019s triggers per customer it reached, per 30 days of the history. ' +
            'Withheld: touches decided but not sent (holdouts, control groups, caps, consent), 0 until experiments are on in the rule file. ' +
            'Hit rate: of the triggers carrying recommendations, the share whose customer bought a recommended product within the conversion window.');
          var reasons = R.withheld_reasons;
          var reach = table(['rule', 'set', 'triggers', 'customers', 'withheld', 'messages / customer / 30 d', 'before caps', 'triggers with recs', 'hits', 'hit rate']);
          ruleRows(reach, function (tr, base, signed) {
            cell(tr, base + 'triggers', 'int', signed);
            cell(tr, base + 'customers', 'int', signed);
            // One column for the total; the reasons (in the JSON) show on hover.
            cell(tr, base + 'withheld.total', 'int', signed).title = reasons.map(function (x) {
              return x.replace('_', ' ') + ': ' + get(base + 'withheld.' + x);
            }).join(', ');
            cell(tr, base + 'messages_per_customer_30d', 'dec3', signed);
            cell(tr, base + 'messages_per_customer_30d_before_caps', 'dec3', signed);
            cell(tr, base + 'hit_rate.triggers_with_recommendations', 'int', signed);
            cell(tr, base + 'hit_rate.hits', 'int', signed);
            cell(tr, base + 'hit_rate.rate', 'pct', signed);
          });

          // Spec 7.2's lift, for the rules with a control group (the rule file's experiments).
          var withLift = [];
          R.rules.forEach(function (r, i) {
            ['current', 'candidate'].forEach(function (side) {
              if (r[side] && r[side].lift && r[side].lift.control.customers > 0) withLift.push([r.rule_id, side, 'rules.' + i + '.' + side + '.lift.']);
            });
          });
          if (withLift.length > 0) {
            section('Lift (holdout control groups)', 'Among customers whose first touch of the rule was sent (treated) or held out (control): the share who bought ' +
              'within that touch\u2019s conversion window. Lift is the difference, with a 95% interval (Newcombe\u2019s hybrid score) and the pooled z-test\u2019s p-value; ' +
              'fewer than 30 customers in an arm give no interval.');
            var lt = table(['rule', 'set', 'treated', 'bought', 'control', 'bought', 'treated rate', 'control rate', 'lift', '95% low', '95% high', 'p']);
            withLift.forEach(function (row) {
              var tr = el('tr', { class: row[1] }, lt);
              el('td', {}, tr, row[0]);
              el('td', { class: 'set' }, tr, row[1]);
              var b = row[2], lift = get(b.slice(0, -1));
              cell(tr, b + 'treated.customers', 'int');
              cell(tr, b + 'treated.converted', 'int');
              cell(tr, b + 'control.customers', 'int');
              cell(tr, b + 'control.converted', 'int');
              cell(tr, b + 'treated_rate', 'pct');
              cell(tr, b + 'control_rate', 'pct');
              cell(tr, b + 'absolute_lift', 'pct', true);
              if (lift.ci95) {
                cell(tr, b + 'ci95.0', 'pct', true);
                cell(tr, b + 'ci95.1', 'pct', true);
                cell(tr, b + 'p_value', 'dec3');
              } else {
                el('td', { colspan: 3, class: 'set' }, tr, lift.note || '');
              }
            });
          }

          section('Conversions and revenue by attribution model', 'Each purchase in at least one touch\u2019s conversion window carries one conversion and its revenue, ' +
            'split over those touches: last touch (all to the last), first touch (all to the first), linear (equal shares), U-shaped (40% first, 40% last, 20% shared by those between; ' +
            'one touch takes all, two share 50/50). Every model\u2019s total is the same.');
          var heads = ['rule', 'set'], groups = [['', 2]];
          MODELS.forEach(function (m) { heads.push('conv.', 'revenue'); groups.push([MODEL_TITLES[m], 2]); });
          var attr = table(heads, groups);
          ruleRows(attr, function (tr, base, signed) {
            MODELS.forEach(function (m) {
              cell(tr, base + 'attribution.' + m + '.conversions', 'dec2', signed);
              cell(tr, base + 'attribution.' + m + '.revenue', 'money', signed);
            });
          });
          (compare ? ['current', 'candidate'] : ['current']).forEach(function (side) {
            chart('attribution-' + side, 'Revenue per rule by attribution model (' + side + ')', function (fig) {
              var rows = R.rules.filter(function (r) { return r[side] !== null; });
              return bars(fig, rows.map(function (r) { return r.rule_id; }), MODELS.map(function (m, j) {
                return { name: MODEL_TITLES[m], colour: MODEL_COLOURS[j], values: rows.map(function (r) { return r[side].attribution[m].revenue; }) };
              }), 'money');
            });
          });

          section('Messages per customer over time', 'Triggers in each month per customer seen by the month\u2019s end, per 30 days of the month (the first and last months may be partial).');
          chart('messages', 'Messages per customer per 30 days, by month', function (fig) {
            var s = [{ name: 'current', colour: '#2f6db5', values: R.messages_over_time.map(function (m) { return m.current; }) }];
            if (compare) s.push({ name: 'candidate', colour: '#e07b24', values: R.messages_over_time.map(function (m) { return m.candidate; }) });
            return lines(fig, R.messages_over_time.map(function (m) { return m.month; }), s, 'dec2');
          });
          listTable(['month', 'customers seen'].concat(compare ? ['current', 'candidate'] : ['current']), 'messages_over_time',
            function (m) { return m.month; }, [['customers', 'int'], ['current', 'dec3']].concat(compare ? [['candidate', 'dec3']] : []));

          // ---- Whole history
          var H = R.history;
          section('Customers over the whole history', 'From purchases that count (completed, not cancelled or returned), whatever the rules. ' +
            'Retention of a month = (customers at its end \u2212 new customers) / customers at its start, a customer being someone who bought in the ' +
            H.active_window_days + ' days before. LTV = mean monthly revenue per customer \u00d7 mean lifetime in months: monthly revenue per customer is ' +
            'the revenue over the customers\u2019 months since their first purchase; a customer\u2019s lifetime runs from the first purchase to the last ' +
            '(0 for a one-time buyer), as observed, so it is cut short by the end of the history.');
          kpis([['history.buyers', 'int', 'buyers'], ['history.repeat_purchase_rate', 'pct', 'repeat-purchase rate'],
            ['history.revenue', 'money', 'revenue'], ['history.ltv.monthly_revenue_per_customer', 'money', 'monthly revenue per customer'],
            ['history.ltv.mean_lifetime_months', 'dec2', 'mean lifetime (months)'], ['history.ltv.ltv', 'money', 'LTV']]);
          chart('cohorts', 'Cohorts by first-purchase month: share buying in each month since', function (fig) {
            var cs = H.cohorts;
            var cols = cs.reduce(function (m, c) { return Math.max(m, c.retention_by_month_since.length); }, 0);
            var left = 90, cw = Math.min(80, (1000 - left) / Math.max(1, cols)), ch = 26;
            var svg = svgEl('svg', { viewBox: '0 0 ' + (left + cols * cw + 10) + ' ' + (30 + cs.length * ch), width: Math.min(1000, left + cols * cw + 10), role: 'img' }, fig);
            for (var j = 0; j < cols; j++) svgEl('text', { x: left + j * cw + cw / 2, y: 14, 'text-anchor': 'middle' }, svg, '+' + j);
            var marks = 0;
            cs.forEach(function (c, i) {
              var y = 20 + i * ch;
              svgEl('text', { x: left - 8, y: y + ch / 2 + 4, 'text-anchor': 'end' }, svg, c.month + ' (' + c.customers + ')');
              c.retention_by_month_since.forEach(function (v, j) {
                var light = 96 - 60 * Math.sqrt(v);
                svgEl('rect', { x: left + j * cw, y: y, width: cw - 2, height: ch - 2, fill: 'hsl(212, 65%, ' + light + '%)' }, svg);
                svgEl('text', { x: left + j * cw + cw / 2, y: y + ch / 2 + 3, 'text-anchor': 'middle', style: 'fill:' + (light < 60 ? '#fff' : '#1f2328') }, svg, format(v, 'pct'));
                marks++;
              });
            });
            return marks;
          });
          listTable(['cohort', 'customers', 'repeat customers', 'repeat-purchase rate', 'revenue'], 'history.cohorts', function (c) { return c.month; },
            [['customers', 'int'], ['repeat_customers', 'int'], ['repeat_purchase_rate', 'pct'], ['revenue', 'money']]);
          el('h3', {}, main, 'Retention by month');
          listTable(['month', 'customers at start', 'new customers', 'customers at end', 'retention'], 'history.retention', function (m) { return m.month; },
            [['customers_at_start', 'int'], ['new_customers', 'int'], ['customers_at_end', 'int'], ['retention', 'pct']]);

          // ---- Churn
          section('Churn risk (BG/NBD)', R.churn.length === 0 ? (R.churn_note || 'No churn model in the rule sets: fit one with rekindle churn fit, or give --until.') :
            'Bands of churn_risk (P(no purchase within the horizon)): low below ' + R.churn[0].bands_from.medium + ', medium below ' + R.churn[0].bands_from.high +
            ', high from it. The prediction check compares, from the calibration boundary, the expected repeat purchase days E[Y(h)] up to the end of the history with those that came.');
          R.churn.forEach(function (c, i) {
            var b = 'churn.' + i + '.';
            el('h3', {}, main, 'Model: ' + c.source + (c.source === 'fitted' ? ' (fitted by the back-test on purchases up to ' + c.model.fitted_until + ')' : ' rule set'));
            var mtb = table(['r', 'alpha', 'a', 'b', 'log-likelihood', 'horizon (days)']);
            var tr = el('tr', {}, mtb);
            ['r', 'alpha', 'a', 'b', 'log_likelihood'].forEach(function (x) { cell(tr, b + 'model.' + x, 'dec3'); });
            cell(tr, b + 'horizon_days', 'dec2');
            chart('risk-bands-' + i, 'Customers per churn-risk band at each month\u2019s end (' + c.source + ')', function (fig) {
              return stacked(fig, c.bands.map(function (x) { return x.at.slice(0, 10); }), [
                { name: 'low', colour: '#4c9a5b', values: c.bands.map(function (x) { return x.low; }) },
                { name: 'medium', colour: '#e0a526', values: c.bands.map(function (x) { return x.medium; }) },
                { name: 'high', colour: '#c8453b', values: c.bands.map(function (x) { return x.high; }) }]);
            });
            listTable(['at', 'low', 'medium', 'high'], b + 'bands', function (x) { return x.at; }, [['low', 'int'], ['medium', 'int'], ['high', 'int']]);
            if (c.prediction === null) {
              el('p', { class: 'note' }, main, 'No prediction check: give --until before the end of the history (or a model with fitted_until).');
              return;
            }
            el('p', { class: 'note' }, main, 'Predicted from ' + c.prediction.from + ' over ' + c.prediction.weeks.toFixed(1) + ' weeks, per cohort of first purchase.');
            var rows = c.prediction.cohorts.concat([c.prediction.total]);
            chart('prediction-' + i, 'Repeat purchase days after the boundary: predicted vs actual (' + c.source + ')', function (fig) {
              return bars(fig, rows.map(function (x) { return x.month || 'total'; }), [
                { name: 'predicted', colour: '#7b4fb8', values: rows.map(function (x) { return x.predicted; }) },
                { name: 'actual', colour: '#2a9d8f', values: rows.map(function (x) { return x.actual; }) }], 'dec2');
            });
            var predicted = [['customers', 'int'], ['predicted', 'dec2'], ['actual', 'int']];
            var pt = listTable(['cohort', 'customers', 'predicted', 'actual'], b + 'prediction.cohorts', function (x) { return x.month; }, predicted);
            var tt = el('tr', { class: 'rulestart' }, pt);
            el('td', {}, tt, 'total');
            predicted.forEach(function (x) { cell(tt, b + 'prediction.total.' + x[0], x[1]); });
          });
          document.documentElement.setAttribute('data-rendered', 'true');
        })();
        """#
}
