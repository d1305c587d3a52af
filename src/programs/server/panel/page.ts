/**
 * The live page: one HTML document with its style and script inline (no
 * build step, nothing fetched from elsewhere). It reads GET /eventos
 * (docs/PAINEL.md) and shows every name through textContent, never as markup.
 * The script avoids template literals and backslashes: this file holds it
 * in one (a raw one would keep the escapes Bun writes for accents).
 */
export const PANEL_PAGE = `<!doctype html>
<html lang="pt-BR">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Painel do servidor de arquivos</title>
<style>
:root { --fundo: #ffffff; --texto: #111111; --fraco: #3d3d3d; --linha: #b8b8b8; --topo: #0d2740;
  --barra: #0b5cad; --barra-fundo: #dbe4ee; --ok: #0f5f28; --ruim: #9c1118; --alerta-fundo: #fff0b8; --alerta: #4d3400; }
html { font-size: 16px; }
html.grande { font-size: 26px; }
body { margin: 0; font-family: system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; background: var(--fundo);
  color: var(--texto); line-height: 1.4; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between;
  padding: .75rem 1rem; background: var(--topo); color: #ffffff; }
header h1 { font-size: 1.3rem; margin: 0; }
.controles { display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; }
#situacao { padding: .15rem .7rem; border-radius: 1rem; font-weight: 700; background: #ffe1e1; color: #5c0000; }
#situacao.ao-vivo { background: #d4f4dc; color: #063d16; }
button { font: inherit; padding: .3rem .8rem; border: 2px solid #ffffff; background: transparent; color: #ffffff;
  border-radius: .4rem; cursor: pointer; }
button[aria-pressed="true"] { background: #ffffff; color: var(--topo); }
#aviso { margin: 0; padding: .6rem 1rem; background: var(--alerta-fundo); color: var(--alerta); font-weight: 600; }
#aviso[hidden] { display: none; }
main { display: grid; gap: 1rem; padding: 1rem; grid-template-columns: minmax(0, 1fr); max-width: 2000px; margin: 0 auto; }
@media (min-width: 1000px) { main { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
  #sec-ativas, #sec-ultimas { grid-column: 1 / -1; } }
section { border: 1px solid var(--linha); border-radius: .5rem; padding: .75rem 1rem; min-width: 0; overflow-x: auto; }
h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--linha); vertical-align: top; }
th { font-weight: 700; color: var(--fraco); }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.nome, .cliente { font-family: ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-all; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .25rem 1rem; margin: 0; }
dt { font-weight: 700; color: var(--fraco); }
dd { margin: 0; word-break: break-word; }
@media (max-width: 600px) { dl { grid-template-columns: minmax(0, 1fr); gap: 0; } dd { margin-bottom: .4rem; } }
.barra { height: .9rem; min-width: 6rem; background: var(--barra-fundo); border-radius: .45rem; overflow: hidden; }
.barra > div { height: 100%; width: 0; background: var(--barra); }
.parado { display: inline-block; background: var(--alerta-fundo); color: var(--alerta); font-weight: 700;
  padding: 0 .4rem; border-radius: .3rem; }
.vazio { color: var(--fraco); font-style: italic; }
.res-ok { color: var(--ok); }
.res-ruim { color: var(--ruim); }
label { font-weight: 600; }
input[type="search"] { font: inherit; padding: .3rem .5rem; width: min(100%, 28rem); border: 2px solid var(--fraco);
  border-radius: .3rem; margin: 0 0 .5rem; }
</style>
</head>
<body>
<header>
  <h1>Painel do servidor de arquivos</h1>
  <div class="controles">
    <span id="situacao" role="status" aria-live="polite">conectando…</span>
    <button id="grande" type="button" aria-pressed="false">Letra grande</button>
  </div>
</header>
<p id="aviso" role="status" aria-live="polite" hidden></p>
<main>
  <section id="sec-ativas" aria-labelledby="t-ativas">
    <h2 id="t-ativas">Conexões ativas <span id="n-ativas"></span></h2>
    <table>
      <thead><tr><th>Cliente</th><th>Operação</th><th>Arquivo</th><th>Progresso</th><th class="num">Transferido</th>
        <th class="num">Taxa</th><th class="num">Tempo</th><th>Situação</th></tr></thead>
      <tbody id="ativas"></tbody>
    </table>
    <p id="ativas-vazio" class="vazio">Nenhuma operação em andamento.</p>
  </section>
  <section id="sec-servidor" aria-labelledby="t-servidor">
    <h2 id="t-servidor">Servidor</h2>
    <dl id="servidor"></dl>
  </section>
  <section id="sec-totais" aria-labelledby="t-totais">
    <h2 id="t-totais">Totais desde o início</h2>
    <table>
      <thead><tr><th>Operação</th><th class="num">ok</th><th class="num">falha</th><th class="num">cancelado</th>
        <th class="num">cortado</th><th class="num">recusado</th></tr></thead>
      <tbody id="totais"></tbody>
    </table>
    <dl id="bytes"></dl>
  </section>
  <section id="sec-ultimas" aria-labelledby="t-ultimas">
    <h2 id="t-ultimas">Últimas operações</h2>
    <label for="filtro">Filtrar por cliente ou nome:</label><br>
    <input id="filtro" type="search" autocomplete="off" placeholder="ex.: 192.168.0.12 ou relatorio.pdf">
    <table>
      <thead><tr><th>Hora (UTC)</th><th>Cliente</th><th>Operação</th><th>Nome</th><th>Resultado</th>
        <th class="num">Bytes</th><th class="num">Duração</th></tr></thead>
      <tbody id="ultimas"></tbody>
    </table>
    <p id="ultimas-vazio" class="vazio">Nenhuma operação ainda.</p>
  </section>
  <section id="sec-arquivos" aria-labelledby="t-arquivos">
    <h2 id="t-arquivos">Arquivos da pasta <span id="n-arquivos"></span></h2>
    <table>
      <thead><tr><th>Nome</th><th class="num">Tamanho</th></tr></thead>
      <tbody id="arquivos"></tbody>
    </table>
    <p id="arquivos-vazio" class="vazio">A pasta está vazia.</p>
  </section>
</main>
<script>
"use strict";
(function () {
  var MAX_LINHAS = 200;
  var numero = new Intl.NumberFormat("pt-BR");
  var decimal = new Intl.NumberFormat("pt-BR", { maximumFractionDigits: 1 });
  var $ = function (id) { return document.getElementById(id); };
  var el = function (tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  };
  var row = function (cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (cell) { tr.appendChild(cell); });
    return tr;
  };
  var tamanho = function (n) {
    var unidades = ["bytes", "KiB", "MiB", "GiB"];
    var i = 0, v = n;
    while (v >= 1024 && i < unidades.length - 1) { v /= 1024; i++; }
    return i === 0 ? numero.format(n) + " bytes" : decimal.format(v) + " " + unidades[i];
  };
  var duracao = function (ms) {
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (d > 0) return d + " d " + (h % 24) + " h";
    if (h > 0) return h + " h " + (m % 60) + " min";
    return m + " min " + (s % 60) + " s";
  };
  var hora = function (iso) { return iso.slice(11, 19); };
  var classeResultado = function (r) { return r === "ok" ? "res-ok" : "res-ruim"; };

  var servidor = null, servidorEm = 0, linhas = [], maiorSeq = 0, inicioVisto = null;
  var ativas = [], ativasEm = 0, filtro = "";

  var mostraServidor = function () {
    var dl = $("servidor");
    dl.replaceChildren();
    if (!servidor) return;
    var s = servidor;
    var par = function (nome, valor) { dl.appendChild(el("dt", nome)); dl.appendChild(el("dd", valor)); };
    var ativo = s.tempo_ativo_s * 1000 + (Date.now() - servidorEm);
    par("Situação", s.aceitando ? "aceitando conexões" : "encerrando: novas conexões são recusadas");
    if (s.porta === undefined) return;
    par("Versão", s.versao);
    par("Porta TCP", s.porta);
    par("Endereços", s.enderecos.length ? s.enderecos.join(" · ") : "—");
    par("Pasta", s.pasta);
    par("No ar há", duracao(ativo));
    par("Limites", numero.format(s.max_clientes) + " conexões" +
      (s.max_por_ip > 0 ? "; " + s.max_por_ip + " por endereço" : "; sem limite por endereço") +
      "; timeout de " + decimal.format(s.timeout_s) + " s");
    par("Tamanho máximo de upload", s.tamanho_maximo === null ? "o do protocolo (4 GiB)" : tamanho(s.tamanho_maximo));
    par("Somente leitura", s.somente_leitura ? "sim" : "não");
    par("Sobrescrever arquivos", s.sem_sobrescrever ? "não" : "sim");
    par("Protocolo PROXY", s.protocolo_proxy ? "ligado" : "desligado");
    par("TLS", s.tls ? "ligado" : "desligado");
  };

  var totais = null;
  var mostraTotais = function (t) {
    totais = t;
    var body = $("totais");
    body.replaceChildren();
    Object.keys(t.operacoes).forEach(function (op) {
      var r = t.operacoes[op];
      body.appendChild(row([el("td", op), el("td", numero.format(r.ok), "num"), el("td", numero.format(r.falha), "num"),
        el("td", numero.format(r.cancelado), "num"), el("td", numero.format(r.cortado), "num"),
        el("td", numero.format(r.recusado), "num")]));
    });
    var recusas = Object.keys(t.recusas).reduce(function (soma, k) { return soma + t.recusas[k]; }, 0);
    var dl = $("bytes");
    dl.replaceChildren();
    var par = function (nome, valor) { dl.appendChild(el("dt", nome)); dl.appendChild(el("dd", valor)); };
    par("Recebidos", tamanho(t.bytes.entrada));
    par("Enviados", tamanho(t.bytes.saida));
    par("Conexões recusadas", numero.format(recusas));
    par("Conexões agora", numero.format(t.conexoes));
  };

  var mostraAtivas = function () {
    var body = $("ativas");
    body.replaceChildren();
    var passou = Date.now() - ativasEm;
    ativas.forEach(function (a) {
      var barra = el("div", null, "barra"), cheio = el("div");
      barra.appendChild(cheio);
      var pct = a.total ? Math.min(100, Math.floor((a.bytes * 100) / a.total)) : null;
      if (pct !== null) {
        cheio.style.width = pct + "%";
        barra.setAttribute("role", "progressbar");
        barra.setAttribute("aria-valuenow", String(pct));
        barra.setAttribute("aria-valuemin", "0");
        barra.setAttribute("aria-valuemax", "100");
      }
      var situacao = el("td");
      if (a.parado) situacao.appendChild(el("span", "parado", "parado"));
      else situacao.textContent = "em andamento";
      var tr = row([el("td", a.cliente, "cliente"), el("td", a.op), el("td", a.nome, "nome"),
        (function () { var td = el("td"); td.appendChild(barra); return td; })(),
        el("td", (pct === null ? tamanho(a.bytes) : tamanho(a.bytes) + " de " + tamanho(a.total) + " (" + pct + "%)"), "num pct"),
        el("td", a.taxa_bps > 0 ? tamanho(a.taxa_bps) + "/s" : "—", "num"),
        el("td", duracao(a.decorrido_ms + passou), "num"), situacao]);
      tr.className = "ativa";
      tr.dataset.id = String(a.id);
      body.appendChild(tr);
    });
    $("ativas-vazio").hidden = ativas.length > 0;
    $("n-ativas").textContent = "(" + ativas.length + ")";
  };

  var casa = function (l) {
    if (!filtro) return true;
    return l.cliente.toLowerCase().indexOf(filtro) >= 0 || l.nome.toLowerCase().indexOf(filtro) >= 0;
  };
  var mostraLinhas = function () {
    var body = $("ultimas");
    body.replaceChildren();
    var vistas = 0;
    linhas.forEach(function (l) {
      if (!casa(l)) return;
      vistas++;
      var resultado = el("td", l.resultado + (l.nota ? " (" + l.nota + ")" : ""), classeResultado(l.resultado));
      var tr = row([el("td", hora(l.hora)), el("td", l.cliente, "cliente"), el("td", l.op), el("td", l.nome, "nome"),
        resultado, el("td", numero.format(l.bytes), "num"), el("td", numero.format(l.ms) + " ms", "num")]);
      tr.title = l.linha;
      body.appendChild(tr);
    });
    var vazio = $("ultimas-vazio");
    vazio.hidden = vistas > 0;
    vazio.textContent = linhas.length === 0 ? "Nenhuma operação ainda." : "Nenhuma operação casa com o filtro.";
  };
  var recebeLinhas = function (novas) {
    var frescas = novas.filter(function (l) { return l.seq > maiorSeq; });
    if (frescas.length === 0) return;
    maiorSeq = frescas[0].seq;
    linhas = frescas.concat(linhas).slice(0, MAX_LINHAS);
    mostraLinhas();
  };

  var mostraArquivos = function (a) {
    var body = $("arquivos");
    body.replaceChildren();
    if (a.arquivos === null) {
      $("arquivos-vazio").hidden = false;
      $("arquivos-vazio").textContent = a.arquivos_erro || "não foi possível listar a pasta";
      $("n-arquivos").textContent = "";
      return;
    }
    var soma = 0;
    a.arquivos.forEach(function (f) {
      soma += f.tamanho;
      body.appendChild(row([el("td", f.nome, "nome"), el("td", tamanho(f.tamanho), "num")]));
    });
    $("arquivos-vazio").hidden = a.arquivos.length > 0;
    $("arquivos-vazio").textContent = "A pasta está vazia.";
    $("n-arquivos").textContent = "(" + numero.format(a.arquivos.length) + ", " + tamanho(soma) + ")";
  };

  var situacao = function (texto, aoVivo) {
    var s = $("situacao");
    s.textContent = texto;
    s.className = aoVivo ? "ao-vivo" : "";
  };
  var aviso = function (texto) {
    var a = $("aviso");
    a.textContent = texto || "";
    a.hidden = !texto;
  };

  var fonte = null, caiu = false;
  var conecta = function () {
    fonte = new EventSource("/eventos");
    fonte.addEventListener("estado", function (e) {
      var d = JSON.parse(e.data);
      if (inicioVisto !== null && d.servidor.inicio !== inicioVisto) {
        aviso("O servidor foi reiniciado às " + hora(d.servidor.inicio) + " (UTC): totais e operações recomeçaram.");
      } else if (caiu) {
        aviso("Conexão com o servidor restabelecida.");
      }
      caiu = false;
      if (d.servidor.inicio) inicioVisto = d.servidor.inicio;
      servidor = d.servidor;
      servidorEm = Date.now();
      situacao("ao vivo", true);
      mostraServidor();
      mostraTotais(d.totais);
      ativas = d.ativas;
      ativasEm = Date.now();
      mostraAtivas();
      // The snapshot holds every line the page keeps: it replaces them.
      linhas = [];
      maiorSeq = 0;
      recebeLinhas(d.ultimas);
      mostraLinhas();
      mostraArquivos(d);
    });
    fonte.addEventListener("ativas", function (e) {
      var d = JSON.parse(e.data);
      ativas = d.ativas;
      ativasEm = Date.now();
      mostraAtivas();
      if (totais && totais.conexoes !== d.conexoes) { totais.conexoes = d.conexoes; mostraTotais(totais); }
    });
    fonte.addEventListener("operacoes", function (e) {
      var d = JSON.parse(e.data);
      recebeLinhas(d.linhas);
      mostraTotais(d.totais);
    });
    fonte.addEventListener("arquivos", function (e) { mostraArquivos(JSON.parse(e.data)); });
    fonte.addEventListener("encerrando", function () {
      if (servidor) { servidor.aceitando = false; mostraServidor(); }
      aviso("O servidor está encerrando; a página volta sozinha quando ele voltar.");
    });
    fonte.onerror = function () {
      caiu = true;
      situacao("sem conexão: tentando de novo…", false);
      if (fonte.readyState === EventSource.CLOSED) {
        fonte.close();
        setTimeout(conecta, 2000);
      }
    };
  };

  var grande = $("grande");
  var aplicaGrande = function (ligado) {
    document.documentElement.classList.toggle("grande", ligado);
    grande.setAttribute("aria-pressed", ligado ? "true" : "false");
    try { localStorage.setItem("painel-grande", ligado ? "1" : "0"); } catch (e) { /* sem armazenamento */ }
  };
  grande.addEventListener("click", function () { aplicaGrande(!document.documentElement.classList.contains("grande")); });
  var pedeGrande = new URLSearchParams(location.search).has("grande");
  try { aplicaGrande(localStorage.getItem("painel-grande") === "1" || pedeGrande); }
  catch (e) { aplicaGrande(pedeGrande); }
  $("filtro").addEventListener("input", function (e) { filtro = e.target.value.trim().toLowerCase(); mostraLinhas(); });
  // The clocks on screen (uptime, elapsed) move each second without asking the server anything.
  setInterval(function () { mostraServidor(); if (ativas.length) mostraAtivas(); }, 1000);
  conecta();
})();
</script>
</body>
</html>
`
