/**
 * The page `GET /` serves when the node passes no dashboard of its own: it fetches
 * /v1/status every two seconds and shows the members. When the node has a client token,
 * /v1/status answers 401 and the page asks for the token once, keeping it in the tab's
 * sessionStorage (never in the URL). The page itself carries no data, so it needs no token.
 */
export function defaultDashboard(): { contentType: string; body: string } {
  return { contentType: 'text/html; charset=utf-8', body: PAGE };
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Shoal</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; }
table { border-collapse: collapse; }
td, th { padding: 2px 12px; text-align: left; border-bottom: 1px solid #ddd; }
.up { color: #080; } .suspect { color: #b80; } .down { color: #c00; } .leaving { color: #06c; }
</style>
</head>
<body>
<h1>Shoal <span id="node"></span></h1>
<p id="summary">loading /v1/status ...</p>
<table><thead><tr><th>member</th><th>address</th><th>status</th></tr></thead><tbody id="members"></tbody></table>
<script>
"use strict";
function headers() {
  const t = sessionStorage.getItem("shoal-token");
  return t ? { Authorization: "Bearer " + t } : {};
}
function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
}
async function refresh() {
  try {
    const res = await fetch("/v1/status", { headers: headers() });
    if (res.status === 401) {
      const t = prompt("Client token for this node");
      if (t) sessionStorage.setItem("shoal-token", t);
      return;
    }
    const s = await res.json();
    document.getElementById("node").textContent = s.node;
    document.getElementById("summary").textContent =
      "N=" + s.n + ", " + s.partitions + " partitions, " + s.hints.pending + " hints pending";
    const body = document.getElementById("members");
    body.replaceChildren();
    for (const m of s.members) {
      const row = document.createElement("tr");
      cell(row, m.id); cell(row, m.address); cell(row, m.status, m.status);
      body.appendChild(row);
    }
  } catch (e) {
    document.getElementById("summary").textContent = "cannot reach /v1/status: " + e;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
