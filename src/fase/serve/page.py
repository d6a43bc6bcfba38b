"""The live map: one self-contained HTML page (inline CSS, JavaScript and SVG).

It reads ``areas.geojson`` once, then every ``REFRESH_SECONDS`` the forecast, the
allocation and the fairness metrics of the chosen policy, and draws a choropleth of the
expected incidents or the patrol over the next period (equirectangular projection,
longitude scaled by cos(latitude)). No library, CDN or font is loaded from elsewhere.
"""

from __future__ import annotations

import html

REFRESH_SECONDS = 10

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>FASE live map: __RUN__</title>
<style>
body{font-family:system-ui,sans-serif;margin:1rem;color:#222}
#map{width:560px;height:560px;border:1px solid #ccc;background:#fafafa}
#map path{stroke:#fff;stroke-width:0.6}#map path.minority{stroke:#000;stroke-width:1.4}
.row{display:flex;gap:2rem;align-items:flex-start}table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}th{text-align:left}
#legend{display:flex;align-items:center;gap:6px;margin:6px 0}
#bar{width:200px;height:12px}#status{color:#666}
</style></head><body>
<h1>FASE live map <small>(__RUN__)</small></h1>
<p id="status">loading…</p>
<p><label>layer <select id="layer"><option value="forecast">expected incidents</option>
<option value="patrol">patrol units</option></select></label>
<label>policy <select id="policy"><option value="">run's default</option>
<option>paper</option><option>proportional</option><option>diminishing</option>
<option>detection_parity</option></select></label></p>
<div class="row"><div><svg id="map" viewBox="0 0 560 560"></svg>
<div id="legend"><span id="lo"></span><svg id="bar"></svg><span id="hi"></span></div>
<p>Totals over the next period; minority areas outlined in black.</p></div>
<div><h2>Fairness of the allocation</h2><table id="metrics"></table>
<h2>By group</h2><table id="groups"></table></div></div>
<script>
"use strict";
const STOPS=["#440154","#3b528b","#21918c","#5ec962","#fde725"];
const REFRESH=__REFRESH__*1000;
let areas=null, paths=[];
function colour(t){t=Math.min(1,Math.max(0,t))*(STOPS.length-1);
 const i=Math.min(STOPS.length-2,Math.floor(t)),f=t-i;
 const a=STOPS[i].match(/\\w\\w/g).map(h=>parseInt(h,16)),
  b=STOPS[i+1].match(/\\w\\w/g).map(h=>parseInt(h,16));
 return "rgb("+a.map((v,k)=>Math.round(v+(b[k]-v)*f)).join(",")+")";}
function rings(g){return g.type==="Polygon"?g.coordinates:g.coordinates.flat();}
function draw(){
 const svg=document.getElementById("map");let x0=1e9,x1=-1e9,y0=1e9,y1=-1e9;
 for(const f of areas.features)for(const r of rings(f.geometry))for(const[x,y]of r){
  x0=Math.min(x0,x);x1=Math.max(x1,x);y0=Math.min(y0,y);y1=Math.max(y1,y);}
 const k=Math.cos((y0+y1)/2*Math.PI/180),s=540/Math.max((x1-x0)*k,y1-y0);
 const ns="http://www.w3.org/2000/svg";
 for(const f of areas.features){const p=document.createElementNS(ns,"path");
  p.setAttribute("d",rings(f.geometry).map(r=>"M"+r.map(([x,y])=>
   [(10+(x-x0)*k*s).toFixed(1),(550-(y-y0)*s).toFixed(1)].join(",")).join("L")+"Z").join(""));
  if(f.properties.group==="minority")p.setAttribute("class","minority");
  p.appendChild(document.createElementNS(ns,"title"));svg.appendChild(p);paths.push(p);}
 for(const p of svg.querySelectorAll(".minority"))svg.appendChild(p);  // outlines on top
 const bar=document.getElementById("bar");
 for(let i=0;i<20;i++){const r=document.createElementNS(ns,"rect");r.setAttribute("x",i*10);
  r.setAttribute("width",10);r.setAttribute("height",12);r.setAttribute("fill",colour(i/19));
  bar.appendChild(r);}}
function paint(values,unit){const lo=Math.min(...values),hi=Math.max(...values);
 paths.forEach((p,i)=>{const f=areas.features[i].properties;
  p.setAttribute("fill",colour(hi>lo?(values[i]-lo)/(hi-lo):0));
  p.firstChild.textContent=(f.name||f.area_id)+": "+values[i].toFixed(2)+" "+unit;});
 document.getElementById("lo").textContent=lo.toFixed(2);
 document.getElementById("hi").textContent=hi.toFixed(2)+" "+unit;}
function fmt(v){return v===null?"—":(typeof v==="number"&&!Number.isInteger(v)?v.toFixed(3):v);}
function table(id,rows){document.getElementById(id).innerHTML=rows.map(r=>"<tr>"+
 r.map((c,i)=>i?"<td>"+fmt(c)+"</td>":"<th>"+c+"</th>").join("")+"</tr>").join("");}
async function get(url){const r=await fetch(url);if(!r.ok)throw new Error(url+": "+r.status);
 return r.json();}
async function refresh(){
 try{const policy=document.getElementById("policy").value,q=policy?"?policy="+policy:"";
  const[fc,al,fa]=await Promise.all([get("forecast"),get("allocation"+q),get("fairness"+q)]);
  if(document.getElementById("layer").value==="forecast")paint(fc.period_total,"incidents");
  else paint(al.period_total,"patrol units");
  const m=fa.metrics;table("metrics",[["metric","mean over bins"],
   ...["dir","gini","coverage","detection_minority","detection_majority"].map(n=>[n,m[n].mean])]);
  table("groups",[["group","areas","patrol share","risk share","detection"],
   ...Object.entries(fa.groups).map(([g,v])=>[g,v.areas,v.patrol_share,v.risk_share,
   v.detection_rate])]);
  document.getElementById("status").textContent="next period "+fc.period.start+" → "+
   fc.period.end+" · "+fc.incidents_stored+" live incidents · policy "+al.policy+
   " · updated "+new Date().toLocaleTimeString();
 }catch(e){document.getElementById("status").textContent="error: "+e.message;}}
async function main(){areas=await get("areas.geojson");draw();refresh();
 setInterval(refresh,REFRESH);
 for(const id of["layer","policy"])document.getElementById(id).onchange=refresh;}
main();
</script></body></html>
"""


def live_map_page(run_name: str) -> str:
    """The page for a run (its name in the title)."""
    return _PAGE.replace("__RUN__", html.escape(run_name)).replace(
        "__REFRESH__", str(REFRESH_SECONDS)
    )
