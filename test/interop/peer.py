#!/usr/bin/env python3
"""Independent peer (client + server) written only from PROTOCOL.md + enunciado.txt.

Standard library only. No fnmatch: the op 50 mask rules are implemented by hand
from PROTOCOL.md section 3.

    python3 peer.py client HOST PORT OP ARGS... --pasta DIR [--timeout S]
        OP: baixar NOME | listar | enviar NOME | retomar NOME POS | baixar-varios MASCARA
        Prints one line of JSON to stdout. Exit status: 0 ok, 1 refused by the
        server (status 1/2/10/20), 2 usage / invalid local name, 3 network error or
        server outside the protocol.

    python3 peer.py server PORT --pasta DIR [--timeout S] [--tamanho-maximo BYTES]
        Listens on 127.0.0.1 only, prints "PRONTO <port>", then one JSON log line
        per operation ({"op": 10, "nome": ..., "resultado": ...}).

    python3 peer.py raw HOST PORT HEX [--ler N]
        Sends raw bytes, prints what came back in hex (used to probe edge cases).

Assumptions taken where PROTOCOL.md is silent are marked "ASSUMPTION":
  - drive letter = ASCII letter + ':' at the very start of the name;
  - mask brackets: plain members only (no ranges, '^' is literal), ']' never a
    member, empty or unclosed brackets refused (the real server differs: see
    interop.test.ts, "DIVERGÊNCIA");
  - listing JSON: compact, keys in the order nome, tamanho, raw UTF-8;
    a client accepts "tamanho" as one or more ASCII digits;
  - retomar without NOME.parcial but with NOME: its first POS bytes seed the
    .parcial;
  - upload: parent folders are created before the first status; a stall before
    the u32 size closes without a second status (mid-data: 0x01).
"""

import hashlib
import json
import os
import secrets
import socket
import stat
import struct
import sys
import threading
import time

# ---------------------------------------------------------------- constants

OP_DOWNLOAD = 10
OP_LIST = 20
OP_UPLOAD = 30
OP_RESUME = 40
OP_MULTI = 50

ST_OK = 0x00
ST_REFUSED = 0x01
ST_TOO_MANY = 0x02
ST_NOT_FOUND = 0x0A
ST_BAD_HASH = 0x14

MAX_NAME = 4096
MAX_U32 = 0xFFFFFFFF
FOUR_GIB = 1 << 32
MULTI_LIMIT = 10000
LIST_LIMIT = 64 * 1024 * 1024  # PROTOCOL.md: "este recusa acima de 64 MiB" (client choice)
BLOCK = 1024  # enunciado: "blocos de 1024 bytes"


class ProtocolError(Exception):
    """The peer sent something outside the protocol (exit 3)."""


class Refused(Exception):
    pass


class RequestDeadline(Exception):
    """The request did not arrive whole within the deadline (section 6/7)."""


# ---------------------------------------------------------------- name rules (section 3)

def _is_control(ch):
    c = ord(ch)
    return c <= 0x1F or 0x7F <= c <= 0x9F


def decode_name(raw):
    """UTF-8 strict decode. Python's strict codec rejects overlong forms and
    encoded surrogates (ED A0 80..ED BF BF). Returns str or None."""
    try:
        return raw.decode("utf-8", "strict")
    except UnicodeDecodeError:
        return None


def name_error(name, is_mask=False):
    """Returns None when valid, else a short reason. `name` is a str (code points)."""
    if not isinstance(name, str):
        return "tipo"
    try:
        raw = name.encode("utf-8", "strict")  # fails on lone surrogates (surrogateescape'd bytes)
    except UnicodeEncodeError:
        return "utf8"
    if len(raw) == 0 or len(raw) > MAX_NAME:
        return "comprimento"
    for ch in name:
        if _is_control(ch):
            return "controle"
        if ch == "\\":
            return "barra-invertida"
    if name.startswith("/"):
        return "absoluto"
    # ASSUMPTION: "letra de unidade (C:)" = an ASCII letter followed by ':' at the
    # very start of the name (only the first part).
    if len(name) >= 2 and name[1] == ":" and ("a" <= name[0].lower() <= "z"):
        return "unidade"
    for part in name.split("/"):
        if part == "":
            return "parte-vazia"
        if part in (".", ".."):
            return "ponto"
        if part.startswith("."):
            return "oculto"
    if is_mask:
        return mask_error(name)
    return None


