import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import * as fs from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, Either } from "effect"
import { FileFailure } from "../../src/domain/errors.ts"
import { makeFileStore } from "../../src/services/FileStoreLive.ts"
import {
  type Instance,
  MARKS_FOLDER,
  type Machine,
  makeInstance,
  ownerOf,
  STALE_MILLIS,
  sweepAbandoned,
  sweepIfAnyGone,
  thisMachine
} from "../../src/services/files/owners.ts"
import { failureOf, run, runExit } from "../support/effect.ts"
import { waitFor } from "../support/hostile.ts"
import { deadPid, processState, startWriter, zombie } from "../support/writers.ts"

const HAS_PROC = existsSync("/proc/self/stat")
if (!HAS_PROC)
  console.log("sem /proc: os casos de processo zumbi são pulados (só o Linux mostra o estado de um processo)")
const HAS_PYTHON = Bun.which("python3") !== null
if (!HAS_PYTHON) console.log("sem python3: o caso do processo cuja thread principal terminou é pulado")

/**
 * Temporaries of several server processes on one folder: who owns each one,
 * the mark a live writer keeps, and a sweep that only deletes what a gone
 * writer left. Staleness is simulated by moving a mark's time back, never by
 * waiting.
 */

let root: string
beforeEach(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(tmpdir(), "owners-")))
})
/** Holds that a test leaves in place (an instance "died" holding them), released after it: a held mark's refresh would write the folder again. */
const releases: Array<() => void> = []
const holdUntilEnd = (instance: Instance) => void releases.push(instance.hold())
afterEach(async () => {
  for (const release of releases.splice(0)) release()
  await fs.rm(root, { recursive: true, force: true })
})

const marks = () => fs.readdir(path.join(root, MARKS_FOLDER)).catch(() => [] as Array<string>)
const exists = (name: string) =>
  fs.lstat(path.join(root, name)).then(
    () => true,
    () => false
  )
const put = async (name: string) => {
  await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true })
  await fs.writeFile(path.join(root, name), "partial upload")
}
const backdate = (name: string, millis: number) => {
  const then = new Date(Date.now() - millis)
  return fs.utimes(path.join(root, name), then, then)
}

/** Another instance on the folder, as another process would make. */
const other = (options: { machine?: Machine; pid?: number } = {}) => makeInstance(root, options)

describe("names and marks", () => {
  test("a temporary names its instance; older names have no owner; other files are no temporaries", () => {
    const instance = makeInstance(root)
    const name = instance.temporaryName()
    expect(name).toMatch(/^\.envio-[0-9a-f]{28}\.tmp$/)
    expect(name).not.toBe(instance.temporaryName())
    expect(ownerOf(name)).toBe(instance.id)
    expect(ownerOf(".envio-0123456789abcdef.tmp")).toBeNull()
    expect(ownerOf(".envio-x.tmp")).toBeNull()
    for (const other of [".envio-.tmp", "envio-x.tmp", ".envio-x.tmp.keep", "a.txt", ".instancias"]) {
      expect(ownerOf(other)).toBeUndefined()
    }
  })

  test("no mark until a temporary is held; refreshed while held; removed (with its folder) after the last release", async () => {
    const instance = makeInstance(root, { refreshMillis: 40 })
    expect(await marks()).toEqual([])
    const first = instance.hold()
    const second = instance.hold()
    expect(await marks()).toEqual([instance.id])
    const mark = path.join(MARKS_FOLDER, instance.id)
    await backdate(mark, 60_000)
    const old = (await fs.stat(path.join(root, mark))).mtimeMs
    expect(await waitFor(async () => (await fs.stat(path.join(root, mark))).mtimeMs > old + 50_000, 3_000)).toBe(true)
    const content = JSON.parse(await fs.readFile(path.join(root, mark), "utf8"))
    expect(content).toEqual({ ...thisMachine(), pid: process.pid, start: expect.stringMatching(/^\d+$/) })
    first()
    first() // a second call of the same release does nothing
    expect(await marks()).toEqual([instance.id])
    second()
    expect(await exists(MARKS_FOLDER)).toBe(false)
  })

  test("a mark removed under a live instance (judged stale elsewhere) is written again at the next refresh", async () => {
    const instance = makeInstance(root, { refreshMillis: 30 })
    const release = instance.hold()
    await fs.rm(path.join(root, MARKS_FOLDER), { recursive: true })
    expect(await waitFor(async () => (await marks()).includes(instance.id), 3_000)).toBe(true)
    expect(await marks()).toEqual([instance.id])
    release()
  })
})

