/**
 * The installer page: one card per camera with its annotated latest frame and figures, reloaded every
 * `refreshMs`. Self-contained (no scripts or styles from elsewhere), for a laptop next to a ladder.
 */
export function installerPage(refreshMs: number): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TruePresence: camera aiming</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1rem; background: #111; color: #eee; }
  .camera { margin-bottom: 2rem; }
  img { max-width: 100%; border: 1px solid #444; display: block; }
  table { border-collapse: collapse; margin-top: .5rem; }
  td { padding: .1rem .8rem .1rem 0; }
  .bad { color: #ff6b5e; } .good { color: #5fd35f; }
</style>
</head>
<body>
<h1>Camera aiming</h1>
<p>Green boxes are faces large, sharp, lit and frontal enough to recognise; red ones say what they miss.</p>
<div id="cameras">Loading…</div>
<script>
const refreshMs = ${Number(refreshMs)};
const text = (v) => String(v).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);
function row(name, value, bad) {
  return '<tr><td>' + name + '</td><td class="' + (bad ? 'bad' : '') + '">' + text(value) + '</td></tr>';
}
async function refresh() {
  try {
    const body = await (await fetch('/api/cameras', { cache: 'no-store' })).json();
    const html = body.cameras.map((c) => {
      const usable = c.faces.filter((f) => f.pass).length;
      const id = encodeURIComponent(c.id);
      return '<div class="camera"><h2>' + text(c.id) + ' <small>(' + text(c.state) + ')</small></h2>' +
        '<img alt="latest frame of ' + text(c.id) + '" src="/cameras/' + id + '/frame.jpg?t=' + Date.now() + '">' +
        '<table>' +
        row('input fps', c.inputFps) + row('analysed fps', c.analysedFps) +
        row('dropped frames', c.droppedFrames) + row('decode errors', c.decodeErrors, c.decodeErrors > 0) +
        row('last frame age', c.lastFrameAgeMs === null ? 'none yet' : (c.lastFrameAgeMs / 1000).toFixed(1) + ' s',
          c.lastFrameAgeMs === null || c.lastFrameAgeMs > 5000) +
        row('reconnects', c.reconnects, c.reconnects > 0) +
        row('faces now / usable', c.faces.length + ' / ' + usable, c.faces.length > usable) +
        (c.limits ? row('needs', 'eyes >= ' + c.limits.minInterEyePx + ' px, sharpness >= ' + c.limits.minSharpness) : '') +
        (c.lastError ? row('last error', c.lastError, true) : '') +
        '</table></div>';
    }).join('');
    document.getElementById('cameras').innerHTML = html || 'No cameras configured.';
  } catch (error) {
    document.getElementById('cameras').textContent = 'Agent not reachable: ' + error;
  }
  setTimeout(refresh, refreshMs);
}
refresh();
</script>
</body>
</html>
`;
}