# ---------------------------------------------------------------- masks (op 50)

def mask_error(mask):
    """Extra mask rules of section 3 (on top of the name rules)."""
    if "{" in mask or "}" in mask:
        return "chaves"
    if "**" in mask:
        return "duas-estrelas"
    for part in mask.split("/"):
        if part.startswith("!"):
            return "exclamacao"
    try:
        parse_mask(mask)
    except ValueError as e:
        return str(e)
    return None


def parse_mask(mask):
    """Mask -> list (one per '/'-part) of token lists.
    Tokens: ('lit', ch) | ('any1',) | ('star',) | ('set', negated, frozenset).

    Bracket rules, section 3: a set is closed by the first ']', is not empty,
    '!' first negates, 'x-y' is a range by code point with x <= y (a '-' first
    or last is a member), and '[' inside or '^' first are refused, as is a '['
    without its ']'.
    """
    parts = []
    cur = []
    i = 0
    n = len(mask)
    while i < n:
        ch = mask[i]
        if ch == "/":
            parts.append(cur)
            cur = []
            i += 1
        elif ch == "*":
            cur.append(("star",))
            i += 1
        elif ch == "?":
            cur.append(("any1",))
            i += 1
        elif ch == "[":
            j = i + 1
            neg = False
            if j < n and mask[j] == "!":
                neg = True
                j += 1
            if j < n and mask[j] == "^":
                raise ValueError("circunflexo-no-colchete")
            members = []
            while j < n and mask[j] != "]":
                if mask[j] == "/":
                    raise ValueError("barra-no-colchete")
                if mask[j] == "[":
                    raise ValueError("colchete-dentro")
                if j + 2 < n and mask[j + 1] == "-" and mask[j + 2] != "]":
                    lo, hi = mask[j], mask[j + 2]
                    if ord(lo) > ord(hi):
                        raise ValueError("intervalo-invertido")
                    members.extend(chr(c) for c in range(ord(lo), ord(hi) + 1))
                    j += 3
                    continue
                members.append(mask[j])
                j += 1
            if j >= n:
                raise ValueError("colchete-aberto")
            if not members:
                raise ValueError("colchete-vazio")
            cur.append(("set", neg, frozenset(members)))
            i = j + 1
        else:
            cur.append(("lit", ch))
            i += 1
    parts.append(cur)
    return parts


def _match_part(tokens, s):
    # Iterative wildcard matching with backtracking on the last '*'.
    ti = si = 0
    star_ti = -1
    star_si = 0
    while si < len(s):
        if ti < len(tokens):
            t = tokens[ti]
            kind = t[0]
            if kind == "star":
                star_ti = ti
                star_si = si
                ti += 1
                continue
            ok = False
            if kind == "lit":
                ok = t[1] == s[si]
            elif kind == "any1":
                ok = True
            elif kind == "set":
                ok = (s[si] in t[2]) != t[1]
            if ok:
                ti += 1
                si += 1
                continue
        if star_ti >= 0:
            star_si += 1
            si = star_si
            ti = star_ti + 1
            continue
        return False
    while ti < len(tokens) and tokens[ti][0] == "star":
        ti += 1
    return ti == len(tokens)


def mask_matches(parsed, name):
    """No token crosses '/': the name must have as many parts as the mask."""
    name_parts = name.split("/")
    if len(name_parts) != len(parsed):
        return False
    return all(_match_part(t, p) for t, p in zip(parsed, name_parts))


# ---------------------------------------------------------------- socket helpers