describe("sweepAbandoned", () => {
  test("keeps the temporaries of a live instance (fresh mark, live process) and its own", async () => {
    const self = makeInstance(root)
    const live = other()
    const release = live.hold()
    const theirs = live.temporaryName()
    const mine = self.temporaryName()
    await put(theirs)
    await put(`sub/${mine}`)
    expect(await sweepAbandoned(root, self)).toBe(0)
    expect(await exists(theirs)).toBe(true)
    expect(await exists(`sub/${mine}`)).toBe(true)
    expect(await marks()).toEqual([live.id])
    release()
  })

  test("removes the temporaries of an instance without a mark (it finished or never wrote one)", async () => {
    const self = makeInstance(root)
    const gone = other()
    const name = gone.temporaryName()
    await put(`a/b/${name}`)
    expect(await sweepAbandoned(root, self)).toBe(1)
    expect(await exists(`a/b/${name}`)).toBe(false)
    expect(await exists("a/b")).toBe(true)
  })

  test(`removes those of an instance whose mark was last refreshed more than ${STALE_MILLIS / 1000} s before the sweeper's, and the mark`, async () => {
    const self = makeInstance(root)
    // Another machine: its process cannot be checked, only its mark's age.
    const frozen = other({ machine: { host: "outra-maquina", boot: "b", pidNamespace: "pid:[1]" }, pid: 1 })
    const release = frozen.hold()
    const name = frozen.temporaryName()
    await put(name)
    await backdate(path.join(MARKS_FOLDER, frozen.id), STALE_MILLIS - 10_000)
    expect(await sweepAbandoned(root, self)).toBe(0)
    expect(await exists(name)).toBe(true)
    await backdate(path.join(MARKS_FOLDER, frozen.id), STALE_MILLIS + 10_000)
    expect(await sweepAbandoned(root, self)).toBe(1)
    expect(await exists(name)).toBe(false)
    expect(await marks()).toEqual([])
    release()
  })

  test("on this machine, a dead process's temporaries go at once, its mark fresh or not", async () => {
    const self = makeInstance(root)
    const killed = other({ pid: await deadPid() })
    holdUntilEnd(killed) // the process "died" holding it
    const names = [killed.temporaryName(), killed.temporaryName()]
    for (const name of names) await put(name)
    expect(await sweepAbandoned(root, self)).toBe(2)
    for (const name of names) expect(await exists(name)).toBe(false)
    expect(await marks()).toEqual([])
  })

  test.skipIf(!HAS_PROC)(
    "a live pid that another process has taken since (its start time differs) is gone",
    async () => {
      const self = makeInstance(root)
      const reused = other()
      holdUntilEnd(reused)
      const name = reused.temporaryName()
      await put(name)
      const mark = path.join(root, MARKS_FOLDER, reused.id)
      const content = JSON.parse(await fs.readFile(mark, "utf8"))
      await fs.writeFile(mark, JSON.stringify({ ...content, start: "1" }))
      expect(await sweepAbandoned(root, self)).toBe(1)
      expect(await exists(name)).toBe(false)
      expect(await marks()).toEqual([])
    }
  )

  test.skipIf(!HAS_PROC || !HAS_PYTHON)(
    "a process whose main thread ended while another runs (its /proc state is Z too) is alive; gone once killed",
    async () => {
      // The main thread leaves with pthread_exit; a second thread keeps the process (bounded: 30 s).
      const script =
        "import ctypes, threading, time, os\n" +
        "threading.Thread(target=lambda: (time.sleep(30), os._exit(0))).start()\n" +
        "ctypes.CDLL(None).pthread_exit(None)\n"
      const child = Bun.spawn(["python3", "-c", script], { stdout: "ignore", stderr: "inherit" })
      try {
        expect(await waitFor(() => processState(child.pid) === "Z", 5_000)).toBe(true)
        expect(zombie(child.pid)).toBe(false)
        const self = makeInstance(root)
        const threaded = other({ pid: child.pid })
        holdUntilEnd(threaded)
        const name = threaded.temporaryName()
        await put(name)
        expect(await sweepAbandoned(root, self)).toBe(0)
        expect(await exists(name)).toBe(true)
        child.kill("SIGKILL")
        await child.exited
        expect(await sweepAbandoned(root, self)).toBe(1)
        expect(await marks()).toEqual([])
      } finally {
        child.kill("SIGKILL")
        await child.exited
      }
    }
  )

  test("the same dead pid on another machine or pid namespace proves nothing: kept while its mark is fresh", async () => {
    const self = makeInstance(root)
    const here = thisMachine()
    const pid = await deadPid()
    const elsewhere = [
      other({ machine: { ...here, host: `${here.host}-b` }, pid }),
      other({ machine: { ...here, boot: "another-boot" }, pid }),
      other({ machine: { ...here, pidNamespace: "pid:[999]" }, pid })
    ]
    const names: Array<string> = []
    for (const instance of elsewhere) {
      holdUntilEnd(instance)
      names.push(instance.temporaryName())
    }
    for (const name of names) await put(name)
    expect(await sweepAbandoned(root, self)).toBe(0)
    for (const name of names) expect(await exists(name)).toBe(true)
  })

  test("temporaries of an older version (no owner) go only when not written for the stale bound", async () => {
    const self = makeInstance(root)
    await put(".envio-0123456789abcdef.tmp")
    await put(".envio-fedcba9876543210.tmp")
    await backdate(".envio-fedcba9876543210.tmp", STALE_MILLIS + 1_000)
    expect(await sweepAbandoned(root, self)).toBe(1)
    expect(await exists(".envio-0123456789abcdef.tmp")).toBe(true)
  })

  test("the sweeper leaves no mark of its own when it holds nothing", async () => {
    const self = makeInstance(root)
    await sweepAbandoned(root, self)
    expect(await exists(MARKS_FOLDER)).toBe(false)
  })
})

