// descentlab's interactive figures (descentlab/report/interactive.py): draws what was computed, nothing else.
// Each figure.interactive holds its data as JSON; a slider steps through the settings computed, and
// every layer's points for the setting are drawn as they are (no optimizer, no model here).
(function () {
  var NS = 'http://www.w3.org/2000/svg';
  var W = 640, H = 400, LEFT = 64, RIGHT = 16, TOP = 12, BOTTOM = 48;

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function tick(v) { return Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.01) ? v.toExponential(1) : String(+v.toPrecision(3)); }

  function setup(fig) {
    var spec = JSON.parse(fig.querySelector('script.explorer-data').textContent);
    var box = fig.querySelector('.explorer');
    var info = fig.querySelector('.explorer-info');
    var state = {}, on = {};
    var form = document.createElement('div');
    form.className = 'explorer-controls';
    spec.controls.forEach(function (c) {
      var label = document.createElement('label');
      if (c.type === 'slider') {
        var input = document.createElement('input');
        input.type = 'range'; input.min = 0; input.max = c.values.length - 1; input.step = 1;
        input.value = c.initial; input.name = c.name;
        var shown = document.createElement('output');
        state[c.name] = c.initial;
        shown.textContent = c.shown[c.initial];
        input.addEventListener('input', function () {
          state[c.name] = +input.value; shown.textContent = c.shown[+input.value]; draw();
        });
        label.appendChild(document.createTextNode(c.label + ' '));
        label.appendChild(input); label.appendChild(shown);
      } else {
        label.appendChild(document.createTextNode(c.label + ': '));
        c.options.forEach(function (o) {
          var check = document.createElement('input');
          check.type = 'checkbox'; check.name = c.name; check.value = o;
          check.checked = c.initial.indexOf(o) >= 0; on[o] = check.checked;
          check.addEventListener('change', function () { on[o] = check.checked; draw(); });
          var item = document.createElement('span');
          item.className = 'toggle';
          item.appendChild(check);
          var layer = spec.layers.filter(function (l) { return l.name === o; })[0];
          item.appendChild(document.createTextNode(' ' + (layer ? layer.label : o) + ' '));
          label.appendChild(item);
        });
      }
      form.appendChild(label);
    });
    box.appendChild(form);
    var svg = el('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img'}, box);
    var x0 = spec.x[0], x1 = spec.x[1], y0 = spec.y[0], y1 = spec.y[1];
    var ax = (W - LEFT - RIGHT) / (x1 - x0), bx = LEFT - ax * x0;
    var ay = -(H - TOP - BOTTOM) / (y1 - y0), by = H - BOTTOM - ay * y0;
    svg.setAttribute('data-transform', [ax, bx, ay, by].join(','));  // pixel = a * value + b, per axis
    var clip = el('clipPath', {id: fig.id + '-clip'}, el('defs', {}, svg));
    el('rect', {x: LEFT, y: TOP, width: W - LEFT - RIGHT, height: H - TOP - BOTTOM}, clip);
    var plot = el('g', {'clip-path': 'url(#' + fig.id + '-clip)'}, svg);
    if (spec.field) {
      var rows = spec.field.length, cols = spec.field[0].length;
      var cw = (W - LEFT - RIGHT) / cols, ch = (H - TOP - BOTTOM) / rows;
      spec.field.forEach(function (row, r) {
        row.forEach(function (v, c) {
          var g = Math.round(255 - 120 * v);
          el('rect', {x: LEFT + c * cw, y: H - BOTTOM - (r + 1) * ch, width: cw + 0.5, height: ch + 0.5,
                      fill: 'rgb(' + g + ',' + g + ',255)'}, plot);
        });
      });
    }
    el('rect', {x: LEFT, y: TOP, width: W - LEFT - RIGHT, height: H - TOP - BOTTOM, fill: 'none', stroke: '#333'}, svg);
    [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
      var xv = x0 + f * (x1 - x0), yv = y0 + f * (y1 - y0);
      el('text', {x: ax * xv + bx, y: H - BOTTOM + 18, 'text-anchor': 'middle', 'font-size': 13}, svg).textContent = tick(xv);
      el('text', {x: LEFT - 6, y: ay * yv + by + 4, 'text-anchor': 'end', 'font-size': 13}, svg).textContent = tick(yv);
    });
    el('text', {x: (W + LEFT) / 2, y: H - 8, 'text-anchor': 'middle', 'font-size': 14}, svg).textContent = spec.xlabel;
    el('text', {x: 14, y: (H - BOTTOM) / 2, 'text-anchor': 'middle', 'font-size': 14,
                transform: 'rotate(-90 14 ' + (H - BOTTOM) / 2 + ')'}, svg).textContent = spec.ylabel;
    spec.marks.forEach(function (m) {
      el('circle', {cx: ax * m[0] + bx, cy: ay * m[1] + by, r: 4, fill: '#000'}, plot);
      el('text', {x: ax * m[0] + bx + 6, y: ay * m[1] + by - 6, 'font-size': 13}, plot).textContent = m[2];
    });
    var lines = el('g', {'class': 'layers'}, plot);
    var legend = document.createElement('p');
    legend.className = 'explorer-legend';
    spec.layers.forEach(function (l) {
      var item = document.createElement('span');
      var swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.borderTop = '3px ' + (l.dashed ? 'dashed ' : 'solid ') + l.colour;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(' ' + l.label));
      legend.appendChild(item);
    });
    box.appendChild(legend);

    function draw() {
      while (lines.firstChild) lines.removeChild(lines.firstChild);
      var all = spec.controls.filter(function (c) { return c.type === 'slider'; })
        .map(function (c) { return state[c.name]; }).join(',');
      spec.layers.forEach(function (l) {
        if (l.name in on && !on[l.name]) return;
        var key = l.name + '|' + l.depends.map(function (d) { return state[d]; }).join(',');
        var pts = spec.series[key];
        if (!pts) return;
        var text = pts.map(function (p) {
          return (ax * p[0] + bx).toFixed(2) + ',' + (ay * p[1] + by).toFixed(2);
        }).join(' ');
        el('polyline', {points: text, fill: 'none', stroke: l.colour, 'stroke-width': 2, 'data-layer': l.name,
                        'data-key': key, 'stroke-dasharray': l.dashed ? '6 4' : 'none'}, lines);
      });
      info.textContent = spec.info[all] || '';
      fig.setAttribute('data-setting', all);
    }
    draw();
  }

  document.addEventListener('DOMContentLoaded', function () {
    var figs = document.querySelectorAll('figure.interactive');
    for (var i = 0; i < figs.length; i++) setup(figs[i]);
  });
})();