def recv_exact(sock, n, deadline=None):
    """Reads exactly n bytes. deadline: absolute time.monotonic() limit for the
    whole read (request deadline); otherwise the socket's own (stall) timeout
    applies per recv. Raises EOFError on a premature close."""
    buf = bytearray()
    while len(buf) < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RequestDeadline("prazo do pedido")
            sock.settimeout(left)
            try:
                chunk = sock.recv(min(n - len(buf), 65536))
            except socket.timeout:
                raise RequestDeadline("prazo do pedido")
        else:
            chunk = sock.recv(min(n - len(buf), 65536))
        if not chunk:
            raise EOFError("conexão fechada após %d de %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def recv_u8(sock, deadline=None):
    return recv_exact(sock, 1, deadline)[0]


def recv_u32(sock, deadline=None):
    return struct.unpack(">I", recv_exact(sock, 4, deadline))[0]


def u32(n):
    return struct.pack(">I", n)


def enc_name(name):
    raw = name.encode("utf-8")
    return u32(len(raw)) + raw


def recv_to_file(sock, f, size):
    """Copies exactly `size` bytes from sock to f."""
    left = size
    while left > 0:
        chunk = sock.recv(min(left, 65536))
        if not chunk:
            raise EOFError("conexão fechada faltando %d de %d bytes" % (left, size))
        f.write(chunk)
        left -= len(chunk)


# ================================================================= CLIENT

class Client:
    def __init__(self, host, port, pasta, timeout):
        self.host = host
        self.port = port
        self.pasta = os.path.realpath(pasta)
        self.timeout = timeout

    # -- local jail
    def local_path(self, name, suffix=""):
        err = name_error(name)
        if err:
            raise ValueError("nome inválido (%s): %r" % (err, name))
        p = os.path.join(self.pasta, *name.split("/")) + suffix
        parent = os.path.realpath(os.path.dirname(p))
        if parent != self.pasta and not parent.startswith(self.pasta + os.sep):
            raise ValueError("caminho local sai da pasta: %r" % name)
        return p

    def connect(self):
        s = socket.create_connection((self.host, self.port), timeout=self.timeout)
        s.settimeout(self.timeout)
        return s

    def _save(self, sock, name, size):
        """Receives `size` bytes into NAME.parcial, then renames to NAME (section 8)."""
        final = self.local_path(name)
        partial = self.local_path(name, ".parcial")
        os.makedirs(os.path.dirname(final), exist_ok=True)
        with open(partial, "wb") as f:
            recv_to_file(sock, f, size)
        os.replace(partial, final)
        return final

    # -- op 10
    def baixar(self, name):
        self.local_path(name)  # validate before contacting the server
        with self.connect() as s:
            s.sendall(bytes([OP_DOWNLOAD]) + enc_name(name))
            st = recv_u8(s)
            if st == ST_REFUSED:
                return 1, {"op": "baixar", "status": st, "nome": name}
            if st != ST_OK:
                raise ProtocolError("status inesperado 0x%02x na op 10" % st)
            size = recv_u32(s)
            self._save(s, name, size)
            return 0, {"op": "baixar", "status": st, "nome": name, "tamanho": size}

    # -- op 20
    def listar(self):
        with self.connect() as s:
            s.sendall(bytes([OP_LIST]))
            st = recv_u8(s)
            if st == ST_REFUSED:
                return 1, {"op": "listar", "status": st}
            if st != ST_OK:
                raise ProtocolError("status inesperado 0x%02x na op 20" % st)
            length = recv_u32(s)
            if length > LIST_LIMIT:
                raise ProtocolError("listagem grande demais: %d bytes" % length)
            raw = recv_exact(s, length)
        lista = validate_listing(raw)
        return 0, {
            "op": "listar",
            "status": st,
            "comprimento": length,
            "json": raw.decode("utf-8"),
            "lista": lista,
        }

    # -- op 30
    def enviar(self, name):
        path = self.local_path(name)
        with open(path, "rb") as f:
            st_ = os.fstat(f.fileno())
            if not stat.S_ISREG(st_.st_mode):
                raise ValueError("não é arquivo comum: %r" % name)
            size = st_.st_size
            if size > MAX_U32:
                raise ValueError("arquivo de 4 GiB ou mais não cabe num u32")
            with self.connect() as s:
                s.sendall(bytes([OP_UPLOAD]) + enc_name(name))
                st1 = recv_u8(s)
                if st1 == ST_REFUSED:
                    return 1, {"op": "enviar", "status": [st1], "nome": name}
                if st1 != ST_OK:
                    raise ProtocolError("status inesperado 0x%02x na op 30" % st1)
                st2, sent = self._send_watching(s, f, size)
                if st2 not in (ST_OK, ST_REFUSED):
                    raise ProtocolError("segundo status inesperado 0x%02x na op 30" % st2)
                return (0 if st2 == ST_OK else 1), {
                    "op": "enviar",
                    "status": [st1, st2],
                    "nome": name,
                    "tamanho": size,
                    "enviados": sent,
                }

    def _send_watching(self, s, f, size):
        """Sends u32 size + data while watching for an early second status
        (PROTOCOL.md op 30: "Recusa antecipada do tamanho")."""
        import select

        pending = u32(size)
        sent = 0
        left = size
        early = None
        try:
            while pending or left > 0:
                if not pending:
                    pending = f.read(min(BLOCK, left))
                    if not pending:
                        raise ValueError("arquivo local encolheu durante o envio")
                    left -= len(pending)
                r, w, _ = select.select([s], [s], [], self.timeout)
                if not r and not w:
                    raise socket.timeout("envio parado")
                if r:
                    b = s.recv(1)
                    if not b:
                        raise EOFError("servidor fechou durante o envio")
                    early = b[0]
                    break
                n = s.send(pending)
                pending = pending[n:]
                sent += n
        except (BrokenPipeError, ConnectionResetError):
            # The status may already be waiting in the receive buffer.
            try:
                b = s.recv(1)
            except OSError:
                b = b""
            if not b:
                raise EOFError("conexão fechada durante o envio")
            early = b[0]
        if early is not None:
            return early, max(0, sent - 4)
        return recv_u8(s), size

    # -- op 40
    def retomar(self, name, pos):
        partial = self.local_path(name, ".parcial")
        final = self.local_path(name)
        # ASSUMPTION: PROTOCOL.md only says op 40 downloads continue NOME.parcial;
        # if it is missing but NOME exists, its first POS bytes are copied into
        # NOME.parcial and the download continues from there.
        if os.path.isfile(partial):
            source = partial
        elif os.path.isfile(final):
            source = final
        else:
            raise ValueError("nada local para retomar: %r" % name)
        with open(source, "rb") as f:
            have = f.read(pos)
        if len(have) < pos:
            raise ValueError("parte local tem só %d bytes (< %d)" % (len(have), pos))
        if pos > MAX_U32:
            raise ValueError("posição não cabe num u32")
        digest = hashlib.md5(have).digest()
        with self.connect() as s:
            s.sendall(bytes([OP_RESUME]) + enc_name(name) + u32(pos) + digest)
            st1 = recv_u8(s)
            base = {"op": "retomar", "nome": name, "posicao": pos, "md5": digest.hex()}
            if st1 == ST_REFUSED:
                return 1, dict(base, status=[st1])
            if st1 != ST_OK:
                raise ProtocolError("primeiro status inesperado 0x%02x na op 40" % st1)
            st2 = recv_u8(s)
            if st2 in (ST_NOT_FOUND, ST_BAD_HASH):
                return 1, dict(base, status=[st1, st2])
            if st2 != ST_OK:
                raise ProtocolError("segundo status inesperado 0x%02x na op 40" % st2)
            rest = recv_u32(s)
            if pos + rest > MAX_U32:
                raise ProtocolError("posição + restante passa de 4 GiB")
            os.makedirs(os.path.dirname(partial), exist_ok=True)
            if source == final:
                with open(partial, "wb") as out:
                    out.write(have)
            with open(partial, "r+b") as out:
                out.truncate(pos)
                out.seek(pos)
                recv_to_file(s, out, rest)
            os.replace(partial, final)
            return 0, dict(base, status=[st1, st2], restante=rest, tamanho=pos + rest)

    # -- op 50
    def baixar_varios(self, mask):
        err = name_error(mask, is_mask=True)
        if err:
            raise ValueError("máscara inválida (%s): %r" % (err, mask))
        parsed = parse_mask(mask)
        with self.connect() as s:
            s.sendall(bytes([OP_MULTI]) + enc_name(mask))
            st = recv_u8(s)
            if st == ST_REFUSED:
                return 1, {"op": "baixar-varios", "status": st, "mascara": mask}
            if st == ST_TOO_MANY:
                found = recv_u32(s)
                limit = recv_u32(s)
                return 1, {"op": "baixar-varios", "status": st, "mascara": mask,
                           "encontrados": found, "limite": limit}
            if st != ST_OK:
                raise ProtocolError("status inesperado 0x%02x na op 50" % st)
            n = recv_u32(s)
            if n > MULTI_LIMIT:
                raise ProtocolError("manifesto com %d entradas (limite %d)" % (n, MULTI_LIMIT))
            manifest = []
            seen = set()
            for _ in range(n):
                ln = recv_u32(s)
                if ln == 0 or ln > MAX_NAME:
                    raise ProtocolError("comprimento de nome %d no manifesto" % ln)
                nm = decode_name(recv_exact(s, ln))
                if nm is None or name_error(nm):
                    raise ProtocolError("nome inválido no manifesto: %r" % nm)
                if not mask_matches(parsed, nm):
                    raise ProtocolError("nome %r não casa com a máscara %r" % (nm, mask))
                if nm in seen:
                    raise ProtocolError("nome repetido no manifesto: %r" % nm)
                seen.add(nm)
                manifest.append({"nome": nm, "tamanho": recv_u32(s)})
            files = []
            for entry in manifest:
                fst = recv_u8(s)
                if fst == ST_REFUSED:
                    files.append({"nome": entry["nome"], "status": fst})
                    continue
                if fst != ST_OK:
                    raise ProtocolError("status de arquivo inesperado 0x%02x na op 50" % fst)
                size = recv_u32(s)
                self._save(s, entry["nome"], size)
                files.append({"nome": entry["nome"], "status": fst, "tamanho": size})
            return 0, {"op": "baixar-varios", "status": st, "mascara": mask, "n": n,
                       "manifesto": manifest, "arquivos": files}


def _reject_constant(c):
    raise ValueError("constante JSON inválida: %s" % c)


def _pairs(pairs):
    keys = [k for k, _ in pairs]
    if sorted(keys) != ["nome", "tamanho"]:
        raise ProtocolError("entrada da listagem com propriedades %r" % keys)
    return dict(pairs)


def validate_listing(raw):
    """PROTOCOL.md section 8: exact format (only 'nome' and 'tamanho'), valid names,
    'tamanho' decimal."""
    try:
        text = raw.decode("utf-8", "strict")
    except UnicodeDecodeError:
        raise ProtocolError("listagem não é UTF-8")
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_constant=_reject_constant)
    except ProtocolError:
        raise
    except ValueError as e:
        raise ProtocolError("JSON inválido: %s" % e)
    if not isinstance(data, list):
        raise ProtocolError("listagem não é um array")
    out = []
    for item in data:
        if not isinstance(item, dict):
            raise ProtocolError("item da listagem não é objeto")
        nome, tam = item["nome"], item["tamanho"]
        if not isinstance(nome, str) or name_error(nome):
            raise ProtocolError("nome inválido na listagem: %r" % (nome,))
        # ASSUMPTION: "decimal" = one or more ASCII digits (leading zeros accepted).
        if not isinstance(tam, str) or not tam or not all("0" <= c <= "9" for c in tam):
            raise ProtocolError("tamanho não decimal na listagem: %r" % (tam,))
        out.append({"nome": nome, "tamanho": tam})
    return out


