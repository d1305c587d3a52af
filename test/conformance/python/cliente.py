"""Um cliente como o de um aluno: menu interativo, uma função por operação.

Usado pelos testes do verificador de clientes (test/conformance/) para mostrar
o adaptador de docs/FERRAMENTAS.md funcionando. Só socket, os, json, time e,
para o MD5 da op 40, hashlib.
"""

import hashlib
import json
import os
import socket
import sys

PASTA = "arquivos"
TIMEOUT = 5


def conectar(host, porta):
    s = socket.create_connection((host, porta), timeout=TIMEOUT)
    s.settimeout(TIMEOUT)
    return s


def receber(s, n):
    dados = b""
    while len(dados) < n:
        parte = s.recv(min(65536, n - len(dados)))
        if not parte:
            raise ConnectionError("o servidor fechou a conexão no meio da mensagem")
        dados += parte
    return dados


def u32(n):
    return n.to_bytes(4, "big")


def ler_u32(s):
    return int.from_bytes(receber(s, 4), "big")


def com_nome(op, nome):
    b = nome.encode("utf-8")
    return bytes([op]) + u32(len(b)) + b


def nome_seguro(nome):
    partes = nome.split("/")
    return not (nome.startswith("/") or "\\" in nome or any(p in ("", ".", "..") or p.startswith(".") for p in partes))


def receber_arquivo(s, nome, tamanho):
    destino = os.path.join(PASTA, nome)
    parcial = destino + ".parcial"
    with open(parcial, "wb") as f:
        falta = tamanho
        while falta > 0:
            parte = s.recv(min(65536, falta))
            if not parte:
                raise ConnectionError("download interrompido")
            f.write(parte)
            falta -= len(parte)
    os.replace(parcial, destino)


def baixar(host, porta, nome):
    with conectar(host, porta) as s:
        s.sendall(com_nome(10, nome))
        if receber(s, 1)[0] != 0:
            print("arquivo não existe")
            return False
        receber_arquivo(s, nome, ler_u32(s))
        return True


def listar(host, porta):
    with conectar(host, porta) as s:
        s.sendall(bytes([20]))
        if receber(s, 1)[0] != 0:
            return False
        for item in json.loads(receber(s, ler_u32(s)).decode("utf-8")):
            print(item["nome"], item["tamanho"])
        return True


def enviar(host, porta, nome):
    caminho = os.path.join(PASTA, nome)
    if not os.path.isfile(caminho):
        print("arquivo local não existe")
        return False
    with open(caminho, "rb") as f:
        dados = f.read()
    with conectar(host, porta) as s:
        s.sendall(com_nome(30, nome))
        if receber(s, 1)[0] != 0:
            return False
        s.sendall(u32(len(dados)) + dados)
        return receber(s, 1)[0] == 0


def retomar(host, porta, nome):
    parcial = os.path.join(PASTA, nome + ".parcial")
    tenho = b""
    if os.path.isfile(parcial):
        with open(parcial, "rb") as f:
            tenho = f.read()
    with conectar(host, porta) as s:
        s.sendall(com_nome(40, nome) + u32(len(tenho)) + hashlib.md5(tenho).digest())
        if receber(s, 1)[0] != 0 or receber(s, 1)[0] != 0:
            return False
        resto = receber(s, ler_u32(s))
    with open(parcial, "ab") as f:
        f.write(resto)
    os.replace(parcial, os.path.join(PASTA, nome))
    return True


def casa(mascara, nome):
    # Só o * e o ?, numa parte: o bastante para um trabalho de aula.
    import fnmatch

    return "/" not in nome and fnmatch.fnmatchcase(nome, mascara)


def baixar_varios(host, porta, mascara):
    with conectar(host, porta) as s:
        s.sendall(com_nome(50, mascara))
        if receber(s, 1)[0] != 0:
            return False
        n = ler_u32(s)
        if n > 10000:
            return False
        nomes = []
        for _ in range(n):
            nome = receber(s, ler_u32(s)).decode("utf-8")
            ler_u32(s)
            if not nome_seguro(nome) or not casa(mascara, nome) or nome in nomes:
                print("manifesto inválido:", nome)
                return False
            nomes.append(nome)
        for nome in nomes:
            if receber(s, 1)[0] == 0:
                receber_arquivo(s, nome, ler_u32(s))
        return True


if __name__ == "__main__":
    host, porta = sys.argv[1].rsplit(":", 1)
    porta = int(porta)
    while True:
        escolha = input("1 baixar, 2 listar, 3 enviar, 4 retomar, 5 baixar vários, 0 sair: ")
        if escolha == "0":
            break
        if escolha == "2":
            listar(host, porta)
            continue
        nome = input("nome: ")
        {"1": baixar, "3": enviar, "4": retomar, "5": baixar_varios}[escolha](host, porta, nome)
