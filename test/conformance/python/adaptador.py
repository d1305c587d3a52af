"""Adaptador entre o verificador de clientes e um cliente com menu.

    bun run conformidade-cliente --timeout 5 --parcial '{nome}.parcial' -- \
        python3 adaptador.py {endereco} {pasta} {op} {nome}

Chama direto as funções do cliente (sem passar pelo menu), na pasta que o
verificador preparou, e termina com status 0 quando a operação deu certo e 1
quando não deu (recusa, arquivo que não existe, conexão cortada, timeout).
"""

import sys

import cliente  # o seu cliente.py, com o menu dentro de: if __name__ == "__main__":

endereco, pasta, op = sys.argv[1], sys.argv[2], sys.argv[3]
nome = sys.argv[4] if len(sys.argv) > 4 else ""
host, porta = endereco.rsplit(":", 1)
porta = int(porta)

cliente.PASTA = pasta  # onde o seu cliente grava e lê os arquivos
cliente.TIMEOUT = 5  # o mesmo número do --timeout do verificador

operacoes = {
    "baixar": lambda: cliente.baixar(host, porta, nome),
    "listar": lambda: cliente.listar(host, porta),
    "enviar": lambda: cliente.enviar(host, porta, nome),
    "retomar": lambda: cliente.retomar(host, porta, nome),
    "baixar-varios": lambda: cliente.baixar_varios(host, porta, nome),
}

try:
    deu_certo = operacoes[op]()
except Exception as erro:  # conexão cortada, timeout, resposta fora do protocolo
    print(f"falhou: {erro}", file=sys.stderr)
    sys.exit(1)
sys.exit(0 if deu_certo else 1)