describe("sweepIfAnyGone (the periodic sweep)", () => {
  test("with no other instance's mark it touches nothing, not even an old version's stale temporary", async () => {
    const self = makeInstance(root)
    await put(".envio-fedcba9876543210.tmp")
    await backdate(".envio-fedcba9876543210.tmp", STALE_MILLIS + 1_000)
    const gone = other().temporaryName()
    await put(gone)
    expect(await sweepIfAnyGone(root, self)).toBe(0)
    expect(await exists(".envio-fedcba9876543210.tmp")).toBe(true)
    expect(await exists(gone)).toBe(true)
    expect(await exists(MARKS_FOLDER)).toBe(false)
  })

  test("keeps a live instance's temporaries and mark; removes a dead one's (with its mark), anywhere in the folder", async () => {
    const self = makeInstance(root)
    const live = other()
    const release = live.hold()
    const theirs = live.temporaryName()
    await put(`x/${theirs}`)
    expect(await sweepIfAnyGone(root, self)).toBe(0)
    expect(await exists(`x/${theirs}`)).toBe(true)
    const killed = other({ pid: await deadPid() })
    holdUntilEnd(killed)
    const dead = killed.temporaryName()
    await put(`y/z/${dead}`)
    expect(await sweepIfAnyGone(root, self)).toBe(1)
    expect(await exists(`y/z/${dead}`)).toBe(false)
    expect(await exists(`x/${theirs}`)).toBe(true)
    expect(await marks()).toEqual([live.id])
    release()
  })
})

describe("two stores on one folder, as two server processes", () => {
  test("a sweep by one (its start-up) never touches the upload the other is writing; that upload then publishes", async () => {
    const first = await run(makeFileStore(root))
    const second = await run(makeFileStore(root))
    const result = await run(
      Effect.gen(function* () {
        const file = yield* first.createAtomic("compartilhado.txt")
        const written = file.sink.write(new TextEncoder().encode("inteiro"))
        if (Either.isLeft(written)) return yield* written.left
        const swept = yield* second.sweepTemporaries
        yield* file.commit
        return swept
      })
    )
    expect(result).toBe(0)
    expect(await fs.readFile(path.join(root, "compartilhado.txt"), "utf8")).toBe("inteiro")
    expect((await fs.readdir(root)).sort()).toEqual(["compartilhado.txt"])
  })

  test("a process killed with SIGKILL mid-upload: its temporary is swept by the next start, at once", async () => {
    const writer = await startWriter(root, { reaped: true })
    try {
      expect((await fs.readdir(root)).filter((name) => ownerOf(name) !== undefined)).toHaveLength(1)
      expect(await marks()).toHaveLength(1)
      writer.crash()
      expect(await waitFor(() => processState(writer.pid) === undefined, 5_000)).toBe(true)
      const restarted = await run(makeFileStore(root))
      expect(await run(restarted.sweepTemporaries)).toBe(1)
      expect(await fs.readdir(root)).toEqual([])
    } finally {
      await writer.stop()
    }
  })

  test.skipIf(!HAS_PROC)(
    "killed with SIGKILL but not reaped by its parent (a zombie, kill(pid, 0) still succeeds): swept at once too",
    async () => {
      const writer = await startWriter(root, { reaped: false })
      try {
        expect((await fs.readdir(root)).filter((name) => ownerOf(name) !== undefined)).toHaveLength(1)
        writer.crash()
        expect(await waitFor(() => zombie(writer.pid), 5_000)).toBe(true)
        // What made the zombie look alive before: the signal check alone.
        expect(() => process.kill(writer.pid, 0)).not.toThrow()
        const restarted = await run(makeFileStore(root))
        expect(await run(restarted.sweepTemporaries)).toBe(1)
        expect(await fs.readdir(root)).toEqual([])
        // Still a zombie when swept: the sweep did not wait for the reaping.
        expect(processState(writer.pid)).toBe("Z")
      } finally {
        await writer.stop()
      }
    }
  )
})

describe("when the mark cannot be written", () => {
  test("the upload fails as a FileFailure before any temporary exists, and the next one tries again", async () => {
    await fs.writeFile(path.join(root, MARKS_FOLDER), "not a folder")
    const store = await run(makeFileStore(root))
    const exit = await runExit(store.createAtomic("x.txt"))
    expect(failureOf(exit)).toBeInstanceOf(FileFailure)
    expect((await fs.readdir(root)).sort()).toEqual([MARKS_FOLDER])
    await fs.rm(path.join(root, MARKS_FOLDER))
    await run(
      Effect.gen(function* () {
        const file = yield* store.createAtomic("x.txt")
        yield* file.commit
      })
    )
    expect((await fs.readdir(root)).sort()).toEqual(["x.txt"])
  })
})