def client_main(argv):
    args, opts = split_opts(argv, {"--pasta": 1, "--timeout": 1})
    if len(args) < 3:
        usage()
    host, port, op = args[0], int(args[1]), args[2]
    rest = args[3:]
    pasta = opts.get("--pasta", ".")
    timeout = float(opts.get("--timeout", "10"))
    os.makedirs(pasta, exist_ok=True)
    c = Client(host, port, pasta, timeout)
    try:
        if op == "baixar" and len(rest) == 1:
            code, out = c.baixar(rest[0])
        elif op == "listar" and not rest:
            code, out = c.listar()
        elif op == "enviar" and len(rest) == 1:
            code, out = c.enviar(rest[0])
        elif op == "retomar" and len(rest) == 2:
            code, out = c.retomar(rest[0], int(rest[1]))
        elif op == "baixar-varios" and len(rest) == 1:
            code, out = c.baixar_varios(rest[0])
        else:
            usage()
    except ValueError as e:
        print(json.dumps({"op": op, "erro": "local", "detalhe": str(e)}, ensure_ascii=False))
        return 2
    except ProtocolError as e:
        print(json.dumps({"op": op, "erro": "protocolo", "detalhe": str(e)}, ensure_ascii=False))
        return 3
    except (OSError, EOFError) as e:
        print(json.dumps({"op": op, "erro": "rede", "detalhe": repr(e)}, ensure_ascii=False))
        return 3
    print(json.dumps(out, ensure_ascii=False))
    return code


