/** The deliberately broken variants of the reference server, by the rule each one breaks. */

export const MUTANTS = [
  "json-aspas-simples",
  "tamanho-numero",
  "sem-md5",
  "um-status-op40",
  "little-endian",
  "travessia",
  "link-fora",
  "upload-nao-atomico",
  "dados-truncados",
  "inexistente-vazio",
  "sem-timeout",
  "um-cliente-por-vez",
  "segunda-operacao",
  "alocacao-cega",
  "sem-status-final",
  "fifo-bloqueia",
  "listagem-comprimento-curto"
] as const
export type Mutant = (typeof MUTANTS)[number]
