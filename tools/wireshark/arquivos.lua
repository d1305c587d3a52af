-- Dissector do protocolo do servidor de arquivos TCP (PROTOCOL.md).
--
-- Uso:
--   wireshark -X lua_script:tools/wireshark/arquivos.lua
--   tshark -X lua_script:tools/wireshark/arquivos.lua -r captura.pcapng -Y arquivos
-- Ou copie este arquivo para a pasta de plugins do Wireshark (veja
-- docs/FERRAMENTAS.md): Linux e macOS ~/.local/lib/wireshark/plugins/,
-- Windows %APPDATA%\Wireshark\plugins\.
--
-- Qualquer porta: uma conexão cujo primeiro pedido tem a forma de um pedido
-- do protocolo (op 10, 20, 30, 40 ou 50 com um comprimento de nome plausível)
-- é reconhecida sozinha (dissector heurístico "arquivos_tcp"). A porta 20000
-- é reconhecida sempre; outra porta fixa: preferência arquivos.porta
-- (tshark -o arquivos.porta:20001) ou -d tcp.port==PORTA,arquivos.
--
-- Messages and field names are Portuguese; identifiers and comments English.
--
-- The protocol is not self-describing: the shape of a reply depends on the
-- request that opened the connection (one operation per connection), and
-- op 30's second client message only exists after the server accepted. So
-- each TCP stream keeps the operation it carries and where each direction
-- is; every PDU remembers the state it was read with, so a second pass
-- (Wireshark's GUI, tshark -2) dissects it the same way.

local arquivos = Proto("arquivos", "Servidor de arquivos TCP")

local OPS = { [10] = "baixar", [20] = "listar", [30] = "enviar", [40] = "retomar", [50] = "baixar-varios" }
local STATUS = {
  [0] = "ok",
  [1] = "recusado ou erro",
  [2] = "arquivos demais",
  [10] = "arquivo não existe",
  [20] = "hash não confere",
}

local MAX_NAME = 4096

local f = {
  op = ProtoField.uint8("arquivos.op", "Operação", base.DEC, OPS),
  status = ProtoField.uint8("arquivos.status", "Status", base.DEC, STATUS),
  comprimento = ProtoField.uint32("arquivos.comprimento", "Comprimento", base.DEC),
  nome = ProtoField.string("arquivos.nome", "Nome", base.UNICODE),
  mascara = ProtoField.string("arquivos.mascara", "Máscara", base.UNICODE),
  tamanho = ProtoField.uint32("arquivos.tamanho", "Tamanho", base.DEC),
  posicao = ProtoField.uint32("arquivos.posicao", "Posição", base.DEC),
  md5 = ProtoField.bytes("arquivos.md5", "MD5"),
  json = ProtoField.string("arquivos.json", "Listagem JSON", base.UNICODE),
  quantidade = ProtoField.uint32("arquivos.quantidade", "Arquivos no manifesto", base.DEC),
  entrada = ProtoField.none("arquivos.entrada", "Entrada do manifesto"),
  entrada_nome = ProtoField.string("arquivos.entrada.nome", "Nome", base.UNICODE),
  entrada_tamanho = ProtoField.uint32("arquivos.entrada.tamanho", "Tamanho", base.DEC),
  arquivo = ProtoField.uint32("arquivos.arquivo", "Arquivo (posição no manifesto)", base.DEC),
  encontrados = ProtoField.uint32("arquivos.encontrados", "Encontrados", base.DEC),
  limite = ProtoField.uint32("arquivos.limite", "Limite", base.DEC),
  resposta = ProtoField.bool("arquivos.resposta", "Resposta do servidor"),
}
arquivos.fields = {
  f.op, f.status, f.comprimento, f.nome, f.mascara, f.tamanho, f.posicao, f.md5, f.json,
  f.quantidade, f.entrada, f.entrada_nome, f.entrada_tamanho, f.arquivo, f.encontrados, f.limite, f.resposta,
}

-- What a student most wants flagged in their own server's or client's bytes.
local e = {
  extra = ProtoExpert.new("arquivos.bytes_a_mais", "Bytes depois do fim da mensagem", expert.group.PROTOCOL, expert.severity.WARN),
  status = ProtoExpert.new("arquivos.status_inesperado", "Status que não existe nesta resposta", expert.group.PROTOCOL, expert.severity.WARN),
  nome = ProtoExpert.new("arquivos.nome_invalido", "Nome que o PROTOCOL.md §3 recusa", expert.group.PROTOCOL, expert.severity.WARN),
}
arquivos.experts = { e.extra, e.status, e.nome }

-- Why a name (raw bytes) breaks PROTOCOL.md §3, or nil. Masks follow the
-- same rules (their *, ? and [...] are ordinary characters here).
local function name_problem(raw)
  if #raw == 0 then return "nome vazio" end
  if raw:find("[\0-\31\127]") or raw:find("\194[\128-\159]") then return "caractere de controle" end
  if utf8 ~= nil and utf8.len(raw) == nil then return "não é UTF-8 válido" end
  if raw:find("\\", 1, true) then return "contém \\" end
  if raw:sub(1, 1) == "/" then return "começa com / (caminho absoluto)" end
  if raw:match("^%a:") then return "começa com letra de unidade (" .. raw:sub(1, 2) .. ")" end
  for part in (raw .. "/"):gmatch("(.-)/") do
    if part == "" then return "tem uma parte vazia (//, / no fim)" end
    if part == "." or part == ".." then return "tem uma parte \"" .. part .. "\"" end
    if part:sub(1, 1) == "." then return "tem uma parte oculta (\"" .. part .. "\")" end
  end
  return nil
end

-- Flags a name field that breaks the rules.
local function check_name(item, range)
  local problem = name_problem(range:raw())
  if problem ~= nil then
    item:add_proto_expert_info(e.nome, "nome inválido pelo PROTOCOL.md §3: " .. problem)
  end
end

-- Flags a status byte outside the set PROTOCOL.md allows at that point.
local function expect_status(item, value, allowed)
  for _, v in ipairs(allowed) do
    if v == value then return end
  end
  item:add_proto_expert_info(e.status, string.format("status %d não existe nesta resposta (PROTOCOL.md §4)", value))
end

local tcp_stream = Field.new("tcp.stream")

-- Per TCP stream: { op, client = phase, server = phase, count, index }
local streams = {}
-- Per PDU, on the first pass: a copy of the state it was read with.
local remembered = {}
-- What this dissector last wrote in the Info column, and for which packet.
local last_info = { frame = -1, text = "" }

-- "1 byte", "2 bytes": a count with its noun in the right number.
local function count(n, one, many)
  return string.format("%d %s", n, n == 1 and one or many)
end

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

local function text(range)
  if range:len() == 0 then return "" end
  return range:string(ENC_UTF_8)
end

-- Adds the bytes of a file as a range of the packet (not copied into a field).
local function add_data(tree, tvb, offset, size)
  if size > 0 then
    tree:add(tvb(offset, size), "Dados do arquivo: " .. count(size, "byte", "bytes"))
  else
    tree:add(tvb(offset, 0), "Dados do arquivo: 0 bytes")
  end
end

------------------------------------------------------------------ lengths
-- Each returns the whole PDU's length, or a negative number of missing
-- bytes (DESEGMENT_ONE_MORE_SEGMENT when it cannot tell yet).

local MORE = -DESEGMENT_ONE_MORE_SEGMENT

local function u32_at(tvb, offset) return tvb(offset, 4):uint() end

-- Missing bytes of a whole PDU: TCP is asked for exactly those.
local function need(available, wanted)
  if available >= wanted then return nil end
  return -(wanted - available)
end

-- Missing bytes of a header that decides the PDU's length: TCP is asked for
-- one more segment (an exact count here would make TCP's reassembly end
-- inside the PDU, and a second pass would then see it cut).
local function header(available, wanted)
  if available >= wanted then return nil end
  return MORE
end

local function request_length(tvb, offset, available)
  if available < 1 then return MORE end
  local op = tvb(offset, 1):uint()
  if op == 20 or OPS[op] == nil then return 1 end
  local short = header(available, 5)
  if short then return short end
  local n = u32_at(tvb, offset + 1)
  if n == 0 or n > MAX_NAME then return 5 end
  local total = 5 + n
  if op == 40 then total = total + 20 end
  return need(available, total) or total
end

local function sized_length(tvb, offset, available, head)
  local short = header(available, head)
  if short then return short end
  local total = head + u32_at(tvb, offset + head - 4)
  return need(available, total) or total
end

local function manifest_length(tvb, offset, available)
  local short = header(available, 5)
  if short then return short end
  local n = u32_at(tvb, offset + 1)
  local at = 5
  for _ = 1, n do
    if available < at + 4 then return MORE end
    at = at + 4 + u32_at(tvb, offset + at) + 4
    if available < at then return MORE end
  end
  return at
end

local function reply_length(tvb, offset, available, state)
  if available < 1 then return MORE end
  local first = tvb(offset, 1):uint()
  local op, phase = state.op, state.server
  if phase == "done" then return available end
  -- An unknown operation gets one status byte (PROTOCOL.md §6).
  if op ~= nil and OPS[op] == nil then return 1 end
  if op == 10 or op == 20 then
    if first ~= 0 then return 1 end
    return sized_length(tvb, offset, available, 5)
  elseif op == 30 then
    return 1
  elseif op == 40 then
    if first ~= 0 then return 1 end
    local short = header(available, 2)
    if short then return short end
    if tvb(offset + 1, 1):uint() ~= 0 then return 2 end
    return sized_length(tvb, offset, available, 6)
  elseif op == 50 then
    if phase == "files" then
      if first ~= 0 then return 1 end
      return sized_length(tvb, offset, available, 5)
    end
    if first == 1 then return 1 end
    if first == 2 then return need(available, 9) or 9 end
    return manifest_length(tvb, offset, available)
  end
  return available
end

local function client_length(tvb, offset, available, state)
  if state.client == "request" then return request_length(tvb, offset, available) end
  if state.client == "upload-body" then return sized_length(tvb, offset, available, 4) end
  return available
end

------------------------------------------------------------------ dissection
-- Each dissects one whole PDU, moves the state on, and returns its Info text.

local function add_name(tree, tvb, offset, field)
  local n = u32_at(tvb, offset)
  tree:add(f.comprimento, tvb(offset, 4))
  if n == 0 or n > MAX_NAME then return nil, offset + 4 end
  local range = tvb(offset + 4, n)
  local value = text(range)
  check_name(tree:add(field, range, value), range)
  return value, offset + 4 + n
end

local function dissect_request(tvb, offset, length, tree, state)
  local op = tvb(offset, 1):uint()
  tree:add(f.op, tvb(offset, 1))
  state.op = op
  state.client = "done"
  if OPS[op] == nil then return string.format("operação desconhecida %d", op) end
  if op == 20 then return "listar" end
  local value, at = add_name(tree, tvb, offset + 1, op == 50 and f.mascara or f.nome)
  if value == nil then return string.format("%s (comprimento inválido %d)", OPS[op], u32_at(tvb, offset + 1)) end
  if op == 30 then state.client = "upload-body" end
  if op == 40 then
    tree:add(f.posicao, tvb(at, 4))
    tree:add(f.md5, tvb(at + 4, 16))
    return string.format("retomar %s da posição %d", value, u32_at(tvb, at))
  end
  return OPS[op] .. " " .. value
end

local function dissect_upload_body(tvb, offset, length, tree, state)
  local size = u32_at(tvb, offset)
  tree:add(f.tamanho, tvb(offset, 4))
  add_data(tree, tvb, offset + 4, size)
  state.client = "done"
  return "dados do envio: " .. count(size, "byte", "bytes")
end

local function dissect_sized(tvb, offset, tree, header)
  local size = u32_at(tvb, offset + header - 4)
  tree:add(f.tamanho, tvb(offset + header - 4, 4))
  add_data(tree, tvb, offset + header, size)
  return size
end

local function dissect_reply(tvb, offset, length, tree, state)
  local op, first = state.op, tvb(offset, 1):uint()
  tree:add(f.resposta, true):set_generated()
  local first_item = tree:add(f.status, tvb(offset, 1))
  if op == 50 and state.server ~= "files" then
    expect_status(first_item, first, { 0, 1, 2 })
  elseif op ~= nil then
    expect_status(first_item, first, { 0, 1 })
  end
  if op == 10 then
    state.server = "done"
    if first ~= 0 then return string.format("status %d", first) end
    return "status 0, " .. count(dissect_sized(tvb, offset, tree, 5), "byte", "bytes")
  elseif op == 20 then
    state.server = "done"
    if first ~= 0 then return string.format("status %d", first) end
    local size = u32_at(tvb, offset + 1)
    tree:add(f.tamanho, tvb(offset + 1, 4))
    if size > 0 then tree:add(f.json, tvb(offset + 5, size), text(tvb(offset + 5, size))) end
    return "status 0, listagem de " .. count(size, "byte", "bytes")
  elseif op == 30 then
    if state.server == "reply" and first == 0 then
      state.server = "final"
      return "status 0 (envio aceito)"
    end
    local was = state.server
    state.server = "done"
    if was == "final" then return string.format("status %d (%s)", first, first == 0 and "gravado" or "falhou") end
    return string.format("status %d (envio recusado)", first)
  elseif op == 40 then
    state.server = "done"
    if first ~= 0 then return string.format("status %d", first) end
    local second = tvb(offset + 1, 1):uint()
    expect_status(tree:add(f.status, tvb(offset + 1, 1)), second, { 0, 10, 20 })
    if second ~= 0 then return string.format("status 0 %d (%s)", second, STATUS[second] or "inesperado") end
    return "status 0 0, " .. count(dissect_sized(tvb, offset, tree, 6), "byte", "bytes")
  elseif op == 50 then
    if state.server == "files" then
      state.index = state.index + 1
      tree:add(f.arquivo, state.index):set_generated()
      if state.index >= state.count then state.server = "done" end
      if first ~= 0 then return string.format("arquivo %d/%d: status %d", state.index, state.count, first) end
      return string.format("arquivo %d/%d: status 0, %s", state.index, state.count, count(dissect_sized(tvb, offset, tree, 5), "byte", "bytes"))
    end
    state.server = "done"
    if first == 2 then
      tree:add(f.encontrados, tvb(offset + 1, 4))
      tree:add(f.limite, tvb(offset + 5, 4))
      return string.format("status 2, %s (limite %d)", count(u32_at(tvb, offset + 1), "arquivo", "arquivos"), u32_at(tvb, offset + 5))
    end
    if first ~= 0 then return string.format("status %d", first) end
    local n = u32_at(tvb, offset + 1)
    tree:add(f.quantidade, tvb(offset + 1, 4))
    local at = offset + 5
    for _ = 1, n do
      local len = u32_at(tvb, at)
      local entry = tree:add(f.entrada, tvb(at, 8 + len))
      entry:add(f.comprimento, tvb(at, 4))
      local name = text(tvb(at + 4, len))
      check_name(entry:add(f.entrada_nome, tvb(at + 4, len), name), tvb(at + 4, len))
      entry:add(f.entrada_tamanho, tvb(at + 4 + len, 4))
      entry:append_text(string.format(": %s, %s", name, count(u32_at(tvb, at + 4 + len), "byte", "bytes")))
      at = at + 8 + len
    end
    if n > 0 then
      state.server, state.count, state.index = "files", n, 0
    end
    return "status 0, manifesto de " .. count(n, "arquivo", "arquivos")
  end
  state.server = "done"
  if op ~= nil then return string.format("status %d", first) end
  return "resposta sem pedido conhecido (" .. count(length, "byte", "bytes") .. ")"
end

function arquivos.dissector(tvb, pinfo, root)
  local stream = tcp_stream()
  if stream == nil then return 0 end
  local key = tostring(stream.value)
  local state = streams[key]
  if state == nil then
    -- Reached through the port table: the server is the port it matched.
    state = { op = nil, client = "request", server = "reply", server_port = pinfo.match_uint }
    streams[key] = state
  end
  local from_server = pinfo.src_port == state.server_port

  pinfo.cols.protocol = arquivos.name
  local infos = {}
  local offset = 0
  local total = tvb:len()
  while offset < total do
    -- A reassembled PDU comes in a tvb of its own (raw offset 0); the rest of
    -- the same packet comes in a second call, in a tvb inside the packet.
    local pdu_key = table.concat({ key, pinfo.number, tvb:offset(), offset, from_server and "s" or "c" }, ":")
    local before = remembered[pdu_key]
    if before == nil and not pinfo.visited then
      -- Remembered even when the PDU is still incomplete, so that a later
      -- pass asks TCP for the same reassembly.
      remembered[pdu_key] = copy(state)
    end
    local view = copy(before or state)
    local available = total - offset
    local length
    if from_server then
      length = reply_length(tvb, offset, available, view)
    else
      length = client_length(tvb, offset, available, view)
    end
    if length < 0 then
      pinfo.desegment_offset = offset
      pinfo.desegment_len = -length
      break
    end
    local tree = root:add(arquivos, tvb(offset, length))
    local info
    if from_server and view.server ~= "done" then
      info = dissect_reply(tvb, offset, length, tree, view)
    elseif not from_server and view.client == "request" then
      info = dissect_request(tvb, offset, length, tree, view)
    elseif not from_server and view.client == "upload-body" then
      info = dissect_upload_body(tvb, offset, length, tree, view)
    else
      info = count(length, "byte", "bytes") .. " depois do fim da mensagem"
      tree:add_proto_expert_info(e.extra, info)
    end
    tree:append_text(": " .. info)
    table.insert(infos, info)
    if before == nil and not pinfo.visited then
      for k, v in pairs(view) do state[k] = v end
    end
    offset = offset + length
  end
  if #infos > 0 then
    local text = table.concat(infos, " | ")
    -- A second call for the same packet (the PDUs after a reassembled one)
    -- adds to what the first call wrote instead of replacing it.
    local current = tostring(pinfo.cols.info)
    if last_info.frame == pinfo.number and current:sub(-#last_info.text) == last_info.text then
      pinfo.cols.info:append(" | " .. text)
    else
      pinfo.cols.info = text
    end
    last_info.frame, last_info.text = pinfo.number, text
  end
  return total
end

------------------------------------------------------------------ finding it

-- Whether the first bytes a client sent look like a request: a known
-- operation, and for a named one a name length of 1..4096 whose name came
-- whole in this segment and has no NUL. op 20 is one byte, so a short
-- segment that starts with it (bytes after the end included) counts.
local function looks_like_request(tvb)
  local len = tvb:len()
  if len < 1 then return false end
  local op = tvb(0, 1):uint()
  if op == 20 then return len <= 64 end
  if OPS[op] == nil or len < 5 then return false end
  local n = tvb(1, 4):uint()
  if n == 0 or n > MAX_NAME or len < 5 + n then return false end
  return tvb(5, n):raw():find("\0", 1, true) == nil
end

-- TCP's heuristic: claims a connection on any port whose first client
-- segment looks like a request, and then the rest of that connection.
local function heuristic(tvb, pinfo, root)
  local stream = tcp_stream()
  if stream == nil then return false end
  local key = tostring(stream.value)
  if streams[key] == nil then
    if not looks_like_request(tvb) then return false end
    streams[key] = { op = nil, client = "request", server = "reply", server_port = pinfo.dst_port }
  end
  pinfo.conversation = arquivos
  arquivos.dissector(tvb, pinfo, root)
  return true
end
arquivos:register_heuristic("tcp", heuristic)

-- The fixed port, 20000 by default; 0 turns it off.
arquivos.prefs.porta = Pref.uint("Porta TCP", 20000, "Porta do servidor decodificada sempre (além da detecção automática em qualquer porta)")
local registered_port = 0
local function register_port()
  local ports = DissectorTable.get("tcp.port")
  if registered_port ~= 0 then ports:remove(registered_port, arquivos) end
  registered_port = arquivos.prefs.porta
  if registered_port ~= 0 then ports:add(registered_port, arquivos) end
end
arquivos.prefs_changed = register_port
register_port()