# ================================================================= SERVER

class Server:
    def __init__(self, pasta, timeout, max_size):
        os.makedirs(pasta, exist_ok=True)
        self.base = os.path.realpath(pasta)
        self.timeout = timeout
        self.max_size = max_size
        self.log_lock = threading.Lock()

    def log(self, **kw):
        with self.log_lock:
            sys.stdout.write(json.dumps(kw, ensure_ascii=False) + "\n")
            sys.stdout.flush()

    # -- jail
    def inside(self, real):
        return real == self.base or real.startswith(self.base + os.sep)

    def resolve(self, name):
        """Real path of an existing name, or None if it escapes the folder."""
        real = os.path.realpath(os.path.join(self.base, *name.split("/")))
        return real if self.inside(real) else None

    def open_regular(self, name):
        """Opens a regular file inside the folder; returns (file, size) or None."""
        real = self.resolve(name)
        if real is None:
            return None
        try:
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        except OSError:
            return None
        st_ = os.fstat(fd)
        if not stat.S_ISREG(st_.st_mode):
            os.close(fd)
            return None
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st_.st_size

    def listing(self):
        """Recursive, regular files only, no hidden files/dirs, no symlinks, no
        invalid names; sorted by code point."""
        out = []

        def walk(rel_dir, abs_dir):
            try:
                entries = list(os.scandir(abs_dir))
            except OSError:
                return
            for e in entries:
                if e.name.startswith("."):
                    continue
                rel = e.name if not rel_dir else rel_dir + "/" + e.name
                if name_error(rel):
                    continue
                try:
                    if e.is_symlink():
                        continue
                    if e.is_dir(follow_symlinks=False):
                        walk(rel, e.path)
                    elif e.is_file(follow_symlinks=False):
                        out.append((rel, e.stat(follow_symlinks=False).st_size))
                except OSError:
                    continue

        walk("", self.base)
        out.sort(key=lambda t: t[0])  # Python str order == code point order
        return out

    # -- connection
    def handle(self, sock, addr):
        deadline = time.monotonic() + self.timeout
        entry = {"cliente": "%s:%d" % addr[:2]}
        try:
            op = recv_u8(sock, deadline)
            entry["op"] = op
            if op == OP_DOWNLOAD:
                self.op_download(sock, deadline, entry)
            elif op == OP_LIST:
                self.op_list(sock, entry)
            elif op == OP_UPLOAD:
                self.op_upload(sock, deadline, entry)
            elif op == OP_RESUME:
                self.op_resume(sock, deadline, entry)
            elif op == OP_MULTI:
                self.op_multi(sock, deadline, entry)
            else:
                entry["resultado"] = "op-desconhecida"
                sock.sendall(bytes([ST_REFUSED]))
        except Refused as e:
            entry.setdefault("resultado", "recusado: %s" % e)
            try:
                sock.settimeout(self.timeout)
                sock.sendall(bytes([ST_REFUSED]))
            except OSError:
                pass
        except RequestDeadline as e:
            # Section 6: a request that does not arrive whole in time gets 0x01.
            entry["resultado"] = "prazo: %s" % e
            try:
                sock.settimeout(self.timeout)
                sock.sendall(bytes([ST_REFUSED]))
            except OSError:
                pass
        except (EOFError, OSError) as e:
            entry["resultado"] = "conexão: %r" % e
        finally:
            self.close_gently(sock)
            self.log(**entry)

    @staticmethod
    def close_gently(sock):
        """Section 1: bytes after the end of a message are ignored. Closing a
        socket with unread bytes makes the kernel send RST, which can destroy the
        response still in flight; so half-close and drain briefly first."""
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(1.0)
            drained = 0
            while drained < (1 << 20):
                b = sock.recv(65536)
                if not b:
                    break
                drained += len(b)
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass

    def read_name(self, sock, deadline, entry, is_mask=False):
        ln = recv_u32(sock, deadline)
        if ln == 0 or ln > MAX_NAME:  # refuse before reading/allocating
            entry["resultado"] = "comprimento %d" % ln
            raise Refused("comprimento")
        raw = recv_exact(sock, ln, deadline)
        name = decode_name(raw)
        entry["nome"] = name if name is not None else raw.hex()
        return name

    def check_name(self, name, entry, is_mask=False):
        err = "utf8" if name is None else name_error(name, is_mask)
        if err:
            entry["resultado"] = "nome inválido: %s" % err
            raise Refused(err)

    def send_file(self, sock, f, size):
        """Sends exactly `size` bytes in 1024-byte blocks; if the file shrinks,
        closes the connection (EOFError)."""
        sock.settimeout(self.timeout)
        left = size
        while left > 0:
            chunk = f.read(min(BLOCK, left))
            if not chunk:
                raise EOFError("arquivo encolheu durante o envio")
            sock.sendall(chunk)
            left -= len(chunk)

    # op 10
    def op_download(self, sock, deadline, entry):
        name = self.read_name(sock, deadline, entry)
        self.check_name(name, entry)
        opened = self.open_regular(name)
        if opened is None:
            entry["resultado"] = "não existe"
            raise Refused("não existe")
        f, size = opened
        with f:
            if size > MAX_U32:
                entry["resultado"] = "4 GiB ou mais"
                raise Refused("grande")
            sock.settimeout(self.timeout)
            sock.sendall(bytes([ST_OK]) + u32(size))
            self.send_file(sock, f, size)
        entry["resultado"] = "ok"
        entry["bytes"] = size

    # op 20
    def op_list(self, sock, entry):
        items = [{"nome": n, "tamanho": str(sz)} for n, sz in self.listing()]
        # ASSUMPTION: compact separators, key order nome/tamanho, raw UTF-8 (no \u
        # escapes) -- PROTOCOL.md only shows compact examples.
        body = json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        sock.settimeout(self.timeout)
        sock.sendall(bytes([ST_OK]) + u32(len(body)) + body)
        entry["resultado"] = "ok"
        entry["bytes"] = len(body)

    # op 30
    def op_upload(self, sock, deadline, entry):
        name = self.read_name(sock, deadline, entry)
        self.check_name(name, entry)
        parts = name.split("/")
        # Walk/create the parent folders, refusing non-folders and escapes.
        cur = self.base
        for p in parts[:-1]:
            nxt = os.path.join(cur, p)
            if os.path.lexists(nxt):
                real = os.path.realpath(nxt)
                if not self.inside(real) or not os.path.isdir(real):
                    entry["resultado"] = "parte do caminho não é pasta ou sai da pasta"
                    raise Refused("caminho")
                cur = real
            else:
                try:
                    os.mkdir(nxt)
                except FileExistsError:
                    pass
                except OSError:
                    entry["resultado"] = "não criou pasta"
                    raise Refused("mkdir")
                cur = os.path.realpath(nxt)
                if not self.inside(cur):
                    raise Refused("caminho")
        target = os.path.join(cur, parts[-1])
        if os.path.isdir(target):
            entry["resultado"] = "destino é pasta"
            raise Refused("pasta")
        sock.settimeout(self.timeout)
        sock.sendall(bytes([ST_OK]))
        # From here on the request deadline no longer applies: stall timeout.
        size = recv_u32(sock)
        entry["tamanho"] = size
        try:
            free = os.statvfs(cur).f_bavail * os.statvfs(cur).f_frsize
        except (OSError, AttributeError):
            free = None
        if (self.max_size is not None and size > self.max_size) or (free is not None and size > free):
            entry["resultado"] = "tamanho recusado"
            sock.sendall(bytes([ST_REFUSED]))  # early refusal, right away
            return
        tmp = os.path.join(cur, ".envio-%s.tmp" % secrets.token_hex(8))
        ok = False
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb") as out:
                recv_to_file(sock, out, size)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
            ok = True
        except (EOFError, socket.timeout, OSError) as e:
            entry["resultado"] = "falhou: %r" % e
        finally:
            if not ok:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        if ok:
            entry["resultado"] = "ok"
            sock.sendall(bytes([ST_OK]))
        else:
            try:
                sock.sendall(bytes([ST_REFUSED]))
            except OSError:
                pass

    # op 40
    def op_resume(self, sock, deadline, entry):
        name = self.read_name(sock, deadline, entry)
        pos = recv_u32(sock, deadline)
        digest = recv_exact(sock, 16, deadline)
        entry["posicao"] = pos
        self.check_name(name, entry)  # invalid -> first status 0x01
        sock.settimeout(self.timeout)
        opened = self.open_regular(name)
        if opened is None:
            entry["resultado"] = "não existe"
            sock.sendall(bytes([ST_OK, ST_NOT_FOUND]))
            return
        f, size = opened
        with f:
            if size > MAX_U32:
                entry["resultado"] = "não existe (4 GiB ou mais)"
                sock.sendall(bytes([ST_OK, ST_NOT_FOUND]))
                return
            if pos > size:
                entry["resultado"] = "hash não confere (posição além do fim)"
                sock.sendall(bytes([ST_OK, ST_BAD_HASH]))
                return
            h = hashlib.md5()
            left = pos
            while left > 0:
                chunk = f.read(min(65536, left))
                if not chunk:
                    break
                h.update(chunk)
                left -= len(chunk)
            if left > 0 or h.digest() != digest:
                entry["resultado"] = "hash não confere"
                sock.sendall(bytes([ST_OK, ST_BAD_HASH]))
                return
            rest = size - pos
            sock.sendall(bytes([ST_OK, ST_OK]) + u32(rest))
            self.send_file(sock, f, rest)
        entry["resultado"] = "ok"
        entry["bytes"] = rest

    # op 50
    def op_multi(self, sock, deadline, entry):
        mask = self.read_name(sock, deadline, entry, is_mask=True)
        self.check_name(mask, entry, is_mask=True)
        parsed = parse_mask(mask)
        found = [(n, sz) for n, sz in self.listing() if sz <= MAX_U32 and mask_matches(parsed, n)]
        sock.settimeout(self.timeout)
        if len(found) > MULTI_LIMIT:
            entry["resultado"] = "arquivos demais: %d" % len(found)
            sock.sendall(bytes([ST_TOO_MANY]) + u32(len(found)) + u32(MULTI_LIMIT))
            return
        head = bytearray([ST_OK]) + u32(len(found))
        for n, sz in found:
            head += enc_name(n) + u32(sz)
        sock.sendall(bytes(head))
        sent = []
        for n, _ in found:
            opened = self.open_regular(n)
            if opened is None:
                sock.sendall(bytes([ST_REFUSED]))
                sent.append([n, "sumiu"])
                continue
            f, size = opened
            with f:
                if size > MAX_U32:
                    sock.sendall(bytes([ST_REFUSED]))
                    sent.append([n, "grande"])
                    continue
                sock.sendall(bytes([ST_OK]) + u32(size))
                self.send_file(sock, f, size)
            sent.append([n, size])
        entry["resultado"] = "ok"
        entry["arquivos"] = sent


def server_main(argv):
    args, opts = split_opts(argv, {"--pasta": 1, "--timeout": 1, "--tamanho-maximo": 1})
    if len(args) != 1:
        usage()
    port = int(args[0])
    srv = Server(opts.get("--pasta", "."), float(opts.get("--timeout", "30")),
                 int(opts["--tamanho-maximo"]) if "--tamanho-maximo" in opts else None)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))  # loopback only (test peer)
    ls.listen(128)
    print("PRONTO %d" % ls.getsockname()[1], flush=True)
    try:
        while True:
            conn, addr = ls.accept()
            t = threading.Thread(target=srv.handle, args=(conn, addr), daemon=True)
            t.start()
    except KeyboardInterrupt:
        pass
    finally:
        ls.close()
    return 0


# ================================================================= RAW probe

def raw_main(argv):
    args, opts = split_opts(argv, {"--ler": 1, "--timeout": 1})
    host, port, hexdata = args[0], int(args[1]), args[2]
    limit = int(opts.get("--ler", "65536"))
    timeout = float(opts.get("--timeout", "5"))
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    out = bytearray()
    closed = False
    try:
        s.sendall(bytes.fromhex(hexdata))
        while len(out) < limit:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            out += b
    except socket.timeout:
        pass
    except OSError as e:
        print(json.dumps({"erro": repr(e), "resposta": out.hex()}))
        return 0
    finally:
        s.close()
    print(json.dumps({"resposta": out.hex(), "fechou": closed}))
    return 0


# ================================================================= CLI

def split_opts(argv, known):
    args, opts = [], {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in known:
            if i + 1 >= len(argv):
                usage()
            opts[a] = argv[i + 1]
            i += 2
        else:
            args.append(a)
            i += 1
    return args, opts


def usage():
    sys.stderr.write(__doc__)
    sys.exit(2)


def main():
    if len(sys.argv) < 2:
        usage()
    mode = sys.argv[1]
    if mode == "client":
        sys.exit(client_main(sys.argv[2:]))
    if mode == "server":
        sys.exit(server_main(sys.argv[2:]))
    if mode == "raw":
        sys.exit(raw_main(sys.argv[2:]))
    usage()


if __name__ == "__main__":
    main()
